/*
 * reconcilerctl backup: lists, runs, verifies and restores the manifest's
 * backups; a run goes through the running daemon when one answers.
 */
#include "backup.h"
#include "cli.h"
#include "cli_source.h"
#include "diag.h"
#include "docker.h"
#include "journal.h"
#include "manifest.h"
#include "util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The manifest for backups: -f or --repo when given, else the running
 * daemon's (its last good revision), else manifests/prod.yaml. */
static int
backup_manifest(const struct cli_source *src, struct manifest **m)
{
	char rev[41];
	json_t *ans = NULL;
	const char *text;

	*m = NULL;
	if (!src->file && !src->repo && cli_daemon_call(src, "GET", "/v1/backups?source=1", &ans) ==
	    200 && (text = json_string_value(json_object_get(ans, "source")))) {
		const char *label = json_string_value(json_object_get(ans, "label"));
		struct diag d;
		int rc;

		diag_init(&d, label ? label : "reconcilerd");
		rc = manifest_parse(m, label ? label : "reconcilerd", text, strlen(text), &d);
		diag_print(&d, stderr);
		diag_release(&d);
		json_decref(ans);
		return rc;
	}
	json_decref(ans);
	return cli_source_load(src, "backup", m, rev);
}

static const struct mf_backup *
backup_named(const struct manifest *m, const char *name)
{
	const struct mf_backup *b = manifest_backup(m, name);

	if (!b) {
		fprintf(stderr, "reconcilerctl backup: no backup '%s' in %s (it has:", name, m->file);
		for (size_t i = 0; i < m->nbackups; i++)
			fprintf(stderr, " %s", m->backups[i].name);
		fprintf(stderr, "%s)\n", m->nbackups ? "" : " none");
	}
	return b;
}

static int
backup_list_one(const struct mf_backup *b, json_t *arr)
{
	struct backup_file *f;
	size_t n;
	char err[ERR_LEN], when[32];

	if (backup_files(b, &f, &n, err) < 0) {
		fprintf(stderr, "reconcilerctl backup list: %s\n", err);
		return -1;
	}
	if (!arr)
		printf("%s (service %s, schedule '%s' %s, %s)%s\n", b->name, b->service, b->schedule,
		    b->timezone, b->destination, n ? "" : ": no dumps yet");
	for (size_t i = 0; i < n; i++) {
		int st = backup_checksum(f[i].path, err);
		const char *state = st == 0 ? "ok" : st == 1 && !f[i].sidecar ? "no-checksum" :
		    st == 1 ? "MISMATCH" : "unreadable";

		cli_fmt_time(f[i].when, when, sizeof(when));
		if (arr)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:s}", "backup", b->name,
			    "file", f[i].path, "size", (json_int_t)f[i].size, "time",
			    (json_int_t)f[i].when, "checksum", state));
		else
			printf("  %s  %12llu  %s  %s\n", when, (unsigned long long)f[i].size, state,
			    strrchr(f[i].path, '/') + 1);
	}
	backup_files_free(f, n);
	return 0;
}

/* backup list [NAME]: the dumps of one backup or of all, as text or JSON. */
static int
backup_list_cmd(const struct manifest *m, const char *name, int json)
{
	json_t *arr = json ? json_array() : NULL;
	const struct mf_backup *b;
	int rc = 0;

	if (name && !(b = backup_named(m, name)))
		rc = EXIT_USAGE;
	else if (name)
		rc = backup_list_one(b, arr) < 0 ? 1 : 0;
	for (size_t i = 0; !name && i < m->nbackups; i++)
		if (backup_list_one(&m->backups[i], arr) < 0)
			rc = 1;
	if (!name && !m->nbackups && !json)
		printf("no backups in %s\n", m->file);
	if (arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
	return rc;
}

static int
write_output(int stream, const char *data, size_t len, void *payload)
{
	fwrite(data, 1, len, stream == 2 ? stderr : stdout);
	return 0;
}

/* The run that served the request: the oldest of name after after_id (a
 * scheduled run may follow it at once), whatever order the daemon lists. */
static json_t *
backup_first_run(json_t *runs)
{
	json_t *first = NULL, *it;
	size_t i;

	json_array_foreach(runs, i, it)
		if (!first || json_integer_value(json_object_get(it, "id")) <
		    json_integer_value(json_object_get(first, "id")))
			first = it;
	return first;
}

/* 1 when the daemon says a run of name is under way or queued. */
static int
backup_running(const struct cli_source *src, const char *name)
{
	json_t *ans = NULL, *it;
	size_t i;
	int busy = 0;

	if (cli_daemon_call(src, "GET", "/v1/backups", &ans) == 200)
		json_array_foreach(json_object_get(ans, "backups"), i, it)
			if (json_is_string(json_object_get(it, "name")) &&
			    strcmp(json_string_value(json_object_get(it, "name")), name) == 0)
				busy = json_is_true(json_object_get(it, "running")) ||
				    json_is_true(json_object_get(it, "pending"));
	json_decref(ans);
	return busy;
}

/*
 * Polls until the run after after_id ends. Stops with an error when the
 * daemon answers anything but 200 (the backup left the manifest) or stops
 * answering, and when the run is over with no row for it (the daemon could
 * not open its journal: its log says more).
 */
static int
backup_wait(const struct cli_source *src, const char *name, long long after_id)
{
	char *path = xasprintf("/v1/backups/%s?after=%lld&order=oldest", name, after_id);
	int rc = 1, idle = 0;

	for (;;) {
		json_t *ans = NULL, *run;
		long st = cli_daemon_call(src, "GET", path, &ans);

		if (st < 0) {
			fprintf(stderr, "reconcilerctl backup run: the daemon stopped answering\n");
			json_decref(ans);
			break;
		}
		if (st != 200) {
			const char *e = json_string_value(json_object_get(ans, "error"));

			fprintf(stderr, "reconcilerctl backup run: while waiting for '%s': %s (HTTP "
			    "%ld)\n", name, e ? e : "the daemon refused", st);
			json_decref(ans);
			break;
		}
		run = backup_first_run(json_object_get(ans, "runs"));
		if (run && !json_is_null(json_object_get(run, "ended"))) {
			const char *outcome = json_string_value(json_object_get(run, "outcome"));
			const char *e = json_string_value(json_object_get(run, "error"));

			if (outcome && strcmp(outcome, "ok") == 0) {
				printf("backup '%s': %s (%lld bytes, %lld ms)\n", name,
				    json_string_value(json_object_get(run, "file")),
				    (long long)json_integer_value(json_object_get(run, "size")),
				    (long long)json_integer_value(json_object_get(run, "ms")));
				rc = 0;
			} else {
				fprintf(stderr, "reconcilerctl backup run: %s\n", e ? e : outcome ?
				    outcome : "the run failed");
			}
			json_decref(ans);
			break;
		}
		json_decref(ans);
		/* neither running nor queued, and still no row: twice in a row, as
		 * the row is written before the run stops counting as running */
		if (!run && !backup_running(src, name)) {
			if (++idle >= 2) {
				fprintf(stderr, "reconcilerctl backup run: the run of '%s' is over but "
				    "the daemon's journal has no row for it: see reconcilerd's log\n",
				    name);
				break;
			}
		} else {
			idle = 0;
		}
		sleep_ms(300);
	}
	free(path);
	return rc;
}

static int
backup_run_cmd(const struct cli_source *src, const char *name, int wait)
{
	struct backup_options bo = BACKUP_OPTIONS_INIT;
	struct backup_result res;
	struct manifest *m = NULL;
	struct journal *j = NULL;
	struct docker *d = NULL;
	const struct mf_backup *b;
	char *path = xasprintf("/v1/backups/%s/run", name), err[ERR_LEN];
	json_t *ans = NULL;
	long st = src->file || src->repo ? -1 : cli_daemon_call(src, "POST", path, &ans);
	int rc = 1;

	free(path);
	if (st == 202) {
		long long after = json_integer_value(json_object_get(ans, "after"));

		json_decref(ans);
		printf("backup '%s' requested from reconcilerd\n", name);
		return wait ? backup_wait(src, name, after) : 0;
	}
	if (st >= 0) {
		const char *e = json_string_value(json_object_get(ans, "error"));

		fprintf(stderr, "reconcilerctl backup run: %s\n", e ? e : "the daemon refused");
		json_decref(ans);
		return st == 404 ? EXIT_USAGE : 1;
	}
	/* no daemon: run it here, recorded in the journal when there is one */
	if (backup_manifest(src, &m) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (!(b = backup_named(m, name))) {
		rc = EXIT_USAGE;
		goto out;
	}
	path = cli_state_file(src, "journal.db");
	if (access(path, W_OK) == 0 && journal_open(&j, path, 0, err) < 0)
		j = NULL;
	free(path);
	if (cli_open_docker(src, &d, "backup run") < 0)
		goto out;
	bo.journal = j;
	bo.trigger = "manual";
	if (backup_run(d, m, b, &bo, &res, err) < 0) {
		fprintf(stderr, "reconcilerctl backup run: %s\n", err);
		goto out;
	}
	printf("backup '%s': %s (%llu bytes, %lld ms, sha256 %s%s)\n", name, res.file,
	    (unsigned long long)res.size, res.ms, res.sha256, res.pruned ? ", old dumps pruned" :
	    "");
	backup_result_release(&res);
	rc = 0;
out:
	docker_free(d);
	journal_close(j);
	manifest_free(m);
	return rc;
}

static int
confirm_restore(const struct manifest *m, const struct mf_backup *b, const char *file, int yes)
{
	char line[16];

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "reconcilerctl backup restore: refusing to restore without --yes "
		    "when standard input is not a terminal\n");
		return -1;
	}
	fprintf(stderr, "Restore %s into service '%s' of project '%s'?\nThe restore command "
	    "replaces data in that container. Type 'yes' to go on: ", file, b->service,
	    m->project);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n") != 0) {
		fprintf(stderr, "reconcilerctl backup restore: not confirmed, nothing done\n");
		return -1;
	}
	return 0;
}

int
cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTIONS,
		{ "wait", no_argument, NULL, 'w' },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_source src = { 0 };
	struct manifest *m = NULL;
	struct docker *d = NULL;
	const struct mf_backup *b;
	const char *verb, *name = NULL, *file = NULL;
	char err[ERR_LEN], *path = NULL;
	int wait = 0, yes = 0, json = 0, c, rc = EXIT_USAGE;
	uint64_t raw;

	while ((c = getopt_long(argc, argv, "f:H:wyjh", opts, NULL)) != -1) {
		if (cli_source_option(&src, c))
			continue;
		switch (c) {
		case 'w': wait = 1; break;
		case 'y': yes = 1; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: reconcilerctl backup %s\n", cli_find_command("backup")->usage);
			return 0;
		default:
			return cli_usage_error("backup", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("backup", "list, run, restore or verify?");
	verb = argv[optind++];
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
	if (strcmp(verb, "run") == 0) {
		if (!name || file)
			return cli_usage_error("backup", "run takes one backup name");
		return backup_run_cmd(&src, name, wait);
	}
	if (strcmp(verb, "list") != 0 && strcmp(verb, "restore") != 0 && strcmp(verb, "verify") != 0)
		return cli_usage_error("backup", "unknown action '%s' (list, run, restore, verify)",
		    verb);
	if (strcmp(verb, "list") != 0 && (!name || !file))
		return cli_usage_error("backup", "%s takes a backup name and a file", verb);
	if (strcmp(verb, "list") == 0 && file)
		return cli_usage_error("backup", "list takes at most a backup name");
	if (backup_manifest(&src, &m) < 0)
		goto out;
	if (strcmp(verb, "list") == 0) {
		rc = backup_list_cmd(m, name, json);
		goto out;
	}
	if (!(b = backup_named(m, name)))
		goto out;
	path = backup_resolve(b, file);
	rc = 1;
	if (strcmp(verb, "verify") == 0) {
		if (backup_verify(path, &raw, err) < 0) {
			fprintf(stderr, "reconcilerctl backup verify: %s\n", err);
			goto out;
		}
		printf("%s: checksum ok, %llu bytes after decompression\n", path,
		    (unsigned long long)raw);
		rc = 0;
		goto out;
	}
	/* restore: the dump is checked before anyone is asked anything */
	if (backup_checksum(path, err) != 0) {
		fprintf(stderr, "reconcilerctl backup restore: %s\n", err);
		goto out;
	}
	if (backup_running(&src, b->name)) {
		fprintf(stderr, "reconcilerctl backup restore: reconcilerd is running backup '%s' "
		    "now: restore after it ends\n", b->name);
		goto out;
	}
	if (confirm_restore(m, b, path, yes) < 0 || cli_open_docker(&src, &d, "backup restore") < 0)
		goto out;
	if (backup_restore(d, m, b, path, write_output, NULL, err) < 0) {
		fprintf(stderr, "reconcilerctl backup restore: %s\n", err);
		goto out;
	}
	fflush(stdout);
	printf("restored %s into service '%s'\n", path, b->service);
	rc = 0;
out:
	free(path);
	docker_free(d);
	manifest_free(m);
	return rc;
}
