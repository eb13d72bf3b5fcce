/*
 * reconcilerd: the daemon. Parses options and wires the modules together;
 * nothing else lives here.
 */
#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "gitsrc.h"
#include "lazylib.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <malloc.h>
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
	    "USR1 starts a cycle now. With NOTIFY_SOCKET set (systemd Type=notify), readiness,\n"
	    "a status line per cycle and watchdog pings are sent to it. See reconcilerd(8).\n",
	    CONFIG_PATH_DEFAULT);
}

enum { OPT_ONCE = 256, OPT_REPO, OPT_BRANCH, OPT_MANIFEST, OPT_POLL, OPT_STATE, OPT_SECRETS,
	OPT_DOCKER, OPT_LOGFMT };

/* What the command line said; kept to re-apply over the file on SIGHUP. */
struct flags {
	const char *config_path;	/* NULL: the default path, optional */
	struct config over;		/* only the fields given are set */
	int64_t poll;			/* 0: not given */
};

static void
replace(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void
take(char **dst, const char *v)
{
	if (v)
		replace(dst, v);
}

/* RECONCILER_TEST_POLL_MS (ms, 10 or more) replaces the poll interval, below
 * the 1 s a config may ask: for bench/memory.sh's soak of many real cycles,
 * never for production. 0: not set or not a number. */
static int64_t
test_poll_ms(void)
{
	const char *s = getenv("RECONCILER_TEST_POLL_MS");
	char *end;
	long long v;

	if (!s || !*s)
		return 0;
	v = strtoll(s, &end, 10);
	return *end || v < 10 ? 0 : (int64_t)v;
}

/* The config file over the defaults, then the flags over both. */
static int
assemble(struct config *out, char *err, void *payload)
{
	const struct flags *f = payload;
	const char *path = f->config_path ? f->config_path : CONFIG_PATH_DEFAULT;
	struct diag d;

	config_defaults(out);
	diag_init(&d, path);
	if (config_load(out, path, f->config_path != NULL, &d) < 0) {
		char *first = diag_first(&d);

		errf(err, "%s%s", first ? first : path, d.n > 1 ? " (and more)" : "");
		free(first);
		diag_release(&d);
		config_release(out);
		return -1;
	}
	diag_release(&d);
	take(&out->repo, f->over.repo);
	take(&out->branch, f->over.branch);
	take(&out->manifest, f->over.manifest);
	take(&out->state_dir, f->over.state_dir);
	take(&out->secrets_dir, f->over.secrets_dir);
	take(&out->docker_host, f->over.docker_host);
	take(&out->log_format, f->over.log_format);
	if (f->poll)
		out->poll_interval = f->poll;
	if (config_check(out, err) < 0) {
		config_release(out);
		return -1;
	}
	if (test_poll_ms())
		out->poll_interval = test_poll_ms();
	return 0;
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
	struct flags f;
	struct config cfg;
	int check = 0, once = 0, c, rc = 2;
	struct daemon *dm = NULL;
	char err[ERR_LEN];

	/* reconcilerd starts its listener child so (hidden: not in --help) */
	if (argc >= 2 && strcmp(argv[1], LISTENER_CHILD_ARG) == 0)
		return listener_child_main(argc, argv);
	memset(&f, 0, sizeof(f));
	while ((c = getopt_long(argc, argv, "c:nVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': f.config_path = optarg; break;
		case 'n': check = 1; break;
		case OPT_ONCE: once = 1; break;
		case OPT_REPO: replace(&f.over.repo, optarg); break;
		case OPT_BRANCH: replace(&f.over.branch, optarg); break;
		case OPT_MANIFEST: replace(&f.over.manifest, optarg); break;
		case OPT_STATE: replace(&f.over.state_dir, optarg); break;
		case OPT_SECRETS: replace(&f.over.secrets_dir, optarg); break;
		case OPT_DOCKER: replace(&f.over.docker_host, optarg); break;
		case OPT_LOGFMT: replace(&f.over.log_format, optarg); break;
		case OPT_POLL:
			if (duration_parse(optarg, &f.poll) < 0 || f.poll < 1000) {
				fprintf(stderr, "reconcilerd: --poll: '%s' is not a duration of at "
				    "least 1s\n", optarg);
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
	/* the daemon needs every library opened on first use: a missing one
	 * stops it here, not later in a thread */
	if (lazylib_load_all(err) < 0) {
		fprintf(stderr, "reconcilerd: %s\n", err);
		goto done;
	}
	if (assemble(&cfg, err, &f) < 0) {
		fprintf(stderr, "reconcilerd: %s\n", err);
		goto done;
	}
	log_setup(strcmp(cfg.log_format, "json") == 0 ? LOG_JSON : LOG_TEXT, LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
#ifdef M_ARENA_MAX
	/* One malloc arena for every thread, set before the first one starts:
	 * each pool thread, converge worker and the events thread would
	 * otherwise keep an arena of its own, holding a cycle's freed memory
	 * (a few hundred KiB each); the loop trims the one arena after each
	 * cycle (loop.c). The threads allocate little and rarely at once. */
	mallopt(M_ARENA_MAX, 1);
#endif
	curl_global_init(CURL_GLOBAL_ALL);
	gitsrc_init();
	dm = daemon_new(&cfg, assemble, &f);
	if (check && cfg.listen)
		listener_warn_public(cfg.listen);
	if (check)
		rc = daemon_check(dm);
	else if (once)
		rc = (int)daemon_once(dm);
	else
		rc = daemon_run(dm);
	daemon_free(dm);
	config_release(&cfg);
	curl_global_cleanup();
	gitsrc_shutdown();
done:
	config_release(&f.over);
	return rc;
}
