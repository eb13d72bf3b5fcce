/*
 * heal: a service keeps running while a newer revision is quarantined for it.
 * The journal records per service the revision whose spec last passed its
 * gate (journal_serving); when the container of that spec is stopped it is
 * started again, and when it is gone it is created again from the manifest
 * at that revision, through the same pipeline and backend as a rollout (a
 * world at that revision, its plan cut down to the service). A heal, this one
 * or a start or create of the spec that already serves, never quarantines: a
 * failure counts toward flapping and is tried again.
 */
#include "daemon_int.h"
#include "converge.h"
#include "diag.h"
#include "diff.h"
#include "gitsrc.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "secrets.h"
#include "state.h"
#include "util.h"
#include "world.h"

#include <stdlib.h>
#include <string.h>

int
daemon__heal_is(struct daemon *dm, const struct plan_service *ps)
{
	char rev[41], hash[65];

	if (ps->action == PLAN_START)
		return 1;
	return ps->action == PLAN_CREATE && ps->hash &&
	    journal_serving_get(dm->cycle.journal, ps->service, rev, hash) == 1 &&
	    strcmp(hash, ps->hash) == 0;
}

/* status.json's "heal_failed": heals that failed this cycle (tried again). */
void
daemon__heal_failed(struct status *st, const char *revision, const char *service,
    const char *action, const char *reason)
{
	json_t *a = json_object_get(st->o, "heal_failed");

	if (!a) {
		a = json_array();
		json_object_set_new(st->o, "heal_failed", a);
	}
	json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "revision", revision, "service",
	    service, "action", action, "reason", reason ? reason : ""));
}

/* A service to serve again at its last good revision. */
struct target {
	const struct plan_service *ps;	/* in the cycle's plan */
	char rev[41];
	char hash[65];
	enum plan_action action;	/* PLAN_START or PLAN_CREATE */
	int done;
};

static const char *
state_of(const struct actual *a, const char *id)
{
	for (size_t i = 0; i < a->ncontainers; i++)
		if (strcmp(a->containers[i].c.id, id) == 0)
			return a->containers[i].c.state;
	return NULL;
}

/* What the service needs: PLAN_START when the container of its last good spec
 * is stopped, PLAN_CREATE when it has no container, else PLAN_IN_SYNC. */
static enum plan_action
need(struct daemon *dm, const struct actual *a, struct target *t)
{
	const struct plan_service *ps = t->ps;
	const char *state;

	if (journal_serving_get(dm->cycle.journal, ps->service, t->rev, t->hash) != 1) {
		/* nothing recorded (a journal older than the record): the
		 * container's own labels say which revision it is */
		if (!ps->id || !ps->revision || !ps->current_hash)
			return PLAN_IN_SYNC;
		snprintf(t->rev, sizeof(t->rev), "%s", ps->revision);
		snprintf(t->hash, sizeof(t->hash), "%s", ps->current_hash);
	}
	if (!ps->id)
		return PLAN_CREATE;
	/* a container of another spec is not the last good one: left alone */
	if (!ps->current_hash || strcmp(ps->current_hash, t->hash) != 0)
		return PLAN_IN_SYNC;
	state = state_of(a, ps->id);
	if (!state || strcmp(state, "running") == 0 || strcmp(state, "restarting") == 0)
		return PLAN_IN_SYNC;
	return PLAN_START;
}

static struct manifest *
manifest_at(struct daemon *dm, const char *rev, char *err)
{
	struct manifest *m = NULL;
	char *text = NULL, *label;
	struct diag d;
	size_t len;

	if (gitsrc_blob(dm->cycle.git, rev, dm->cfg->manifest, YT_MAX_SIZE, &text, &len,
	    err) < 0)
		return NULL;
	label = xasprintf("%s@%.12s", dm->cfg->manifest, rev);
	diag_init(&d, label);
	if (manifest_parse(&m, label, text, len, &d) < 0) {
		char *first = diag_first(&d);

		errf(err, "the manifest at %.12s is not valid: %s", rev, first);
		free(first);
	}
	diag_release(&d);
	free(label);
	free(text);
	return m;
}

/* The world's plan cut down to the targets at rev, each as the start or
 * create it needs; the rest is left as it is. Returns how many remain. */
static int
cut_plan(struct plan *p, struct target *t, size_t n, const char *rev)
{
	int kept = 0;

	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];
		struct target *tg = NULL;

		for (size_t k = 0; k < n && !tg; k++)
			if (!t[k].done && strcmp(t[k].rev, rev) == 0 &&
			    strcmp(t[k].ps->service, ps->service) == 0)
				tg = &t[k];
		if (tg && ps->action != PLAN_REMOVE && ps->action != PLAN_BLOCKED &&
		    ((tg->action == PLAN_CREATE && !ps->id) || (tg->action == PLAN_START &&
		    ps->id && strcmp(ps->id, tg->ps->id) == 0))) {
			ps->action = tg->action;
			kept++;
			continue;
		}
		ps->action = PLAN_IN_SYNC;
		json_array_clear(ps->extra_ids);
	}
	return kept;
}

/* The journal, the log and the status after the heals at rev. */
static void
heal_report(struct daemon *dm, int64_t id, const char *rev, const struct plan *p,
    struct target *t, size_t n, const struct converge_report *rep, struct status *st)
{
	for (size_t i = 0; i < rep->nservices; i++) {
		const struct converge_service *cs = &rep->services[i];
		const struct plan_service *ps = NULL;
		const char *hash = NULL;
		json_t *steps;

		if (cs->action != PLAN_START && cs->action != PLAN_CREATE)
			continue;
		for (size_t k = 0; k < p->nservices; k++)
			if (strcmp(p->services[k].service, cs->service) == 0)
				ps = &p->services[k];
		for (size_t k = 0; k < n; k++)
			if (strcmp(t[k].rev, rev) == 0 && strcmp(t[k].ps->service, cs->service) == 0)
				hash = cs->action == PLAN_START ? t[k].hash : ps ? ps->hash : NULL;
		steps = converge_steps_json(cs);
		journal_action(dm->cycle.journal, id, rev, cs->service, plan_action_name(cs->action),
		    ps ? ps->reasons : NULL, converge_outcome_name(cs->outcome), cs->reason, cs->ms,
		    steps);
		json_decref(steps);
		if (cs->outcome == CONVERGE_OK) {
			if (hash)
				journal_serving_set(dm->cycle.journal, cs->service, rev, hash);
			log_info("heal", "service=%s revision=%.12s action=%s outcome=ok",
			    cs->service, rev, plan_action_name(cs->action));
		} else {
			log_error("heal", "service=%s revision=%.12s action=%s outcome=%s reason=\"%s\" "
			    "(tried again next cycle)", cs->service, rev, plan_action_name(cs->action),
			    converge_outcome_name(cs->outcome), cs->reason ? cs->reason : "");
			daemon__heal_failed(st, rev, cs->service, plan_action_name(cs->action),
			    cs->reason ? cs->reason : converge_outcome_name(cs->outcome));
		}
	}
}

/* Serves the targets whose last good revision is rev; returns how many it
 * acted on. */
static int
heal_at(struct daemon *dm, struct target *t, size_t n, const char *rev,
    const struct secrets *sec, const struct docker_options *dopt, struct status *st)
{
	struct converge_options co = CONVERGE_OPTIONS_INIT;
	struct converge_report rep;
	struct secrets_git git = { NULL, 0 };
	struct secrets hsec = *sec;	/* with rev's own secrets kept in Git */
	struct manifest *m;
	struct world w;
	char err[ERR_LEN];
	int64_t id;
	int kept = 0;

	memset(&w, 0, sizeof(w));
	memset(&rep, 0, sizeof(rep));
	hsec.git = &git;
	if (!(m = manifest_at(dm, rev, err)) || daemon__git_secrets(dm, rev, m, &git, err) < 0 ||
	    world_load(&w, m, &hsec, backend_find(dm->cfg->backend), &dm->cfg->host, dopt, NULL,
	    err) < 0) {
		log_error("heal", "revision=%.12s cannot be read again to heal what it serves: %s",
		    rev, err);
		goto out;
	}
	if (!(kept = cut_plan(w.p, t, n, rev)))
		goto out;
	daemon__repeat_news(dm);	/* a heal is told, whatever the cycle repeats */
	for (size_t k = 0; k < n; k++) {
		if (t[k].done || strcmp(t[k].rev, rev) != 0)
			continue;
		log_info("heal", "service=%s revision=%.12s action=%s: its last good spec, while a "
		    "newer revision is quarantined for it", t[k].ps->service, rev,
		    plan_action_name(t[k].action));
		if (daemon__flap_note(dm, t[k].ps->service))
			log_warn("flapping", "service=%s healed %d times in %d minutes: no longer "
			    "healed until a new revision or a retry", t[k].ps->service, FLAP_LIMIT,
			    FLAP_WINDOW / 60000);
	}
	co.revision = rev;
	co.stop = &dm->shared.stop;
	co.docker = dopt;
	co.backend = w.backend;
	id = journal_cycle_begin(dm->cycle.journal, rev, "heal");
	if (converge_apply(w.d, &w.ds, w.p, &w.secrets, &co, &rep, err) < 0) {
		log_error("heal", "revision=%.12s: %s", rev, err);
		journal_cycle_end(dm->cycle.journal, id, "error", err);
		for (size_t k = 0; k < n; k++)
			if (!t[k].done && strcmp(t[k].rev, rev) == 0)
				daemon__heal_failed(st, rev, t[k].ps->service,
				    plan_action_name(t[k].action), err);
		goto out;
	}
	heal_report(dm, id, rev, w.p, t, n, &rep, st);
	journal_cycle_end(dm->cycle.journal, id, rep.failed ? "degraded" : "converged", NULL);
out:
	for (size_t k = 0; k < n; k++)
		if (strcmp(t[k].rev, rev) == 0)
			t[k].done = 1;
	converge_report_release(&rep);
	world_release(&w);
	secrets_git_release(&git);
	manifest_free(m);
	return kept;
}

int
daemon__heal_serving(struct daemon *dm, const struct plan *p, const unsigned char *held,
    const struct actual *a, const struct secrets *sec, const struct docker_options *dopt,
    struct status *st)
{
	struct target *t = xcalloc(p->nservices + 1, sizeof(*t));
	size_t n = 0;
	int acted = 0;

	for (size_t i = 0; i < p->nservices; i++) {
		if (!held[i] || daemon__flapping(dm, p->services[i].service))
			continue;
		t[n].ps = &p->services[i];
		if ((t[n].action = need(dm, a, &t[n])) != PLAN_IN_SYNC)
			n++;
	}
	for (size_t i = 0; i < n && !atomic_load(&dm->shared.stop); i++)
		if (!t[i].done)
			acted += heal_at(dm, t, n, t[i].rev, sec, dopt, st);
	free(t);
	return acted;
}
