/*
 * alerts: the rollout notifications people act on. Each carries the service,
 * the image before and after, the revision and its subject, and the reason
 * (notify_detail). A failure of (revision, service) is told once, reminded
 * every ALERT_REMIND_MS while the cycle keeps seeing it, and `recovered` is
 * told once when the service is healthy again. The table of open alerts is
 * the cycle's (dm->cycle.alerts), in memory: after a restart the quarantined
 * pairs the journal holds are taken as told (no second message), and their
 * recovery is still told.
 */
#include "daemon_int.h"
#include "converge.h"
#include "diff.h"
#include "gitsrc.h"
#include "log.h"
#include "manifest.h"
#include "notify.h"
#include "state.h"
#include "util.h"
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct alert *
alert_find(struct alerts *a, const char *service)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].service, service) == 0)
			return &a->v[i];
	return NULL;
}

static void
alert_set(struct alert *e, const char *revision, const char *reason, long long now)
{
	snprintf(e->revision, sizeof(e->revision), "%s", revision);
	free(e->reason);
	e->reason = xstrdup(reason ? reason : "");
	e->since = e->told = now;
}

/* One open alert per service: a failure at a new revision replaces the one
 * before (the service failed again; nothing recovered). adopt: a failure
 * found held (the quarantine), told before unless an alert says otherwise. */
enum alert_verdict
daemon__alert_failing(struct alerts *a, const char *revision, const char *service,
    const char *reason, int adopt, long long now, long long remind_ms)
{
	struct alert *e = alert_find(a, service);

	if (e && strcmp(e->revision, revision) == 0) {
		if (now - e->told < remind_ms)
			return ALERT_QUIET;
		e->told = now;
		return ALERT_REMIND;
	}
	if (!e) {
		a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
		e = &a->v[a->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->service, sizeof(e->service), "%s", service);
	}
	alert_set(e, revision, reason, now);
	return adopt ? ALERT_QUIET : ALERT_NEW;
}

/* 1 when service had an open alert, now closed: its revision into revision,
 * its reason handed to the caller. */
int
daemon__alert_clear(struct alerts *a, const char *service, char *revision, size_t len,
    char **reason)
{
	struct alert *e = alert_find(a, service);

	if (!e)
		return 0;
	snprintf(revision, len, "%s", e->revision);
	*reason = e->reason;
	*e = a->v[--a->n];
	return 1;
}

void
daemon__alerts_release(struct alerts *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].reason);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* ALERT_REMIND_MS, or RECONCILER_TEST_REMIND_MS (ms) for tests. */
static long long
remind_ms(void)
{
	const char *s = getenv("RECONCILER_TEST_REMIND_MS");
	char *end;
	long long v;

	if (!s || !*s)
		return ALERT_REMIND_MS;
	v = strtoll(s, &end, 10);
	return *end || v < 0 ? ALERT_REMIND_MS : v;
}

/* What the revision asks service to run. */
static const char *
new_image(const struct alert_cycle *ac, const char *service)
{
	for (size_t i = 0; i < ac->w->ds.nservices; i++)
		if (strcmp(ac->w->ds.services[i].svc->name, service) == 0)
			return ac->w->ds.services[i].svc->image;
	return NULL;
}

static const struct plan_service *
plan_entry(const struct plan *p, const char *service)
{
	for (size_t i = 0; p && i < p->nservices; i++)
		if (strcmp(p->services[i].service, service) == 0)
			return &p->services[i];
	return NULL;
}

/* What ran before the cycle acted: the container the plan replaces, else
 * any of the service's. */
static const char *
old_image(const struct alert_cycle *ac, const char *service)
{
	const struct plan_service *ps = plan_entry(ac->w->p, service);
	const char *any = NULL;

	for (size_t i = 0; i < ac->w->a.ncontainers; i++) {
		const struct actual_container *c = &ac->w->a.containers[i];

		if (!c->service || strcmp(c->service, service) != 0)
			continue;
		if (ps && ps->id && c->c.id && strcmp(ps->id, c->c.id) == 0)
			return c->c.image;
		if (!any)
			any = c->c.image;
	}
	return any;
}

/* Why the plan acts on service: its first reason. */
static const char *
plan_reason(const struct alert_cycle *ac, const char *service)
{
	const struct plan_service *ps = plan_entry(ac->w->p, service);

	return ps ? json_string_value(json_object_get(json_array_get(ps->reasons, 0),
	    "message")) : NULL;
}

static void
tell_recovered(struct daemon *dm, const struct alert_cycle *ac, const char *service,
    const char *subject)
{
	char rev[41], *reason = NULL, *msg;
	struct notify_detail d = { 0 };

	if (!daemon__alert_clear(&dm->cycle.alerts, service, rev, sizeof(rev), &reason))
		return;
	d.subject = subject;
	d.new_image = new_image(ac, service);
	d.reason = reason;
	msg = xasprintf("healthy again, running %s (it failed at %.12s: %s)",
	    d.new_image ? d.new_image : "?", rev, reason);
	log_info("alerts", "service=%s recovered at %.12s (failed at %.12s)", service, ac->rev, rev);
	notify_event_detail(dm->notifier, ac->m, ac->sec, "recovered", ac->rev, service, msg, &d);
	free(msg);
	free(reason);
}

static void
tell_failed(struct daemon *dm, const struct alert_cycle *ac, size_t i, const char *subject)
{
	const struct converge_service *cs = &ac->rep->services[i];
	struct notify_detail d = { subject, old_image(ac, cs->service),
	    new_image(ac, cs->service), cs->reason, 0 };
	enum alert_verdict v = daemon__alert_failing(&dm->cycle.alerts, ac->rev, cs->service,
	    cs->reason, 0, now_ms(), remind_ms());
	char *msg;

	if (v == ALERT_QUIET) {
		log_debug("alerts", "service=%s failed again at %.12s: told already", cs->service,
		    ac->rev);
		return;
	}
	d.reminder = v == ALERT_REMIND;
	msg = xasprintf("%srolled back: %s", d.reminder ? "still failing, " : "",
	    cs->reason ? cs->reason : "?");
	notify_event_detail(dm->notifier, ac->m, ac->sec, "rollout_failed", ac->rev, cs->service,
	    msg, &d);
	if (!ac->heal[i] && v == ALERT_NEW)
		notify_event_detail(dm->notifier, ac->m, ac->sec, "revision_quarantined", ac->rev,
		    cs->service, "not retried until a new commit or `reconcilerctl sync --retry`",
		    &d);
	free(msg);
}

void
daemon__alerts_rollout(struct daemon *dm, const struct alert_cycle *ac)
{
	char *subject = gitsrc_subject(dm->cycle.git, ac->rev);

	for (size_t i = 0; i < ac->rep->nservices; i++) {
		const struct converge_service *cs = &ac->rep->services[i];

		if (cs->outcome == CONVERGE_FAILED) {
			tell_failed(dm, ac, i, subject);
			continue;
		}
		if (cs->outcome != CONVERGE_OK)
			continue;
		if (cs->action == PLAN_CREATE || cs->action == PLAN_RECREATE) {
			struct notify_detail d = { subject, old_image(ac, cs->service),
			    new_image(ac, cs->service), plan_reason(ac, cs->service), 0 };
			char *msg = xasprintf("healthy: %s", cs->service);

			notify_event_detail(dm->notifier, ac->m, ac->sec, "rollout_succeeded",
			    ac->rev, cs->service, msg, &d);
			free(msg);
		}
		if (cs->action == PLAN_CREATE || cs->action == PLAN_RECREATE ||
		    cs->action == PLAN_START)
			tell_recovered(dm, ac, cs->service, subject);
	}
	free(subject);
}

static int
held(json_t *quarantined, const char *service)
{
	for (size_t i = 0; i < json_array_size(quarantined); i++) {
		const char *s = json_string_value(json_object_get(json_array_get(quarantined, i),
		    "service"));

		if (s && strcmp(s, service) == 0)
			return 1;
	}
	return 0;
}

/* Healthy at this cycle: in sync, no anomaly, not held, not failed now. */
static int
healthy(const struct alert_cycle *ac, const struct plan_service *ps)
{
	if (ps->action != PLAN_IN_SYNC || json_array_size(ps->anomalies) ||
	    held(ac->quarantined, ps->service))
		return 0;
	for (size_t i = 0; ac->rep && i < ac->rep->nservices; i++)
		if (strcmp(ac->rep->services[i].service, ps->service) == 0 &&
		    ac->rep->services[i].outcome != CONVERGE_OK)
			return 0;
	return 1;
}

static void
remind(struct daemon *dm, const struct alert_cycle *ac, json_t *q, long long now,
    long long every)
{
	const char *rev = json_string_value(json_object_get(q, "revision"));
	const char *svc = json_string_value(json_object_get(q, "service"));
	const char *why = json_string_value(json_object_get(q, "reason"));
	struct notify_detail d = { NULL, NULL, NULL, why, 1 };
	struct alert *e;
	char *msg, *subject;

	if (!rev || !svc)
		return;
	/* flapping is held, not told (selfheal.c logs it): no alert of its own */
	if (why && strncmp(why, "flapping: ", 10) == 0 && !alert_find(&dm->cycle.alerts, svc))
		return;
	if (daemon__alert_failing(&dm->cycle.alerts, rev, svc, why, 1, now, every) != ALERT_REMIND)
		return;
	e = alert_find(&dm->cycle.alerts, svc);
	subject = gitsrc_subject(dm->cycle.git, rev);
	d.subject = subject;
	d.old_image = old_image(ac, svc);
	d.new_image = strcmp(rev, ac->rev) == 0 ? new_image(ac, svc) : NULL;
	msg = xasprintf("still failing (for %lld min): %s", (now - e->since) / 60000,
	    why ? why : "?");
	notify_event_detail(dm->notifier, ac->m, ac->sec, "rollout_failed", rev, svc, msg, &d);
	free(msg);
	free(subject);
}

void
daemon__alerts_watch(struct daemon *dm, const struct alert_cycle *ac)
{
	struct alerts *a = &dm->cycle.alerts;
	long long now = now_ms(), every = remind_ms();
	char *subject = NULL;

	for (size_t i = 0; i < json_array_size(ac->quarantined); i++)
		remind(dm, ac, json_array_get(ac->quarantined, i), now, every);
	for (size_t i = 0; i < a->n; ) {
		const struct plan_service *ps = plan_entry(ac->w->p, a->v[i].service);
		char rev[41], *reason = NULL;

		if (!ps || ps->action == PLAN_REMOVE) {
			log_info("alerts", "service=%s is no longer in the manifest: its failure at "
			    "%.12s is forgotten", a->v[i].service, a->v[i].revision);
			daemon__alert_clear(a, a->v[i].service, rev, sizeof(rev), &reason);
			free(reason);
			continue;
		}
		if (!healthy(ac, ps)) {
			i++;
			continue;
		}
		if (!subject)
			subject = gitsrc_subject(dm->cycle.git, ac->rev);
		tell_recovered(dm, ac, ps->service, subject);	/* a->v[i] is now another */
	}
	free(subject);
}
