/*
 * reconcilerctl fleet status: every host of the manifest's fleet section as
 * its daemon's read-only listener reports it (GET <url>/v1/status), in one
 * table; the exit status says whether the whole fleet serves the branch head.
 */
#include "cli.h"
#include "cli_source.h"
#include "fleet.h"
#include "util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLEET_ASK_THREADS 16		/* hosts asked at once */

/* One host of the fleet section and what its status says; the strings are
 * borrowed from st. */
struct fleet_row {
	const struct mf_fleet_host *h;
	json_t *st;		/* its status (owned), NULL when it could not be read */
	char err[ERR_LEN];	/* why not */
	const char *revision, *head, *state, *message;
	const char *says;	/* the daemon's host name when it is not h->name */
	long long drift;	/* services not in sync; -1: no drift document */
	long long last_ms;	/* the last cycle, ms since the epoch; -1: none */
	json_t *failing;	/* service names (owned) */
	json_t *problems;	/* why this host is not in sync (owned) */
};

/* The hosts asked from a few threads at once, each taking the next row. */
struct fleet_ask {
	struct fleet_row *rows;
	size_t n, next;
	long timeout_ms;
	pthread_mutex_t mu;
};

static void *
ask_hosts(void *arg)
{
	struct fleet_ask *a = arg;

	for (;;) {
		struct fleet_row *r;

		pthread_mutex_lock(&a->mu);
		r = a->next < a->n ? &a->rows[a->next++] : NULL;
		pthread_mutex_unlock(&a->mu);
		if (!r)
			return NULL;
		if (!r->h->url)
			errf(r->err, "no url in the fleet section");
		else if (fleet_status_get(r->h->url, a->timeout_ms, &r->st, r->err) < 0)
			r->st = NULL;
	}
}

/* Every host asked, at most FLEET_ASK_THREADS at once, so the whole takes
 * about timeout × hosts / FLEET_ASK_THREADS at worst; this thread asks too,
 * so a thread that cannot be started only slows it down. */
static void
ask_all(struct fleet_row *rows, size_t n, long timeout_ms)
{
	struct fleet_ask a = { rows, n, 0, timeout_ms, PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[FLEET_ASK_THREADS];
	size_t started = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	while (started < FLEET_ASK_THREADS && started + 1 < n &&
	    pthread_create(&t[started], NULL, ask_hosts, &a) == 0)
		started++;
	ask_hosts(&a);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&a.mu);
	curl_global_cleanup();
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Services not in sync in the status's drift document (plan_json). */
static long long
drift_count(const json_t *drift)
{
	static const char *const actions[] = { "create", "recreate", "start", "remove", "blocked" };
	const json_t *sum = json_object_get(drift, "summary");
	long long n = 0;

	if (!json_is_object(sum))
		return -1;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		n += json_integer_value(json_object_get(sum, actions[i]));
	return n;
}

static void
add_name(json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	if (!name)
		return;
	json_array_foreach(names, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return;
	json_array_append_new(names, json_string(name));
}

/* What the status says, read into the row. */
static void
row_read(struct fleet_row *r)
{
	const json_t *st = r->st, *q, *svc;
	const char *says = jstr(json_object_get(st, "host"), "name");
	json_t *cycle = json_object_get(st, "cycle"), *updated = json_object_get(st, "updated");
	size_t i;

	r->revision = jstr(st, "revision");
	r->head = jstr(st, "head");
	r->state = jstr(st, "state") ? jstr(st, "state") : "?";
	r->message = jstr(st, "message");
	if (says && strcmp(says, r->h->name) != 0)
		r->says = says;
	r->drift = drift_count(json_object_get(st, "drift"));
	r->last_ms = json_is_integer(cycle) ? json_integer_value(cycle) :
	    json_is_integer(updated) ? json_integer_value(updated) * 1000 : -1;
	json_array_foreach(json_object_get(st, "services"), i, svc) {
		const char *health = jstr(svc, "health");

		if (health && strcmp(health, "unhealthy") == 0)
			add_name(r->failing, jstr(svc, "service"));
	}
	json_array_foreach(json_object_get(st, "quarantined"), i, q)
		add_name(r->failing, jstr(q, "service"));
}

static void
problem(struct fleet_row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct fleet_row *r, const char *fmt, ...)
{
	char line[ERR_LEN + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_array_append_new(r->problems, json_string(line));
}

static void
failing_text(const struct fleet_row *r, struct buf *b)
{
	size_t i;
	json_t *v;

	json_array_foreach(r->failing, i, v)
		buf_addf(b, "%s%s", i ? "," : "", json_string_value(v));
	if (!b->len)
		buf_addf(b, "-");
}

/* Why host r is not in sync by itself: reachable, itself, settled, nothing
 * to do and nothing failing, at the branch head (repo_head from --repo, else
 * the head its own daemon last read). */
static void
row_judge(struct fleet_row *r, const char *repo_head)
{
	const char *want = repo_head ? repo_head : r->head;

	if (!r->st) {
		problem(r, "unreachable: %s", r->err);
		return;
	}
	if (r->says)
		problem(r, "its daemon says it is host '%s' (the host: of its config), not '%s'",
		    r->says, r->h->name);
	if (strcmp(r->state, "in-sync") != 0 && strcmp(r->state, "converged") != 0) {
		if (r->message && strncmp(r->message, r->state, strlen(r->state)) == 0)
			problem(r, "%s", r->message);
		else
			problem(r, "%s%s%s", r->state, r->message ? ": " : "",
			    r->message ? r->message : "");
	}
	if (json_array_size(r->failing)) {
		struct buf b;

		buf_init(&b, 0);
		failing_text(r, &b);
		problem(r, "failing: %s", b.data);
		buf_release(&b);
	}
	if (r->drift < 0)
		problem(r, "its status has no drift document (no cycle planned yet)");
	else if (r->drift > 0)
		problem(r, "%lld service%s not in sync", r->drift, r->drift == 1 ? "" : "s");
	if (!r->revision)
		problem(r, "no revision applied yet");
	else if (!want)
		problem(r, "at %.12s, its branch head unknown (never fetched)", r->revision);
	else if (strcmp(r->revision, want) != 0)
		problem(r, "at %.12s, not the branch head %.12s%s", r->revision, want,
		    repo_head ? "" : " (as its daemon last read it)");
}

/* Without --repo: the hosts must agree with each other. "" when they do,
 * else "R1 (db1, web2); R2 (web1)". */
static void
revisions_apart(const struct fleet_row *rows, size_t n, struct buf *b)
{
	json_t *groups = json_object(), *names;
	const char *rev;

	for (size_t i = 0; i < n; i++) {
		if (!rows[i].st || !rows[i].revision)
			continue;
		if (!(names = json_object_get(groups, rows[i].revision))) {
			names = json_array();
			json_object_set_new(groups, rows[i].revision, names);
		}
		json_array_append_new(names, json_string(rows[i].h->name));
	}
	if (json_object_size(groups) > 1)
		json_object_foreach(groups, rev, names) {
			size_t k;
			json_t *v;

			buf_addf(b, "%s%.12s (", b->len ? "; " : "", rev);
			json_array_foreach(names, k, v)
				buf_addf(b, "%s%s", k ? ", " : "", json_string_value(v));
			buf_addf(b, ")");
		}
	json_decref(groups);
}

/* "12s ago", "4m ago", "3h ago", "2d ago", "-" */
static void
age_text(long long now_ms, long long ms, char *out, size_t len)
{
	long long s = (now_ms - ms) / 1000;

	if (ms < 0)
		snprintf(out, len, "-");
	else if (s < -1)
		snprintf(out, len, "%llds ahead", -s);
	else if (s < 60)
		snprintf(out, len, "%llds ago", s < 0 ? 0 : s);
	else if (s < 3600)
		snprintf(out, len, "%lldm ago", s / 60);
	else if (s < 86400)
		snprintf(out, len, "%lldh ago", s / 3600);
	else
		snprintf(out, len, "%lldd ago", s / 86400);
}

static void
state_text(const struct fleet_row *r, char *out, size_t len)
{
	if (!r->st)
		snprintf(out, len, "unreachable");
	else if (r->says)
		snprintf(out, len, "wrong host: says %s", r->says);
	else
		snprintf(out, len, "%s", r->state);
}

static int
width(int w, size_t len)
{
	return len > (size_t)w ? (int)len : w;
}

static void
print_table(const struct fleet_row *rows, size_t n, const char *repo_head, const char *apart,
    int in_sync)
{
	int wh = 4, ws = 5, wf = 7;
	long long now = (long long)time(NULL) * 1000;
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		char s[256];
		struct buf f;

		state_text(&rows[i], s, sizeof(s));
		buf_init(&f, 0);
		failing_text(&rows[i], &f);
		wh = width(wh, strlen(rows[i].h->name));
		ws = width(ws, strlen(s));
		wf = width(wf, f.len);
		buf_release(&f);
	}
	if (repo_head)
		printf("branch head %.12s\n", repo_head);
	printf("%-*s  %-12s  %-*s  %5s  %-*s  %s\n", wh, "HOST", "REVISION", ws, "STATE", "DRIFT",
	    wf, "FAILING", "LAST CYCLE");
	for (size_t i = 0; i < n; i++) {
		const struct fleet_row *r = &rows[i];
		char s[256], drift[24], age[32];
		struct buf f;

		state_text(r, s, sizeof(s));
		buf_init(&f, 0);
		failing_text(r, &f);
		snprintf(drift, sizeof(drift), r->st && r->drift >= 0 ? "%lld" : "-", r->drift);
		age_text(now, r->st ? r->last_ms : -1, age, sizeof(age));
		printf("%-*s  %-12.12s  %-*s  %5s  %-*s  %s\n", wh, r->h->name,
		    r->st && r->revision ? r->revision : "-", ws, s, drift, wf, f.data, age);
		buf_release(&f);
		bad += json_array_size(r->problems) > 0;
	}
	if (!in_sync)
		putchar('\n');
	for (size_t i = 0; i < n; i++) {
		size_t k;
		json_t *p;

		json_array_foreach(rows[i].problems, k, p)
			printf("%s: %s\n", rows[i].h->name, json_string_value(p));
	}
	if (*apart)
		printf("the hosts are at different revisions: %s\n", apart);
	if (in_sync)
		printf("fleet in sync: %zu host%s at %.12s\n", n, n == 1 ? "" : "s",
		    rows[0].revision);
	else if (!bad)
		printf("fleet not in sync: the hosts disagree\n");
	else
		printf("fleet not in sync: %zu of %zu host%s need%s attention%s\n", bad, n,
		    n == 1 ? "" : "s", bad == 1 ? "s" : "", *apart ? ", and the hosts disagree" : "");
}

static json_t *
row_json(const struct fleet_row *r)
{
	json_t *o = json_pack("{s:s,s:s?,s:b}", "name", r->h->name, "url", r->h->url,
	    "reachable", r->st != NULL);

	if (!r->st)
		json_object_set_new(o, "error", json_string(r->err));
	json_object_set_new(o, "host_name", r->st && jstr(json_object_get(r->st, "host"), "name") ?
	    json_string(jstr(json_object_get(r->st, "host"), "name")) : json_null());
	json_object_set_new(o, "revision", r->st && r->revision ? json_string(r->revision) :
	    json_null());
	json_object_set_new(o, "head", r->st && r->head ? json_string(r->head) : json_null());
	json_object_set_new(o, "state", json_string(r->st ? r->state : "unreachable"));
	json_object_set_new(o, "drift", r->st && r->drift >= 0 ? json_integer(r->drift) :
	    json_null());
	json_object_set(o, "failing", r->failing);
	json_object_set_new(o, "last_cycle", r->st && r->last_ms >= 0 ?
	    json_integer(r->last_ms) : json_null());
	json_object_set_new(o, "in_sync", json_boolean(json_array_size(r->problems) == 0));
	json_object_set(o, "problems", r->problems);
	return o;
}

static void
print_json(const struct fleet_row *rows, size_t n, const char *repo_head, const char *apart,
    int in_sync)
{
	json_t *hosts = json_array(), *o;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(hosts, row_json(&rows[i]));
	o = json_pack("{s:i,s:s?,s:b,s:o}", "format", 1, "head", repo_head, "in_sync", in_sync,
	    "hosts", hosts);
	if (*apart)
		json_object_set_new(o, "revisions_apart", json_string(apart));
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
}

static int
no_fleet(const struct manifest *m)
{
	fprintf(stderr, "reconcilerctl fleet: %s has no fleet section: list each host whose "
	    "reconcilerd follows this repository, by the host: of its config, with the address "
	    "of its read-only listener (listen: in its config), e.g.\n"
	    "  fleet:\n"
	    "    db1: {url: http://10.0.0.2:9180}\n"
	    "    web1: {url: http://10.0.0.3:9180}\n"
	    "(see docs/fleet.md)\n", m->file ? m->file : "the manifest");
	return EXIT_USAGE;
}

/* Asks every host, judges and prints; 0 when the whole fleet is in sync. */
static int
fleet_status(const struct manifest *m, const char *repo_head, long timeout_ms, int json)
{
	struct fleet_row *rows = xcalloc(m->nfleet, sizeof(*rows));
	struct buf apart;
	int in_sync = 1;

	for (size_t i = 0; i < m->nfleet; i++) {
		rows[i].h = &m->fleet[i];
		rows[i].failing = json_array();
		rows[i].problems = json_array();
	}
	ask_all(rows, m->nfleet, timeout_ms);
	buf_init(&apart, 0);
	for (size_t i = 0; i < m->nfleet; i++) {
		if (rows[i].st)
			row_read(&rows[i]);
		row_judge(&rows[i], repo_head);
		if (json_array_size(rows[i].problems))
			in_sync = 0;
	}
	if (!repo_head)
		revisions_apart(rows, m->nfleet, &apart);
	if (apart.len)
		in_sync = 0;
	if (json)
		print_json(rows, m->nfleet, repo_head, apart.len ? apart.data : "", in_sync);
	else
		print_table(rows, m->nfleet, repo_head, apart.len ? apart.data : "", in_sync);
	buf_release(&apart);
	for (size_t i = 0; i < m->nfleet; i++) {
		json_decref(rows[i].st);
		json_decref(rows[i].failing);
		json_decref(rows[i].problems);
	}
	free(rows);
	return in_sync ? 0 : 1;
}

int
cmd_fleet(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_SOURCE_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_source src = { 0 };
	struct manifest *m = NULL;
	char revision[41];
	int64_t timeout = FLEET_TIMEOUT_MS;
	int json = 0, c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "f:H:jh", opts, NULL)) != -1) {
		if (cli_source_option(&src, c))
			continue;
		switch (c) {
		case 'j': json = 1; break;
		case 't':
			if (duration_parse(optarg, &timeout) < 0 || timeout <= 0 || timeout > 600000)
				return cli_usage_error("fleet", "invalid --timeout '%s' (a duration "
				    "from 1ms to 10m, e.g. 5s)", optarg);
			break;
		case 'h':
			printf("usage: reconcilerctl fleet %s\n", cli_find_command("fleet")->usage);
			return 0;
		default:
			return cli_usage_error("fleet", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("fleet", "status?");
	if (strcmp(argv[optind], "status") != 0)
		return cli_usage_error("fleet", "unknown action '%s' (status)", argv[optind]);
	if (++optind < argc)
		return cli_usage_error("fleet", "unexpected argument '%s'", argv[optind]);
	if (cli_source_load(&src, "fleet", &m, revision) < 0)
		goto out;
	if (!m->nfleet) {
		rc = no_fleet(m);
		goto out;
	}
	rc = fleet_status(m, *revision ? revision : NULL, (long)timeout, json);
out:
	manifest_free(m);
	return rc;
}
