/*
 * status: what the daemon says about itself. A cycle builds its status step
 * by step and writes status.json once at its end, with a STATUS= line for
 * systemd; /v1/status and the status page read the file back.
 */
#include "daemon_int.h"
#include "diff.h"
#include "docker.h"
#include "gitsrc.h"
#include "httpd.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "sdnotify.h"
#include "state.h"
#include "statuspage.h"
#include "util.h"
#include "world.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void
daemon__status_init(struct status *st)
{
	st->o = json_object();
	st->errors = json_array();
	st->quarantined = json_array();
}

void
daemon__status_error(struct status *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_array_append_new(st->errors, json_vsprintf(fmt, ap));
	va_end(ap);
}

/* The cycle's outcome on one line for the service manager (`systemctl status`
 * shows it): "in sync at <rev>", "converged to <rev>", "degraded: …", "error: …". */
static void
sd_status(struct daemon *dm, const char *state, const char *msg)
{
	char line[512];

	if (!dm->sd || atomic_load(&dm->shared.stop))	/* after STOPPING=1, that stays the status */
		return;
	if (!strcmp(state, "in-sync"))
		snprintf(line, sizeof(line), "in sync at %.12s", dm->cycle.head);
	else if (!strcmp(state, "converged"))
		snprintf(line, sizeof(line), "converged to %.12s", dm->cycle.head);
	else if (msg && !strncmp(msg, state, strlen(state)))
		snprintf(line, sizeof(line), "%s", msg);
	else
		snprintf(line, sizeof(line), "%s%s%s", state, msg ? ": " : "", msg ? msg : "");
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	sdnotify_send(dm->sd, "STATUS=%s", line);
}

/* Before a rollout: "converging api, web to <rev>" (names cut at the line's end). */
void
daemon__status_converging(struct daemon *dm, const struct plan *p, const char *rev)
{
	struct buf b;

	if (!dm->sd || atomic_load(&dm->shared.stop))
		return;
	buf_init(&b, 300);
	buf_adds(&b, "STATUS=converging");
	for (size_t i = 0, n = 0; i < p->nservices; i++) {
		if (p->services[i].action == PLAN_IN_SYNC)
			continue;
		if (buf_addf(&b, "%s %s", n++ ? "," : "", p->services[i].service) < 0) {
			buf_adds(&b, " ...");
			break;
		}
	}
	sdnotify_send(dm->sd, "%s to %.12s", b.data, rev);
	buf_release(&b);
}

/* The revisions that serve: per service of this cycle (its "services", else
 * its plan; every service recorded when it listed none), from the journal. */
static json_t *
serving_json(struct daemon *dm, const json_t *o)
{
	json_t *all = journal_serving(dm->cycle.journal), *out, *rows, *r;
	size_t i;

	rows = json_object_get(o, "services");
	if (!json_is_array(rows))
		rows = json_object_get(json_object_get(o, "plan"), "services");
	if (!json_is_array(rows))
		return all;
	out = json_object();
	json_array_foreach(rows, i, r) {
		const char *svc = json_string_value(json_object_get(r, "service"));
		json_t *rev = svc ? json_object_get(all, svc) : NULL;

		if (rev)
			json_object_set(out, svc, rev);
	}
	json_decref(all);
	return out;
}

/* The first thing to tell when the cycle had no error: a quarantined pair,
 * a self-heal that failed, a journal that cannot be written. */
static char *
degraded_message(struct daemon *dm, struct status *st)
{
	json_t *q = json_array_get(st->quarantined, 0);
	json_t *h = json_array_get(json_object_get(st->o, "heal_failed"), 0);

	if (q)
		return xasprintf("degraded: %.12s failed on %s: %s",
		    json_string_value(json_object_get(q, "revision")),
		    json_string_value(json_object_get(q, "service")),
		    json_string_value(json_object_get(q, "reason")));
	if (h)
		return xasprintf("degraded: self-heal of %s at %.12s failed (tried again): %s",
		    json_string_value(json_object_get(h, "service")),
		    json_string_value(json_object_get(h, "revision")),
		    json_string_value(json_object_get(h, "reason")));
	if (dm->cycle.journal_failing)
		return xasprintf("degraded: %s: nothing is recorded", dm->cycle.journal_err);
	return NULL;
}

/* status.json, written atomically; its error is logged once, not every cycle. */
static void
status_file(struct daemon *dm, const char *text)
{
	char *p = daemon__state_path(dm, "status.json"), err[ERR_LEN];

	if (file_write_atomic(p, text, strlen(text), 0644, err) < 0) {
		if (strcmp(err, dm->cycle.status_err) != 0)
			log_warn("state", "%s (the control socket still answers with the status)", err);
		snprintf(dm->cycle.status_err, sizeof(dm->cycle.status_err), "%s", err);
	} else if (dm->cycle.status_err[0]) {
		log_info("state", "status.json written again");
		dm->cycle.status_err[0] = '\0';
	}
	free(p);
}

void
daemon__status_write(struct daemon *dm, struct status *st, enum cycle_outcome out)
{
	char *text, applied[41];
	const char *msg = NULL;
	char *degraded, *moving = NULL;
	json_t *mv;

	daemon__journal_watch(dm, st);
	degraded = degraded_message(dm, st);
	if (json_array_size(st->errors))
		msg = json_string_value(json_array_get(st->errors, 0));
	else if (degraded)
		msg = degraded;
	else if ((mv = json_object_get(st->o, "waiting")))
		msg = moving = xasprintf("head %.12s %s: %s",
		    json_string_value(json_object_get(mv, "revision")),
		    json_is_true(json_object_get(mv, "failed")) ? "is never rolled out here" :
		    "waits for the hosts of wait_for", json_string_value(json_object_get(mv, "reason")));
	else if ((mv = json_array_get(json_object_get(st->o, "moving"), 0)))
		msg = moving = xasprintf("%s moves to another host, kept here until it serves it: %s",
		    json_string_value(json_object_get(mv, "service")),
		    json_string_value(json_object_get(mv, "reason")));
	json_object_set_new(st->o, "state", json_string(out == CYCLE_FAILED || (degraded &&
	    out != CYCLE_ERROR) ? "degraded" : cycle_outcome_name(out)));
	json_object_set_new(st->o, "message", msg ? json_string(msg) : json_null());
	sd_status(dm, json_string_value(json_object_get(st->o, "state")), msg);
	json_object_set_new(st->o, "head", *dm->cycle.head ? json_string(dm->cycle.head) :
	    json_null());
	/* last good: the revision last applied in full, never one that failed;
	 * last valid: the one a cycle falls back to when the head's manifest is
	 * invalid; serving: per service, the revision whose spec runs */
	json_object_set_new(st->o, "last_good", journal_last_applied(dm->cycle.journal,
	    applied) == 1 ? json_string(applied) : json_null());
	json_object_set_new(st->o, "last_valid", *dm->cycle.good ?
	    json_string(dm->cycle.good) : json_null());
	json_object_set_new(st->o, "serving", serving_json(dm, st->o));
	json_object_set_new(st->o, "updated", json_integer(time(NULL)));
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		/* what `reconcilerctl sync --wait` watches for */
		json_object_set_new(st->o, "cycle", json_integer((json_int_t)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000));
	}
	json_object_set_new(st->o, "pid", json_integer(getpid()));
	{
		char *shown = url_redact(dm->cfg->repo);	/* no token on the page */

		json_object_set_new(st->o, "repo", json_string(shown));
		free(shown);
	}
	json_object_set_new(st->o, "branch", json_string(dm->cfg->branch));
	json_object_set_new(st->o, "host", fleet_host_json(&dm->cfg->host));
	json_object_set(st->o, "errors", st->errors);
	json_object_set(st->o, "quarantined", st->quarantined);
	text = json_dumps(st->o, JSON_INDENT(2));
	status_file(dm, text);
	pthread_mutex_lock(&dm->shared.mu);
	free(dm->shared.status_text);
	dm->shared.status_text = text;
	pthread_mutex_unlock(&dm->shared.mu);
	free(degraded);
	free(moving);
	json_decref(st->o);
	json_decref(st->errors);
	json_decref(st->quarantined);
}

/* What the status page shows of the revision in use. */
void
daemon__status_revision(struct daemon *dm, struct status *st, const struct manifest *m,
    const char *rev)
{
	char *subject = gitsrc_subject(dm->cycle.git, rev);

	json_object_set_new(st->o, "project", json_string(m->project));
	json_object_set_new(st->o, "revision", json_string(rev));
	json_object_set_new(st->o, "subject", subject ? json_string(subject) : json_null());
	free(subject);
}

/* Each service's container as the cycle leaves it, and what still differs
 * from the manifest ("drift": the plan now, quarantined services included);
 * after a rollout the engine is asked again. */
void
daemon__status_services(struct status *st, const struct world *w, int applied)
{
	const struct desired *ds = &w->ds;
	struct actual fresh = { 0 };
	const struct actual *a = &w->a;
	struct plan *now = NULL;
	char err[ERR_LEN];

	if (applied) {
		if (world_relist(w, &fresh, &now, err) < 0) {
			log_warn("status", "services not listed: %s", err);
			actual_release(&fresh);
			return;
		}
		a = &fresh;
	} else {
		diff_compute(&now, ds, a);
	}
	json_object_set_new(st->o, "services", actual_services_json_at(a, ds));
	if (now)
		json_object_set_new(st->o, "drift", plan_json(now));
	plan_free(now);
	actual_release(&fresh);
}

/* The last status: the one this process wrote (status.json may be stale
 * when the disk is full), else the file a previous process left. */
json_t *
daemon__status_now(struct daemon *dm)
{
	json_t *st = NULL;

	pthread_mutex_lock(&dm->shared.mu);
	if (dm->shared.status_text)
		st = json_loads(dm->shared.status_text, 0, NULL);
	pthread_mutex_unlock(&dm->shared.mu);
	if (!st) {
		char *p = daemon__state_path(dm, "status.json");

		st = json_load_file(p, 0, NULL);
		free(p);
	}
	if (!st)
		st = json_pack("{s:s}", "state", "starting");
	json_object_set_new(st, "daemon", json_pack("{s:i,s:b,s:I,s:s}", "pid", (int)getpid(),
	    "busy", dm->loop.busy, "started", (json_int_t)dm->loop.started, "version",
	    RECONCILER_VERSION));
	return st;
}

/* GET /: the status page, from what /v1/status and /v1/history answer. */
void
daemon__status_page(struct daemon *dm, struct http_response *r)
{
	struct statuspage_options o = STATUSPAGE_OPTIONS_INIT;
	char *p = daemon__state_path(dm, "journal.db"), err[ERR_LEN];
	json_t *st = daemon__status_now(dm), *hist = NULL;
	struct journal *j = NULL;
	struct buf page;

	/* more cycles than listed: each service's last rollout may be older */
	if (journal_open(&j, p, 1, err) == 0)
		hist = journal_history(j, 100);
	journal_close(j);
	o.now = (long long)time(NULL);
	buf_init(&page, 4u << 20);
	if (statuspage_render(&page, st, hist, &o) < 0) {
		daemon__json_body(r, 500, json_pack("{s:s}", "error", "status page: over 4 MiB"));
	} else {
		r->content_type = STATUSPAGE_CONTENT_TYPE;
		snprintf(r->extra_headers, sizeof(r->extra_headers), "%s", STATUSPAGE_HEADERS);
		buf_add(&r->body, page.data, page.len);
	}
	buf_release(&page);
	json_decref(hist);
	json_decref(st);
	free(p);
}
