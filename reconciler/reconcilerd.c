/*
 * reconcilerd: the daemon. Parses options and wires the modules together;
 * nothing else lives here.
 */
#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "gitsrc.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: reconcilerd [-n] [--once] [-c FILE] [--repo URL] [--branch B] [--manifest PATH]\n"
	    "                   [--poll DURATION] [--state-dir DIR] [--secrets-dir DIR]\n"
	    "                   [--docker-host unix:///PATH] [--log-format text|json] [-V]\n"
	    "\n"
	    "  -c, --config FILE    config file (default %s; flags override it)\n"
	    "  -n, --check          check the config and the manifest at the branch head, exit\n"
	    "      --once           run one reconcile cycle and exit: 0 in sync, 3 converged,\n"
	    "                       1 a service failed and was rolled back, 2 error\n"
	    "      --repo URL       Git repository (file://, https://, ssh://)\n"
	    "      --branch B       branch to follow (main)\n"
	    "      --manifest PATH  manifest path in the repository (manifests/prod.yaml)\n"
	    "      --poll DURATION  poll interval (30s)\n"
	    "      --state-dir DIR  clone, journal, status (/var/lib/reconciler)\n"
	    "      --secrets-dir DIR  host-local secrets (/etc/reconciler/secrets)\n"
	    "      --docker-host H  engine socket (unix:///var/run/docker.sock)\n"
	    "      --log-format F   text or json\n"
	    "  -V, --version        print the version\n"
	    "\nSignals: TERM/INT stop after the current step, HUP reloads the config,\n"
	    "USR1 starts a cycle now. See reconcilerd(8).\n", CONFIG_PATH_DEFAULT);
}

enum { OPT_ONCE = 256, OPT_REPO, OPT_BRANCH, OPT_MANIFEST, OPT_POLL, OPT_STATE, OPT_SECRETS,
	OPT_DOCKER, OPT_LOGFMT };

static void
replace(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "repo", required_argument, NULL, OPT_REPO },
		{ "branch", required_argument, NULL, OPT_BRANCH },
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ "poll", required_argument, NULL, OPT_POLL },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "secrets-dir", required_argument, NULL, OPT_SECRETS },
		{ "docker-host", required_argument, NULL, OPT_DOCKER },
		{ "log-format", required_argument, NULL, OPT_LOGFMT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg, flags;
	const char *config_path = NULL;
	int check = 0, once = 0, c, rc = 2;
	int64_t poll = 0;
	struct daemon *dm = NULL;
	char err[ERR_LEN];
	struct diag d;

	memset(&flags, 0, sizeof(flags));
	while ((c = getopt_long(argc, argv, "c:nVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'n': check = 1; break;
		case OPT_ONCE: once = 1; break;
		case OPT_REPO: replace(&flags.repo, optarg); break;
		case OPT_BRANCH: replace(&flags.branch, optarg); break;
		case OPT_MANIFEST: replace(&flags.manifest, optarg); break;
		case OPT_STATE: replace(&flags.state_dir, optarg); break;
		case OPT_SECRETS: replace(&flags.secrets_dir, optarg); break;
		case OPT_DOCKER: replace(&flags.docker_host, optarg); break;
		case OPT_LOGFMT: replace(&flags.log_format, optarg); break;
		case OPT_POLL:
			if (duration_parse(optarg, &poll) < 0) {
				fprintf(stderr, "reconcilerd: --poll: invalid duration '%s'\n", optarg);
				goto done;
			}
			break;
		case 'V':
			printf("reconcilerd %s (%s)\n", RECONCILER_VERSION, RECONCILER_GIT_REV);
			rc = 0;
			goto done;
		case 'h':
			usage(stdout);
			rc = 0;
			goto done;
		default:
			usage(stderr);
			goto done;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "reconcilerd: unexpected argument '%s'\n", argv[optind]);
		goto done;
	}
	config_defaults(&cfg);
	diag_init(&d, config_path ? config_path : CONFIG_PATH_DEFAULT);
	if (config_load(&cfg, config_path ? config_path : CONFIG_PATH_DEFAULT, config_path != NULL,
	    &d) < 0) {
		diag_print(&d, stderr);
		diag_release(&d);
		config_release(&cfg);
		goto done;
	}
	diag_release(&d);
#define OVERRIDE(f) if (flags.f) { free(cfg.f); cfg.f = flags.f; flags.f = NULL; }
	OVERRIDE(repo);
	OVERRIDE(branch);
	OVERRIDE(manifest);
	OVERRIDE(state_dir);
	OVERRIDE(secrets_dir);
	OVERRIDE(docker_host);
	OVERRIDE(log_format);
#undef OVERRIDE
	if (poll)
		cfg.poll_interval = poll;
	if (config_check(&cfg, err) < 0) {
		fprintf(stderr, "reconcilerd: %s\n", err);
		config_release(&cfg);
		goto done;
	}
	log_setup(strcmp(cfg.log_format, "json") == 0 ? LOG_JSON : LOG_TEXT, LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_ALL);
	gitsrc_init();
	dm = daemon_new(&cfg, config_path);
	if (check)
		rc = daemon_check(dm);
	else if (once)
		rc = (int)daemon_cycle(dm, "once");
	else
		rc = daemon_run(dm);
	daemon_free(dm);
	config_release(&cfg);
	curl_global_cleanup();
	gitsrc_shutdown();
done:
	config_release(&flags);
	return rc;
}
