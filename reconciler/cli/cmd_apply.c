/*
 * reconcilerctl apply: one convergence from a manifest without a daemon
 * (bootstrap, tests), under the state directory's lock.
 */
#include "cli.h"
#include "cli_source.h"
#include "converge.h"
#include "diff.h"
#include "docker.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTIONS,
		{ "revision", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct converge_options co = CONVERGE_OPTIONS_INIT;
	struct docker_options dopts = DOCKER_OPTIONS_INIT;
	struct converge_report rep = { 0 };
	struct cli_source src = { 0 };
	struct cli_world w = { 0 };
	char err[ERR_LEN];
	const char *rev = NULL;
	int c, lockfd = -1, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "f:H:r:j:h", opts, NULL)) != -1) {
		if (cli_source_option(&src, c))
			continue;
		switch (c) {
		case 'r': rev = optarg; break;
		case 'j': {
			long n;

			if (int_parse(optarg, 1, 64, &n) < 0)
				return cli_usage_error("apply", "--concurrency wants 1 to 64");
			co.concurrency = (int)n;
			break;
		}
		case 'h':
			printf("usage: reconcilerctl apply %s\n", cli_find_command("apply")->usage);
			return 0;
		default:
			return cli_usage_error("apply", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("apply", "unexpected argument '%s'", argv[optind]);
	if (dir_lock(src.state_dir ? src.state_dir : STATE_DIR_DEFAULT, &lockfd, err) < 0) {
		fprintf(stderr, "reconcilerctl apply: %s\n", err);
		goto out;
	}
	if (cli_world_load(&w, &src, "apply") < 0)
		goto out;
	co.revision = rev ? rev : *w.revision ? w.revision : "local";
	co.crash_at = getenv("RECONCILER_CRASH_AT");
	dopts.host = src.host;
	co.docker = &dopts;
	co.backend = w.w.backend;
	if (converge_apply(w.w.d, &w.w.ds, w.w.p, &w.w.secrets, &co, &rep, err) < 0) {
		fprintf(stderr, "reconcilerctl apply: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < rep.nservices; i++) {
		if (rep.services[i].extras)
			printf("%-16s %-9s removed %d extra container%s\n", rep.services[i].service,
			    "cleanup", rep.services[i].extras, rep.services[i].extras == 1 ? "" : "s");
		if (rep.services[i].outcome != CONVERGE_SKIPPED)
			printf("%-16s %-9s %s%s%s\n", rep.services[i].service,
			    plan_action_name(rep.services[i].action),
			    converge_outcome_name(rep.services[i].outcome),
			    rep.services[i].reason ? ": " : "",
			    rep.services[i].reason ? rep.services[i].reason : "");
	}
	rc = rep.failed ? 1 : 0;
	if (!rep.changed)
		printf("in sync, nothing to do\n");
out:
	converge_report_release(&rep);
	cli_world_release(&w);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
