/*
 * reconcilerctl status: each service's container, state, health, uptime,
 * revision and image, under the daemon's own status line.
 */
#include "backend.h"
#include "cli.h"
#include "cli_source.h"
#include "docker.h"
#include "state.h"
#include "util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void
print_daemon_status(const struct cli_source *src)
{
	char when[32];
	int live;
	json_t *st = cli_daemon_status(src, &live), *q;
	size_t i;

	if (!st) {
		printf("(no reconcilerd answers for this state directory: the engine's view only)\n");
		return;
	}
	if (!live)
		printf("(no reconcilerd answers; its last status file says:)\n");
	cli_fmt_time(json_integer_value(json_object_get(st, "updated")), when, sizeof(when));
	printf("reconcilerd: %s at %.12s (last good %.12s), last cycle %s\n",
	    json_string_value(json_object_get(st, "state")),
	    json_string_value(json_object_get(st, "head")) ?
	    json_string_value(json_object_get(st, "head")) : "-",
	    json_string_value(json_object_get(st, "last_good")) ?
	    json_string_value(json_object_get(st, "last_good")) : "-", when);
	if (json_is_string(json_object_get(st, "message")))
		printf("  %s\n", json_string_value(json_object_get(st, "message")));
	json_array_foreach(json_object_get(st, "quarantined"), i, q)
		if (i > 0)
			printf("  also: %.12s failed on %s: %s\n",
			    json_string_value(json_object_get(q, "revision")),
			    json_string_value(json_object_get(q, "service")),
			    json_string_value(json_object_get(q, "reason")));
	json_decref(st);
}

static const char *
short_digest(const char *image)
{
	const char *at = image ? strstr(image, "@sha256:") : NULL;

	return at ? at + 1 : image ? image : "-";
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTIONS,
		{ "project", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_source src = { 0 };
	struct manifest *m = NULL;
	struct docker *d = NULL;
	struct actual a = { 0 };
	const char *project = NULL;
	char err[ERR_LEN], revision[41];
	json_t *rows = NULL;
	int json = 0, c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "f:H:p:jh", opts, NULL)) != -1) {
		if (cli_source_option(&src, c))
			continue;
		switch (c) {
		case 'p': project = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: reconcilerctl status %s\n", cli_find_command("status")->usage);
			return 0;
		default:
			return cli_usage_error("status", "unknown option");
		}
	}
	if (!project) {
		if (cli_source_load(&src, "status", &m, revision) < 0)
			goto out;
		project = m->project;
	}
	if (cli_open_docker(&src, &d, "status") < 0)
		goto out;
	if (backend_containers.list(d, project, &a, err) < 0) {
		fprintf(stderr, "reconcilerctl status: %s\n", err);
		goto out;
	}
	rows = actual_services_json(&a, m, project);
	if (json) {
		json_t *o = json_pack("{s:s,s:O}", "project", project, "services", rows);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		size_t k;
		json_t *r;

		printf("project %s\n", project);
		print_daemon_status(&src);
		printf("%-16s %-24s %-10s %-10s %-20s %-14s %s\n", "SERVICE", "CONTAINER", "STATE",
		    "HEALTH", "UPTIME", "REVISION", "IMAGE");
		json_array_foreach(rows, k, r) {
			const char *st = json_string_value(json_object_get(r, "status"));
			const char *rev = json_string_value(json_object_get(r, "revision"));
			char up[21];

			/* "Up 3 minutes (healthy)" -> "3 minutes" */
			snprintf(up, sizeof(up), "%s", strncmp(st, "Up ", 3) == 0 ? st + 3 : "-");
			if (strchr(up, '('))
				*strchr(up, '(') = '\0';
			printf("%-16s %-24s %-10s %-10s %-20s %-14.12s %s\n",
			    json_string_value(json_object_get(r, "service")),
			    json_is_string(json_object_get(r, "container")) ?
			    json_string_value(json_object_get(r, "container")) : "-",
			    json_string_value(json_object_get(r, "state")),
			    json_string_value(json_object_get(r, "health")), up, rev,
			    short_digest(json_string_value(json_object_get(r, "image"))));
		}
	}
	rc = 0;
out:
	json_decref(rows);
	actual_release(&a);
	docker_free(d);
	manifest_free(m);
	return rc;
}
