/*
 * reconcilerctl status: each service's container, state, health, uptime,
 * revision and image, under the daemon's own status line; the exit status
 * says whether the daemon is in sync (0), degraded (1) or in error (2).
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

/* The revisions that serve, from the daemon's "serving": "R" when every
 * service runs one revision, else "R1: api; R2: web, store". */
static void
serving_text(json_t *serving, struct buf *b)
{
	json_t *groups = json_object(), *rev, *names;
	const char *svc, *r;

	json_object_foreach(serving, svc, rev) {
		if (!json_is_string(rev))
			continue;
		if (!(names = json_object_get(groups, json_string_value(rev)))) {
			names = json_array();
			json_object_set_new(groups, json_string_value(rev), names);
		}
		json_array_append_new(names, json_string(svc));
	}
	json_object_foreach(groups, r, names) {
		size_t i;
		json_t *n;

		buf_addf(b, "%s%.12s", b->len ? "; " : "", r);
		if (json_object_size(groups) < 2)
			break;
		json_array_foreach(names, i, n)
			buf_addf(b, "%s%s", i ? ", " : ": ", json_string_value(n));
	}
	json_decref(groups);
}

static const char *
str(json_t *o, const char *key, const char *none)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : none;
}

/* The daemon's line: its state at the head, the revisions that actually
 * serve (never one that just failed), its last cycle, then why it is not in
 * sync. */
static void
print_daemon_status(json_t *st, int live)
{
	char when[32];
	struct buf serving;
	json_t *q, *h;
	size_t i;

	if (!st) {
		printf("(no reconcilerd answers for this state directory: the engine's view only)\n");
		return;
	}
	if (!live)
		printf("(no reconcilerd answers; its last status file says:)\n");
	cli_fmt_time(json_integer_value(json_object_get(st, "updated")), when, sizeof(when));
	buf_init(&serving, 0);
	serving_text(json_object_get(st, "serving"), &serving);
	if (serving.len)
		printf("reconcilerd: %s at %.12s (serving %s), last cycle %s\n", str(st, "state", "?"),
		    str(st, "head", "-"), serving.data, when);
	else
		printf("reconcilerd: %s at %.12s (last good %.12s), last cycle %s\n",
		    str(st, "state", "?"), str(st, "head", "-"), str(st, "last_good", "-"), when);
	buf_release(&serving);
	if (json_is_string(json_object_get(st, "message")))
		printf("  %s\n", json_string_value(json_object_get(st, "message")));
	json_array_foreach(json_object_get(st, "quarantined"), i, q)
		if (i > 0)
			printf("  also: %.12s failed on %s: %s\n", str(q, "revision", "?"),
			    str(q, "service", "?"), str(q, "reason", "?"));
	json_array_foreach(json_object_get(st, "heal_failed"), i, h)
		if (i > 0 || json_array_size(json_object_get(st, "quarantined")))
			printf("  also: self-heal of %s at %.12s failed (tried again): %s\n",
			    str(h, "service", "?"), str(h, "revision", "?"), str(h, "reason", "?"));
	if (json_is_string(json_object_get(json_object_get(st, "journal"), "error")))
		printf("  journal: %s (%lld writes failed)\n",
		    str(json_object_get(st, "journal"), "error", "?"),
		    (long long)json_integer_value(json_object_get(json_object_get(st, "journal"),
		    "write_errors")));
}

/* The exit status the daemon's state gives: 1 degraded, 2 error, else 0
 * (in sync, converged, starting, or no daemon status at all). */
static int
state_exit(json_t *st)
{
	const char *state = json_string_value(json_object_get(st, "state"));

	if (state && strcmp(state, "degraded") == 0)
		return 1;
	if (state && strcmp(state, "error") == 0)
		return 2;
	return 0;
}

/* --json: what the daemon says, beside the services. */
static json_t *
daemon_json(json_t *st, int live)
{
	static const char *const keys[] = {
		"state", "message", "head", "last_good", "serving", "quarantined", "heal_failed",
		"journal", "updated",
	};
	json_t *o;

	if (!st)
		return json_null();
	o = json_pack("{s:b}", "live", live);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(st, keys[i]))
			json_object_set(o, keys[i], json_object_get(st, keys[i]));
	return o;
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
	const struct backend_ops *b;
	struct actual a = { 0 };
	const char *project = NULL;
	char err[ERR_LEN], revision[41];
	json_t *rows = NULL, *st = NULL;
	int json = 0, live = 0, c, rc = EXIT_USAGE;

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
	if (!(b = cli_source_backend(&src, "status")) || cli_open_docker(&src, &d, "status") < 0)
		goto out;
	if (b->list(d, project, &a, err) < 0) {
		fprintf(stderr, "reconcilerctl status: %s\n", err);
		goto out;
	}
	if (m && strcmp(b->name, "containers") == 0) {
		struct fleet_host host;

		if (cli_source_host(&src, "status", &host) < 0)
			goto out;
		rows = actual_services_json_host(&a, m, project, &host);
		fleet_host_release(&host);
	} else {
		rows = actual_services_json(&a, m, project);
	}
	st = cli_daemon_status(&src, &live);
	if (json) {
		json_t *o = json_pack("{s:s,s:O,s:o}", "project", project, "services", rows,
		    "daemon", daemon_json(st, live));

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		size_t k;
		json_t *r;

		printf("project %s\n", project);
		print_daemon_status(st, live);
		printf("%-16s %-24s %-10s %-10s %-20s %-14s %s\n", "SERVICE", "CONTAINER", "STATE",
		    "HEALTH", "UPTIME", "REVISION", "IMAGE");
		json_array_foreach(rows, k, r) {
			const char *up_text = json_string_value(json_object_get(r, "status"));
			const char *rev = json_string_value(json_object_get(r, "revision"));
			char up[21];

			/* "Up 3 minutes (healthy)" -> "3 minutes"; a Swarm service's
			 * "tasks 2/3 running" -> "2/3 running" */
			snprintf(up, sizeof(up), "%s", strncmp(up_text, "Up ", 3) == 0 ? up_text + 3 :
			    strncmp(up_text, "tasks ", 6) == 0 ? up_text + 6 : "-");
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
	rc = state_exit(st);
out:
	json_decref(st);
	json_decref(rows);
	actual_release(&a);
	docker_free(d);
	manifest_free(m);
	return rc;
}
