/*
 * reconcilerctl history: the journal's cycles and actions, newest first,
 * from the running daemon or from its journal file.
 */
#include "cli.h"
#include "cli_source.h"
#include "journal.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* A rollout's steps on one line: "steps: created +12, started +40, ...". */
static void
print_steps(json_t *steps)
{
	const char *k;
	json_t *v;
	int first = 1;

	if (!json_is_object(steps) || !json_object_size(steps))
		return;
	printf("        steps:");
	json_object_foreach(steps, k, v) {
		printf("%s %s +%lldms", first ? "" : ",", k, (long long)json_integer_value(v));
		first = 0;
	}
	printf("\n");
}
int
cmd_history(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_source src = { 0 };
	struct journal *j = NULL;
	char err[ERR_LEN], *path;
	int limit = 20, json = 0, c;
	json_t *h, *cyc, *act;
	size_t i, k;

	while ((c = getopt_long(argc, argv, "n:jh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE: src.state_dir = optarg; break;
		case OPT_SOCKET: src.socket = optarg; break;
		case 'n': {
			long n;

			if (int_parse(optarg, 1, 1000000, &n) < 0)
				return cli_usage_error("history", "--limit wants a positive number");
			limit = (int)n;
			break;
		}
		case 'j': json = 1; break;
		case 'h':
			printf("usage: reconcilerctl history %s\n", cli_find_command("history")->usage);
			return 0;
		default:
			return cli_usage_error("history", "unknown option");
		}
	}
	if (limit < 1)
		return cli_usage_error("history", "--limit wants a positive number");
	path = xasprintf("/v1/history?limit=%d", limit);
	if (cli_daemon_call(&src, "GET", path, &h) != 200 || !json_is_array(h)) {
		/* no daemon answers: read the journal file itself */
		json_decref(h);
		free(path);
		path = cli_state_file(&src, "journal.db");
		if (access(path, R_OK) < 0) {
			fprintf(stderr, "reconcilerctl history: no journal at %s (%s; give "
			    "--state-dir)\n", path, strerror(errno));
			free(path);
			return EXIT_USAGE;
		}
		if (journal_open(&j, path, 1, err) < 0) {
			fprintf(stderr, "reconcilerctl history: %s\n", err);
			free(path);
			return EXIT_USAGE;
		}
		h = journal_history(j, limit);
		journal_close(j);
	}
	free(path);
	if (json) {
		json_dumpf(h, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(h);
		return 0;
	}
	if (!json_array_size(h))
		printf("no rollouts yet\n");
	json_array_foreach(h, i, cyc) {
		const char *rev = json_string_value(json_object_get(cyc, "revision"));
		const char *subj = json_string_value(json_object_get(cyc, "subject"));
		const char *e = json_string_value(json_object_get(cyc, "error"));
		char when[32];

		cli_fmt_time(json_integer_value(json_object_get(cyc, "started")), when, sizeof(when));
		printf("%s  %.12s  %-9s %s%s%s\n", when, rev ? rev : "-",
		    json_string_value(json_object_get(cyc, "outcome")) ?
		    json_string_value(json_object_get(cyc, "outcome")) : "running",
		    subj ? subj : "", e ? "  error: " : "", e ? e : "");
		if (json_integer_value(json_object_get(cyc, "repeats")) > 0) {
			json_int_t n = json_integer_value(json_object_get(cyc, "repeats"));

			cli_fmt_time(json_integer_value(json_object_get(cyc, "last_repeat")), when,
			    sizeof(when));
			printf("    repeated %lld time%s since, the last at %s\n", (long long)n,
			    n == 1 ? "" : "s", when);
		}
		json_array_foreach(json_object_get(cyc, "actions"), k, act) {
			const char *ae = json_string_value(json_object_get(act, "error"));
			json_t *r;
			size_t x;

			printf("    %-16s %-9s %-7s %5lldms%s%s\n",
			    json_string_value(json_object_get(act, "service")),
			    json_string_value(json_object_get(act, "action")),
			    json_string_value(json_object_get(act, "outcome")),
			    (long long)json_integer_value(json_object_get(act, "ms")),
			    ae ? "  " : "", ae ? ae : "");
			json_array_foreach(json_object_get(act, "reasons"), x, r)
				printf("        why: %s\n",
				    json_string_value(json_object_get(r, "message")));
			print_steps(json_object_get(act, "steps"));
		}
	}
	json_decref(h);
	return 0;
}
