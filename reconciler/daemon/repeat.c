/*
 * repeat: the log and the journal tell changes, not repetitions. A cycle
 * that comes to what the cycle before it came to (same revision, outcome,
 * errors, quarantine, blocked services) and did nothing is a repetition: its
 * lines are written at debug (a warning or an error is written again as a
 * reminder every REPEAT_REMIND_MS), and its journal row folds into the first
 * one's repeat count. A cycle someone asked for (a sync, a webhook, a
 * reload) is always logged.
 */
#include "daemon_int.h"
#include "converge.h"
#include "diff.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Triggers that repeat on their own: a cycle someone asked for is logged. */
static int
unasked(const char *trigger)
{
	return trigger && (strcmp(trigger, "poll") == 0 || strcmp(trigger, "event") == 0);
}

/* Whether converge will change something in the engine: then the cycle's
 * lines are news whatever it comes to. A blocked service, an anomaly that
 * converge only reports, change nothing. */
static int
plan_acts(const struct plan *p)
{
	for (size_t i = 0; i < p->nnetworks; i++)
		if (!p->networks[i].external)
			return 1;
	for (size_t i = 0; i < p->nvolumes; i++)
		if (!p->volumes[i].external)
			return 1;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct plan_service *ps = &p->services[i];

		if ((ps->action != PLAN_IN_SYNC && ps->action != PLAN_BLOCKED) ||
		    json_array_size(ps->extra_ids))
			return 1;
	}
	return 0;
}

void
daemon__repeat_begin(struct daemon *dm, const char *trigger)
{
	struct cycle_memo *m = &dm->cycle.memo;

	/* only after a cycle that changed nothing can this one repeat it */
	if (!m->sig || !unasked(trigger) || m->hold)
		return;
	m->hold = log_hold_new();
	log_hold_enter(m->hold);
}

void
daemon__repeat_acting(struct daemon *dm, const struct plan *p)
{
	struct cycle_memo *m = &dm->cycle.memo;

	if (m->hold && plan_acts(p))
		log_hold_release(m->hold, 0);	/* a rollout is told as it goes */
}

/* Work outside converge's plan (heal.c's restart of a quarantined service's
 * last good spec) is news too. */
void
daemon__repeat_news(struct daemon *dm)
{
	struct cycle_memo *m = &dm->cycle.memo;

	if (m->hold)
		log_hold_release(m->hold, 0);
}

static int
acted(const struct converge_report *rep)
{
	for (size_t i = 0; rep && i < rep->nservices; i++)
		if (rep->services[i].outcome == CONVERGE_OK ||
		    rep->services[i].outcome == CONVERGE_FAILED || rep->services[i].extras)
			return 1;
	return 0;
}

static void
add_json(struct buf *b, const char *name, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	buf_addf(b, "%s=%s\n", name, s ? s : "null");
	free(s);
}

/* What a cycle came to, as text: equal texts, equal outcomes. Only what does
 * not vary from one poll to the next: an anomaly by its kind, not its text
 * (which may carry a restart count). */
char *
daemon__repeat_signature(const struct cycle_seen *cs)
{
	struct buf b;
	size_t k;
	json_t *a;

	buf_init(&b, 0);
	buf_addf(&b, "revision=%s\noutcome=%s\n", cs->rev ? cs->rev : "-",
	    cycle_outcome_name(cs->out));
	add_json(&b, "errors", cs->st->errors);
	add_json(&b, "quarantined", cs->st->quarantined);
	/* a head that wait_for holds back, or that failed on a host waited for */
	add_json(&b, "waiting", json_object_get(cs->st->o, "waiting"));
	for (size_t i = 0; cs->p && i < cs->p->nservices; i++) {
		const struct plan_service *ps = &cs->p->services[i];

		if (ps->action == PLAN_IN_SYNC && !json_array_size(ps->anomalies))
			continue;
		buf_addf(&b, "plan %s %s", ps->service, plan_action_name(ps->action));
		json_array_foreach(ps->anomalies, k, a)
			buf_addf(&b, " %s", json_string_value(json_object_get(a, "kind")));
		buf_adds(&b, "\n");
	}
	for (size_t i = 0; cs->rep && i < cs->rep->nservices; i++) {
		const struct converge_service *r = &cs->rep->services[i];

		if (r->outcome != CONVERGE_SKIPPED || r->reason)
			buf_addf(&b, "rollout %s %s %s %s\n", r->service,
			    plan_action_name(r->action), converge_outcome_name(r->outcome),
			    r->reason ? r->reason : "");
	}
	return b.data ? buf_detach(&b, NULL) : xstrdup("");
}

enum repeat_verdict
daemon__repeat_verdict(const struct cycle_memo *m, const char *sig, int did, const char *trigger,
    enum cycle_outcome out, long long now)
{
	if (did || !m->sig || strcmp(m->sig, sig) != 0)
		return REPEAT_NEW;
	if (!unasked(trigger))
		return REPEAT_ASKED;
	if ((out == CYCLE_FAILED || out == CYCLE_ERROR) && now - m->loud >= REPEAT_REMIND_MS)
		return REPEAT_REMIND;
	return REPEAT_QUIET;
}

/* The journal: a repetition's row folds into the first row of its outcome. */
static void
journal_fold(struct daemon *dm, const struct cycle_seen *cs, enum repeat_verdict v)
{
	struct cycle_memo *m = &dm->cycle.memo;

	if (v == REPEAT_NEW)
		m->first = cs->journal_id;
	else if (cs->journal_id > 0 && m->first > 0)
		journal_cycle_repeat(dm->cycle.journal, m->first, cs->journal_id);
	else if (cs->journal_id > 0)
		m->first = cs->journal_id;
}

void
daemon__repeat_end(struct daemon *dm, const struct cycle_seen *cs)
{
	struct cycle_memo *m = &dm->cycle.memo;
	enum log_level lvl = cs->out == CYCLE_ERROR ? LOG_ERROR : cs->out == CYCLE_FAILED ?
	    LOG_WARN : LOG_INFO;
	char *sig = daemon__repeat_signature(cs), more[96] = "";
	long long now = now_ms();
	int did = acted(cs->rep);
	enum repeat_verdict v = daemon__repeat_verdict(m, sig, did, cs->trigger, cs->out, now);

	if (v == REPEAT_NEW) {
		free(m->sig);
		m->sig = NULL;
		if (!did) {	/* a cycle that acted is repeated by none */
			m->sig = sig;
			sig = NULL;
		}
		m->since = m->loud = now;
		m->repeats = 0;
	} else {
		m->repeats++;
		if (v == REPEAT_REMIND || v == REPEAT_ASKED)
			snprintf(more, sizeof(more), " unchanged=%llds repeats=%ld",
			    (now - m->since) / 1000, m->repeats);
		if (v != REPEAT_QUIET)
			m->loud = now;
	}
	log_msg(v == REPEAT_QUIET ? LOG_DEBUG : lvl, "cycle", "trigger=%s revision=%.12s "
	    "outcome=%s%s", cs->trigger, cs->rev ? cs->rev : "-", cycle_outcome_name(cs->out),
	    more);
	journal_fold(dm, cs, v);
	if (m->hold) {
		log_hold_release(m->hold, v == REPEAT_QUIET);
		log_hold_enter(NULL);
		log_hold_free(m->hold);
		m->hold = NULL;
	}
	free(sig);
}

void
daemon__repeat_free(struct daemon *dm)
{
	free(dm->cycle.memo.sig);
	dm->cycle.memo.sig = NULL;
	if (dm->cycle.memo.hold) {
		log_hold_enter(NULL);
		log_hold_free(dm->cycle.memo.hold);
		dm->cycle.memo.hold = NULL;
	}
}
