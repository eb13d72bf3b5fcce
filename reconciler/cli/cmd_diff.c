/*
 * reconcilerctl diff: the drift between the manifest and the engine, from
 * the running daemon's view (GET /v1/diff) or computed here.
 */
#include "cli.h"
#include "cli_source.h"
#include "diff.h"
#include "docker.h"
#include "util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { OPT_NOCOLOR = 300, OPT_STATS };

/* The daemon's GET /v1/diff answer, printed as a standalone diff would be. */
static int
diff_from_daemon(long status, json_t *o, int json, int color)
{
	struct plan *p = NULL;
	char err[ERR_LEN];
	int rc = EXIT_USAGE;

	if (status != 200) {
		fprintf(stderr, "reconcilerctl diff: reconcilerd answered %ld: %s\n", status,
		    json_string_value(json_object_get(o, "error")) ?
		    json_string_value(json_object_get(o, "error")) : "no reason given");
		goto out;
	}
	if (plan_from_json(&p, o, err) < 0) {
		fprintf(stderr, "reconcilerctl diff: reconcilerd's answer: %s\n", err);
		goto out;
	}
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		const char *rev = json_string_value(json_object_get(o, "revision"));

		printf("(from reconcilerd, at revision %.12s)\n", rev ? rev : "-");
		plan_print(p, stdout, color);
	}
	rc = plan_in_sync(p) ? 0 : 1;
out:
	plan_free(p);
	json_decref(o);
	return rc;
}

/* --stats: the engine calls one diff makes, and where its time went. */
static void
print_stats(const struct cli_world *w)
{
	fprintf(stderr, "engine calls: %lu\n", docker_calls(w->w.d));
	fprintf(stderr, "phases (ms): parse %.2f, secrets %.2f, desired %.2f, engine list %.2f, "
	    "decode %.2f, diff %.2f\n", w->parse_us / 1000.0, w->secrets_us / 1000.0,
	    w->w.desired_us / 1000.0, w->w.engine_us / 1000.0,
	    (w->w.list_us - w->w.engine_us) / 1000.0, w->w.diff_us / 1000.0);
}

int
cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "no-color", no_argument, NULL, OPT_NOCOLOR },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_source src = { 0 };
	struct cli_world w = { 0 };
	int json = 0, color = isatty(STDOUT_FILENO), stats = 0, c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "f:H:jh", opts, NULL)) != -1) {
		if (cli_source_option(&src, c))
			continue;
		switch (c) {
		case 'j': json = 1; break;
		case OPT_NOCOLOR: color = 0; break;
		case OPT_STATS: stats = 1; break;
		case 'h':
			printf("usage: reconcilerctl diff %s\n", cli_find_command("diff")->usage);
			return 0;
		default:
			return cli_usage_error("diff", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("diff", "unexpected argument '%s'", argv[optind]);
	if (getenv("NO_COLOR"))
		color = 0;
	/* No manifest named: the running daemon's view, when one answers. */
	if (!src.file && !src.repo) {
		json_t *o = NULL;
		long status = cli_daemon_call(&src, "GET", "/v1/diff", &o);

		if (status >= 0)
			return diff_from_daemon(status, o, json, color);
		json_decref(o);
		fprintf(stderr, "reconcilerctl diff: no reconcilerd answers (give --state-dir or "
		    "--socket); diffing %s without it\n", DEFAULT_MANIFEST);
	}
	if (cli_world_load(&w, &src, "diff") < 0)
		goto out;
	if (json) {
		json_t *o = plan_json(w.w.p);

		if (*w.revision)
			json_object_set_new(o, "revision", json_string(w.revision));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		plan_print(w.w.p, stdout, color);
	}
	if (stats)
		print_stats(&w);
	rc = plan_in_sync(w.w.p) ? 0 : 1;
out:
	cli_world_release(&w);
	return rc;
}
