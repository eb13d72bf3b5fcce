/*
 * reconcilerctl: the operator's command line. A table of subcommands, each a
 * thin cmd_<name> over the library the daemon uses.
 */
#include "backup.h"
#include "cli.h"
#include "cli_source.h"
#include "compose.h"
#include "converge.h"
#include "diag.h"
#include "diff.h"
#include "docker.h"
#include "gitsrc.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "registry.h"
#include "secrets.h"
#include "setimage.h"
#include "spec.h"
#include "state.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
cli_usage_error(const char *name, const char *fmt, ...)
{
	const struct command *c = cli_find_command(name);
	va_list ap;

	fprintf(stderr, "reconcilerctl %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: reconcilerctl %s %s\n", name, c ? c->usage : "");
	return EXIT_USAGE;
}

static json_t *
diag_json(const struct diag *d)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < d->n; i++)
		json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:s}", "line", d->v[i].line,
		    "column", d->v[i].col, "path", d->v[i].path, "message", d->v[i].msg));
	return arr;
}

/* --- validate ------------------------------------------------------------- */

/* Prints s escaped as a workflow command's message (property: also as one of
 * its name=value properties), so a '%', a newline, or a ',' in a file name
 * cannot end the annotation early or start another command. */
static void
gh_escaped(const char *s, int property)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '\r' || *s == '\n' || (property && (*s == ':' || *s == ',')))
			printf("%%%02X", (unsigned char)*s);
		else
			putchar(*s);
	}
}

int
cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "github", no_argument, NULL, 'g' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, github = 0, quiet = 0, rc = 0, c;
	json_t *files = json_array();

	while ((c = getopt_long(argc, argv, "jgqh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'g': github = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
			printf("usage: reconcilerctl validate %s\n", cli_find_command("validate")->usage);
			json_decref(files);
			return 0;
		default:
			json_decref(files);
			return cli_usage_error("validate", "unknown option");
		}
	}
	if (optind >= argc) {
		json_decref(files);
		return cli_usage_error("validate", "no manifest given");
	}
	for (int i = optind; i < argc; i++) {
		char err[ERR_LEN], *src;
		struct manifest *m = NULL;
		struct diag d;
		size_t len;

		if (file_read(argv[i], YT_MAX_SIZE + 1, &src, &len, err) < 0) {
			fprintf(stderr, "reconcilerctl validate: %s\n", err);
			json_decref(files);
			return EXIT_USAGE;
		}
		diag_init(&d, argv[i]);
		if (len > YT_MAX_SIZE)
			diag_add(&d, 0, 0, "", "document is larger than the limit of %u bytes",
			    YT_MAX_SIZE);
		else
			manifest_parse(&m, argv[i], src, len, &d);
		if (d.n && rc == 0)
			rc = 1;
		if (json) {
			json_array_append_new(files, json_pack("{s:s,s:b,s:o}", "file", argv[i],
			    "valid", d.n == 0, "errors", diag_json(&d)));
		} else if (github) {
			for (size_t k = 0; k < d.n; k++) {
				fputs("::error file=", stdout);
				gh_escaped(argv[i], 1);
				printf(",line=%d,col=%d::", d.v[k].line ? d.v[k].line : 1,
				    d.v[k].col ? d.v[k].col : 1);
				if (*d.v[k].path) {
					gh_escaped(d.v[k].path, 0);
					fputs(": ", stdout);
				}
				gh_escaped(d.v[k].msg, 0);
				putchar('\n');
			}
		} else {
			diag_print(&d, stderr);
			if (!d.n && !quiet && m)
				printf("%s: valid (%zu service%s)\n", argv[i], m->nservices,
				    m->nservices == 1 ? "" : "s");
		}
		manifest_free(m);
		diag_release(&d);
		free(src);
	}
	if (json) {
		json_t *o = json_pack("{s:b,s:o}", "valid", rc == 0, "files", files);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		json_decref(files);
	}
	return rc;
}

/* --- set-image ------------------------------------------------------------ */

static int
parse_author(const char *a, char **name, char **email)
{
	const char *lt = strchr(a, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t n;

	if (!lt || !gt || gt[1])
		return -1;
	n = (size_t)(lt - a);
	while (n && a[n - 1] == ' ')
		n--;
	if (!n)
		return -1;
	*name = xstrndup(a, n);
	*email = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return 0;
}

enum { OPT_COMMIT = 300, OPT_PUSH, OPT_AUTHOR, OPT_REMOTE, OPT_TOKEN, OPT_SSHKEY, OPT_KNOWN };

int
cmd_set_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "commit", no_argument, NULL, OPT_COMMIT },
		{ "push", no_argument, NULL, OPT_PUSH },
		{ "message", required_argument, NULL, 'm' },
		{ "author", required_argument, NULL, OPT_AUTHOR },
		{ "remote", required_argument, NULL, OPT_REMOTE },
		{ "token-file", required_argument, NULL, OPT_TOKEN },
		{ "ssh-key", required_argument, NULL, OPT_SSHKEY },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gitsrc_auth auth = { 0 };
	const char *message = NULL, *author = NULL, *remote = NULL;
	char err[ERR_LEN] = "", commit[41], *msg = NULL, *aname = NULL, *aemail = NULL;
	const char *file, *service, *image;
	int do_commit = 0, do_push = 0, c, rc;
	struct diag d;

	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_COMMIT: do_commit = 1; break;
		case OPT_PUSH: do_push = do_commit = 1; break;
		case 'm': message = optarg; break;
		case OPT_AUTHOR: author = optarg; break;
		case OPT_REMOTE: remote = optarg; break;
		case OPT_TOKEN: auth.token_file = optarg; break;
		case OPT_SSHKEY: auth.ssh_key = optarg; break;
		case OPT_KNOWN: auth.known_hosts = optarg; break;
		case 'h':
			printf("usage: reconcilerctl set-image %s\n", cli_find_command("set-image")->usage);
			return 0;
		default:
			return cli_usage_error("set-image", "unknown option");
		}
	}
	if (argc - optind != 3)
		return cli_usage_error("set-image", "expected FILE SERVICE IMAGE@sha256:DIGEST");
	if (author && parse_author(author, &aname, &aemail) < 0)
		return cli_usage_error("set-image", "--author wants \"Name <email>\"");
	file = argv[optind];
	service = argv[optind + 1];
	image = argv[optind + 2];
	diag_init(&d, file);
	rc = setimage_file(file, service, image, &d, err);
	diag_print(&d, stderr);
	diag_release(&d);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl set-image: %s\n", err);
		rc = 1;
		goto out;
	}
	printf("%s: services.%s.image %s\n", file, service,
	    rc == 1 ? "already set, nothing to do" : "updated");
	if (rc == 1 || !do_commit) {
		rc = 0;
		goto out;
	}
	msg = message ? xstrdup(message) : xasprintf("deploy: %s %s", service,
	    strstr(image, "@sha256:") ? strstr(image, "@sha256:") + 1 : image);
	if (gitsrc_commit_file(file, msg, aname, aemail, commit, err) < 0) {
		fprintf(stderr, "reconcilerctl set-image: commit: %s\n", err);
		rc = 1;
		goto out;
	}
	printf("committed %.12s: %s\n", commit, msg);
	if (do_push) {
		if (gitsrc_push(file, remote, &auth, err) < 0) {
			fprintf(stderr, "reconcilerctl set-image: push: %s\n", err);
			rc = 1;
			goto out;
		}
		printf("pushed to %s\n", remote ? remote : "origin");
	}
	rc = 0;
out:
	free(msg);
	free(aname);
	free(aemail);
	return rc;
}

/* --- diff ------------------------------------------------------------------ */

enum { OPT_NOCOLOR = 300, OPT_STATS };

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
		json_t *o = plan_json(w.p);

		if (*w.revision)
			json_object_set_new(o, "revision", json_string(w.revision));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		plan_print(w.p, stdout, color);
	}
	if (stats)
		fprintf(stderr, "engine calls: %lu\n", docker_calls(w.d));
	rc = plan_in_sync(w.p) ? 0 : 1;
out:
	cli_world_release(&w);
	return rc;
}


/* --- apply ----------------------------------------------------------------- */

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
	if (converge_apply(w.d, &w.ds, w.p, &w.sec, &co, &rep, err) < 0) {
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


void
cli_fmt_time(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
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
		}
	}
	json_decref(h);
	return 0;
}

/* --- backup ---------------------------------------------------------------- */

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

static int backup_running(const struct cli_source *src, const char *name);

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
	if (strcmp(verb, "list") && strcmp(verb, "restore") && strcmp(verb, "verify"))
		return cli_usage_error("backup", "unknown action '%s' (list, run, restore, verify)",
		    verb);
	if (strcmp(verb, "list") != 0 && (!name || !file))
		return cli_usage_error("backup", "%s takes a backup name and a file", verb);
	if (strcmp(verb, "list") == 0 && file)
		return cli_usage_error("backup", "list takes at most a backup name");
	if (backup_manifest(&src, &m) < 0)
		goto out;
	if (strcmp(verb, "list") == 0) {
		json_t *arr = json ? json_array() : NULL;

		rc = 0;
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
	char err[ERR_LEN], *path, *data = NULL;
	int retry = 0, wait = 0, c, rc = EXIT_USAGE;
	int64_t timeout = 600000;
	long long before = 0;
	size_t len;
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
	path = cli_state_file(&src, "reconcilerd.pid");
	if (file_read(path, 64, &data, &len, err) == 0)
		data[strcspn(data, "\n")] = '\0';
	if (!data || int_parse(data, 1, INT32_MAX, &pid) < 0 || kill((pid_t)pid, 0) < 0) {
		fprintf(stderr, "reconcilerctl sync: no running reconcilerd (%s); start it, or give "
		    "--state-dir\n", data ? "stale pid file" : err);
		goto out;
	}
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
	free(path);
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
	free(data);
	free(path);
	return rc;
}

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

/* --- status ---------------------------------------------------------------- */

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
	if (actual_load(&a, d, project, err) < 0) {
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

/* --- import-compose ------------------------------------------------------- */

/* Digests for --resolve: the engine's own copy of the image first (what
 * `docker compose up` would run), then the registry. */
struct resolver {
	const char *host;
	struct docker *d;
	int opened;
};

static int
same_repo(const char *a, const char *b)
{
	struct registry_ref ra, rb;
	int same;

	if (registry_ref_parse(&ra, a) < 0)
		return 0;
	if (registry_ref_parse(&rb, b) < 0) {
		registry_ref_release(&ra);
		return 0;
	}
	same = strcmp(ra.host, rb.host) == 0 && strcmp(ra.repo, rb.repo) == 0;
	registry_ref_release(&ra);
	registry_ref_release(&rb);
	return same;
}

static int
engine_digest(struct resolver *r, const char *ref, char *digest, size_t len)
{
	char err[ERR_LEN];
	json_t *img = NULL, *rd;
	size_t i;
	int rc = -1;

	if (!r->opened) {
		struct docker_options o = DOCKER_OPTIONS_INIT;

		r->opened = 1;
		o.host = r->host;
		o.timeout_ms = 10000;
		if (docker_open(&r->d, &o, err) < 0)
			r->d = NULL;	/* no engine here: the registry is asked */
	}
	if (!r->d || docker_image_inspect(r->d, ref, &img, err) != 0)
		return -1;
	json_array_foreach(json_object_get(img, "RepoDigests"), i, rd) {
		const char *s = json_string_value(rd), *at = s ? strstr(s, "@sha256:") : NULL;
		char *name;

		if (!at || strlen(at + 1) >= len)
			continue;
		name = xstrndup(s, (size_t)(at - s));
		if (same_repo(name, ref)) {
			snprintf(digest, len, "%s", at + 1);
			rc = 0;
		}
		free(name);
		if (rc == 0)
			break;
	}
	json_decref(img);
	return rc;
}

static int
resolve_image(const char *ref, char *digest, size_t len, const char **how, char *err,
    void *payload)
{
	struct resolver *r = payload;

	if (engine_digest(r, ref, digest, len) == 0) {
		*how = "the engine's copy";
		return 0;
	}
	if (registry_digest(ref, digest, len, 20000, err) == 0) {
		*how = "the registry";
		return 0;
	}
	return -1;
}

enum { OPT_FORCE = 400, OPT_RESOLVE, OPT_PROJECT, OPT_IMAGE, OPT_BASEDIR };

int
cmd_import_compose(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "resolve", no_argument, NULL, OPT_RESOLVE },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "base-dir", required_argument, NULL, OPT_BASEDIR },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct compose_options co = COMPOSE_OPTIONS_INIT;
	struct compose_result res = { 0 };
	struct resolver rv = { 0 };
	const char *output = NULL, *file, *base = NULL;
	char err[ERR_LEN], real[PATH_MAX], *src = NULL, *dir = NULL, *defproj = NULL;
	char **images = xcalloc((size_t)argc + 1, sizeof(*images));
	int force = 0, resolve = 0, c, rc = EXIT_USAGE;
	size_t len, nimages = 0;
	struct diag d;

	diag_init(&d, "");
	while ((c = getopt_long(argc, argv, "o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case OPT_FORCE: force = 1; break;
		case OPT_RESOLVE: resolve = 1; break;
		case OPT_PROJECT:
			if (!manifest_name_ok(optarg)) {
				rc = cli_usage_error("import-compose", "--project '%s': 1-63 lowercase letters, "
				    "digits, '_', '-'", optarg);
				goto out;
			}
			co.project = optarg;
			break;
		case OPT_IMAGE:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				rc = cli_usage_error("import-compose", "--image wants SERVICE=REF");
				goto out;
			}
			images[nimages++] = optarg;
			break;
		case OPT_BASEDIR:
			if (optarg[0] != '/') {
				rc = cli_usage_error("import-compose", "--base-dir wants an absolute path (the "
				    "directory the relative bind mounts are in on the host)");
				goto out;
			}
			base = optarg;
			break;
		case 'H': rv.host = optarg; break;
		case 'h':
			printf("usage: reconcilerctl import-compose %s\n",
			    cli_find_command("import-compose")->usage);
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error("import-compose", "unknown option");
			goto out;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error("import-compose", argc - optind ? "one Compose file at a time" :
		    "no Compose file given");
		goto out;
	}
	file = argv[optind];
	if (output && !force && access(output, F_OK) == 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s exists (give --force to replace "
		    "it)\n", output);
		goto out;
	}
	if (file_read(file, YT_MAX_SIZE + 1, &src, &len, err) < 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s\n", err);
		goto out;
	}
	if (len > YT_MAX_SIZE) {
		fprintf(stderr, "reconcilerctl import-compose: %s is larger than the limit of %u "
		    "bytes\n", file, YT_MAX_SIZE);
		goto out;
	}
	/* As Compose: relative paths and the default project come from the
	 * directory that holds the file (--base-dir: where those paths are on
	 * the host that will run it, which need not be this one). */
	dir = xstrdup(file);
	if (!realpath(dirname(dir), real)) {
		fprintf(stderr, "reconcilerctl import-compose: %s: %s\n", file, strerror(errno));
		goto out;
	}
	co.base_dir = base ? base : real;
	defproj = compose_project_name(strrchr(real, '/') ? strrchr(real, '/') + 1 : real);
	co.default_project = defproj;
	co.images = (const char *const *)images;
	if (resolve) {
		co.resolve = resolve_image;
		co.payload = &rv;
	}
	diag_release(&d);
	diag_init(&d, file);
	rc = compose_convert(&res, file, src, len, &co, &d);
	diag_print(&d, stderr);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl import-compose: %s was not converted\n", file);
		rc = EXIT_USAGE;
		goto out;
	}
	{
		/* Compose takes the values of the variables from this file; it is
		 * not read here (its values are the secrets), only pointed at. */
		char *envf = xasprintf("%s/.env", real);

		if (res.nsecrets && access(envf, F_OK) == 0)
			fprintf(stderr, "%s: note: %s sets the variables' values for Compose: they go into "
			    "the secret files listed at the end (it was not read)\n", file, envf);
		free(envf);
	}
	if (output) {
		if (file_write_atomic(output, res.text, res.len, 0644, err) < 0) {
			fprintf(stderr, "reconcilerctl import-compose: %s\n", err);
			rc = EXIT_USAGE;
			goto out;
		}
	} else if (fwrite(res.text, 1, res.len, stdout) != res.len || fflush(stdout) != 0) {
		fprintf(stderr, "reconcilerctl import-compose: writing the output: %s\n",
		    strerror(errno));
		rc = EXIT_USAGE;
		goto out;
	}
	fprintf(stderr, "import-compose: %zu service%s written to %s; %zu thing%s not mapped or "
	    "not pinned%s; %zu secret file%s to create%s\n", res.nservices,
	    res.nservices == 1 ? "" : "s", output ? output : "the standard output", res.nunmapped,
	    res.nunmapped == 1 ? "" : "s", res.nunmapped ? " (see above)" : "", res.nsecrets,
	    res.nsecrets == 1 ? "" : "s", res.nsecrets ? " (listed at the end)" : "");
out:
	compose_result_release(&res);
	docker_free(rv.d);
	diag_release(&d);
	free(defproj);
	free(dir);
	free(src);
	free(images);
	return rc;
}

/* --- version, help -------------------------------------------------------- */

int
cmd_version(int argc, char **argv)
{
	printf("reconcilerctl %s (%s)\n", RECONCILER_VERSION, RECONCILER_GIT_REV);
	return 0;
}

static const struct command commands[] = {
	{ "validate", cmd_validate, "[--json|--github] FILE...",
	  "check manifests; exit 0 valid, 1 invalid, 2 usage or I/O error" },
	{ "set-image", cmd_set_image, "[--commit [-m MSG] [--author 'N <E>']] [--push [--remote R]\n"
	  "       [--token-file F | --ssh-key K --known-hosts H]] FILE SERVICE IMAGE@sha256:DIGEST",
	  "replace one service's image digest in place, keeping everything else" },
	{ "diff", cmd_diff, "[-f FILE | --repo URL [--ref REF] [--path P]] [--json] [--no-color]\n"
	  "       [--secrets-dir DIR] [--state-dir DIR] [--socket PATH] [-H unix:///path/docker.sock]",
	  "show drift between the manifest (or reconcilerd's) and the engine; exit 0 in sync, 1 drift, 2 error" },
	{ "apply", cmd_apply, "[-f FILE | --repo URL …] [--revision REV] [-j N] [-H HOST]",
	  "converge once from a manifest without a daemon (bootstrap, tests); exit 0 ok, 1 failed" },
	{ "status", cmd_status, "[-f FILE | --repo URL … | -p PROJECT] [--json]",
	  "show each service's container, state, health, uptime, revision and image" },
	{ "sync", cmd_sync, "[--retry] [--wait [--timeout DURATION]] [--state-dir DIR]",
	  "ask the running reconcilerd for a cycle now; --retry clears quarantined revisions" },
	{ "history", cmd_history, "[--limit N] [--json] [--state-dir DIR]",
	  "show the journal: cycles, actions, reasons and outcomes, newest first" },
	{ "import-compose", cmd_import_compose, "[--resolve [-H HOST]] [-o FILE [--force]] "
	  "[--project NAME]\n       [--image SERVICE=REF]... [--base-dir DIR] COMPOSE_FILE",
	  "convert a Compose file into a manifest; exit 0 all mapped, 1 not all, 2 error" },
	{ "backup", cmd_backup, "list [NAME] [--json] | run NAME [--wait] | verify NAME FILE |\n"
	  "       restore NAME FILE [--yes]   [-f FILE | --repo URL …] [--state-dir DIR] [-H HOST]",
	  "list, take, check and restore the manifest's backups" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "[COMMAND]", "show this help" },
	{ NULL, NULL, NULL, NULL },
};

const struct command *
cli_find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
cmd_help(int argc, char **argv)
{
	if (argc > 1 && cli_find_command(argv[1])) {
		const struct command *c = cli_find_command(argv[1]);

		printf("usage: reconcilerctl %s %s\n\n%s\n", c->name, c->usage, c->summary);
		return 0;
	}
	printf("usage: reconcilerctl COMMAND [ARGS]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		printf("  %-14s %s\n", c->name, c->summary);
	printf("\nSee reconcilerctl(1) and reconciler-manifest(5).\n");
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *c;
	int rc;

	if (argc < 2) {
		cmd_help(0, NULL);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (!(c = cli_find_command(argv[1]))) {
		fprintf(stderr, "reconcilerctl: unknown command '%s' (see reconcilerctl help)\n",
		    argv[1]);
		return EXIT_USAGE;
	}
	optind = 1;
	rc = c->fn(argc - 1, argv + 1);
	gitsrc_shutdown();
	return rc;
}
