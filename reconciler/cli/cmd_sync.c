/*
 * reconcilerctl sync: asks the running reconcilerd for a cycle now, through
 * its control socket or with SIGUSR1, and optionally waits for its end.
 */
#include "cli.h"
#include "cli_source.h"
#include "journal.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static int
sync_wait(const struct cli_source *src, long long before, int64_t timeout)
{
	for (int64_t waited = 0; waited < timeout; waited += 200) {
		int live;
		json_t *st;

		sleep_ms(200);
		if ((st = cli_daemon_status(src, &live))) {
			long long now = json_integer_value(json_object_get(st, "cycle"));
			const char *state = json_string_value(json_object_get(st, "state"));
			const char *msg = json_string_value(json_object_get(st, "message"));

			if (now > before) {
				int rc = state && (strcmp(state, "in-sync") == 0 ||
				    strcmp(state, "converged") == 0) ? 0 : 1;

				printf("%s\n", msg ? msg : state ? state : "?");
				json_decref(st);
				return rc;
			}
			json_decref(st);
		}
	}
	fprintf(stderr, "reconcilerctl sync: no cycle finished within the timeout\n");
	return 1;
}

/* The name the kernel gives pid ("" when /proc cannot tell). */
static void
process_name(long pid, char *name, size_t len)
{
	char *p = xasprintf("/proc/%ld/comm", pid), *data = NULL, err[ERR_LEN];
	size_t n;

	name[0] = '\0';
	if (file_read(p, 64, &data, &n, err) == 0) {
		data[strcspn(data, "\n")] = '\0';
		snprintf(name, len, "%s", data);
	}
	free(data);
	free(p);
}

/* The daemon's PID, for a signal: the one in reconcilerd.pid, proven to be
 * the daemon because it holds the state directory's lock (and, where /proc
 * says, is called reconcilerd). After a crash the file may name any process,
 * which SIGUSR1 would kill: then nothing is signalled and -1 says why. */
static int
daemon_pid(const struct cli_source *src, long *pid)
{
	const char *dir = src->state_dir ? src->state_dir : STATE_DIR_DEFAULT;
	char err[ERR_LEN], why[ERR_LEN + 128] = "", name[64], *path, *data = NULL;
	pid_t holder = 0;
	size_t len;
	int rc = -1;

	path = cli_state_file(src, "reconcilerd.pid");
	if (file_read(path, 64, &data, &len, err) < 0) {
		snprintf(why, sizeof(why), "%s", err);
		goto out;
	}
	data[strcspn(data, "\n")] = '\0';
	if (int_parse(data, 1, INT32_MAX, pid) < 0) {
		snprintf(why, sizeof(why), "'%s' does not hold a pid", path);
		goto out;
	}
	if (kill((pid_t)*pid, 0) < 0 && errno == ESRCH) {
		snprintf(why, sizeof(why), "pid %ld in '%s' is gone (a stale pid file)", *pid, path);
		goto out;
	}
	if (dir_lock_holder(dir, &holder, err) < 0) {
		snprintf(why, sizeof(why), "cannot tell whether pid %ld in '%s' is reconcilerd: %s",
		    *pid, path, err);
		goto out;
	}
	process_name(*pid, name, sizeof(name));
	if (holder != (pid_t)*pid)
		snprintf(why, sizeof(why), "pid %ld in '%s'%s%s%s does not hold the lock of '%s' "
		    "(a stale pid file)", *pid, path, *name ? " (" : "", name, *name ? ")" : "",
		    dir);
	else if (*name && strcmp(name, "reconcilerd") != 0)
		snprintf(why, sizeof(why), "pid %ld in '%s' holds the lock of '%s' but is '%s'",
		    *pid, path, dir, name);
	else
		rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "reconcilerctl sync: reconcilerd is not running: %s; nothing was "
		    "signalled (start reconcilerd, or give --state-dir)\n", why);
	free(data);
	free(path);
	return rc;
}

int
cmd_sync(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "retry", no_argument, NULL, 'r' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_source src = { 0 };
	char err[ERR_LEN], *path = NULL;
	int retry = 0, wait = 0, c, rc = EXIT_USAGE;
	int64_t timeout = 600000;
	long long before = 0;
	long pid;
	json_t *st = NULL;

	while ((c = getopt_long(argc, argv, "rwt:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE: src.state_dir = optarg; break;
		case OPT_SOCKET: src.socket = optarg; break;
		case 'r': retry = 1; break;
		case 'w': wait = 1; break;
		case 't':
			if (duration_parse(optarg, &timeout) < 0)
				return cli_usage_error("sync", "invalid --timeout '%s'", optarg);
			break;
		case 'h':
			printf("usage: reconcilerctl sync %s\n", cli_find_command("sync")->usage);
			return 0;
		default:
			return cli_usage_error("sync", "unknown option");
		}
	}
	/* the control socket first; a daemon without one is signalled */
	if (cli_daemon_call(&src, "POST", retry ? "/v1/sync?retry=1" : "/v1/sync", &st) == 202) {
		before = json_integer_value(json_object_get(st, "cycle_before"));
		json_decref(st);
		printf("sync requested from reconcilerd%s\n", retry ? " (quarantine cleared)" : "");
		rc = 0;
		if (wait)
			rc = sync_wait(&src, before, timeout);
		return rc;
	}
	json_decref(st);
	st = NULL;
	if (daemon_pid(&src, &pid) < 0)
		goto out;
	if (retry) {
		struct journal *j = NULL;
		char *jp = cli_state_file(&src, "journal.db");
		int n;

		if (journal_open(&j, jp, 0, err) < 0) {
			fprintf(stderr, "reconcilerctl sync: %s\n", err);
			free(jp);
			goto out;
		}
		n = journal_clear_failures(j);
		journal_close(j);
		free(jp);
		printf("cleared %d quarantined revision/service pair%s\n", n, n == 1 ? "" : "s");
	}
	path = cli_state_file(&src, "status.json");
	if ((st = cli_read_json_file(path))) {
		before = json_integer_value(json_object_get(st, "cycle"));
		json_decref(st);
	}
	if (kill((pid_t)pid, SIGUSR1) < 0) {
		fprintf(stderr, "reconcilerctl sync: cannot signal pid %d: %s\n", (int)pid,
		    strerror(errno));
		goto out;
	}
	printf("sync requested from reconcilerd (pid %ld)\n", pid);
	rc = 0;
	if (wait)
		rc = sync_wait(&src, before, timeout);
out:
	free(path);
	return rc;
}
