/*
 * cycle: one reconcile cycle, in the calling thread (a pool thread under the
 * loop, the main thread for --once): Git and the manifest, desired and
 * actual state, the plan, the quarantine, converge, the journal, the status.
 * `reconcilerd -n` checks the first step alone.
 */
#include "daemon_int.h"
#include "converge.h"
#include "diff.h"
#include "docker.h"
#include "fleet.h"
#include "gitsrc.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "notify.h"
#include "secrets.h"
#include "state.h"
#include "util.h"
#include "world.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT_DOWN_NOTIFY	300000		/* ms of Git failures before telling anyone */

/* After a good rollout: images this reconciler deployed that no service uses
 * any more go, except the previous one per service (a revert is then fast).
 * An image some container still uses is refused by the engine (409) and
 * kept for a later try. */
static void
prune_images(struct daemon *dm, struct docker *d, const struct desired *ds)
{
	json_t *stale, *it;
	size_t i;

	for (i = 0; i < ds->nservices; i++)
		journal_image_used(dm->cycle.journal, ds->services[i].svc->name,
		    ds->services[i].svc->image);
	stale = journal_images_stale(dm->cycle.journal, 2);
	json_array_foreach(stale, i, it) {
		const char *svc = json_string_value(json_object_get(it, "service"));
		const char *img = json_string_value(json_object_get(it, "image"));
		char err[ERR_LEN], *path = xasprintf("/images/%s", img);
		long status = 0;
		int in_use = 0;

		for (size_t k = 0; k < ds->nservices; k++)
			if (strcmp(ds->services[k].svc->image, img) == 0)
				in_use = 1;
		if (!in_use && (docker_call(d, "DELETE", path, NULL, NULL, &status, err) >= 0 ||
		    status == 404)) {
			journal_image_forget(dm->cycle.journal, svc, img);
			log_info("prune", "service=%s image=%s removed", svc, img);
		} else if (!in_use && status != 409) {
			log_warn("prune", "service=%s image=%s: %s", svc, img, err);
		}
		free(path);
	}
	json_decref(stale);
}

/* Notifications: one message per change of state, never one per cycle. */
static void
notify_git(struct daemon *dm, const struct manifest *m, const struct secrets *sec, int failed,
    const char *why)
{
	if (!failed) {
		if (dm->cycle.git_down_notified)
			notify_event(dm->notifier, m, sec, "git_unreachable", NULL, NULL,
			    "the Git remote answers again");
		dm->cycle.git_down_since = 0;
		dm->cycle.git_down_notified = 0;
		return;
	}
	if (!dm->cycle.git_down_since)
		dm->cycle.git_down_since = now_ms();
	/* a remote that stays down for long, not one missed poll */
	if (!dm->cycle.git_down_notified &&
	    now_ms() - dm->cycle.git_down_since >= GIT_DOWN_NOTIFY) {
		notify_event(dm->notifier, m, sec, "git_unreachable", NULL, NULL, why ? why :
		    "the Git remote does not answer");
		dm->cycle.git_down_notified = 1;
	}
}

/* Reads and validates the manifest at commit, and decrypts its secrets kept
 * in Git into gs (NULL: checked only); errors go to the status. */
static struct manifest *
manifest_at(struct daemon *dm, const char *commit, struct status *st, struct secrets_git *gs)
{
	struct manifest *m = NULL;
	char err[ERR_LEN], *text = NULL, *label;
	struct diag d;
	size_t len;

	if (daemon__manifest_text(dm, commit, &text, &len, err) < 0) {
		daemon__status_error(st, "revision %.12s: %s", commit, err);
		log_error("git", "revision %.12s: %s", commit, err);
		return NULL;
	}
	label = xasprintf("%s@%.12s", dm->cfg->manifest, commit);
	diag_init(&d, label);
	if (manifest_parse(&m, label, text, len, &d) < 0) {
		char *first = diag_first(&d);

		daemon__status_error(st, "invalid manifest at %.12s: %s%s", commit, first,
		    d.n > 1 ? " (and more)" : "");
		for (size_t i = 0; i < d.n; i++)
			log_error("manifest", "%s:%d:%d: %s: %s", label, d.v[i].line, d.v[i].col,
			    d.v[i].path, d.v[i].msg);
		free(first);
	} else if (daemon__git_secrets(dm, commit, m, gs, err) < 0) {
		daemon__status_error(st, "invalid revision %.12s: %s", commit, err);
		log_error("manifest", "revision %.12s: %s", commit, err);
		manifest_free(m);
		m = NULL;
	} else {
		daemon__manifest_keep(dm, commit, text, len);
	}
	diag_release(&d);
	free(label);
	free(text);
	return m;
}

/* One cycle's working set: each step reads what the steps before it left. */
struct cycle {
	struct daemon *dm;
	const char *trigger;
	struct status st;
	struct manifest *m;
	struct secrets sec;
	struct secrets_git git;	/* c->m's secrets kept in Git, decrypted; sec.git */
	struct docker_options dopt;
	struct world w;		/* the pipeline's desired, actual and plan */
	struct docker *d;	/* w's engine handle, once loaded */
	struct plan *p;		/* w's plan, once loaded */
	struct converge_report rep;
	enum cycle_outcome out;
	char commit[41];	/* the branch head, "" when Git failed */
	const char *rev;	/* the revision applied: commit, or the last good one */
	char kept[41];		/* the revision kept while wait_for holds the head back */
	int64_t id;		/* the journal's row for this cycle, once converging */
	int fetched, nquar, git_failed, engine_failed, notify_pending, applied;
	int desired;		/* w's desired state was built (the snapshot's) */
	int notify_unverified;	/* the head was refused for its signature, first time */
	/* a backup that cannot be scheduled is told in the status's errors, but
	 * the services' outcome is not an error for it (no backoff, /readyz) */
	json_t *bkerrors;
};

/* sync --retry: quarantined pairs and flapping marks are cleared first. The
 * request is taken and cleared in one step: one that comes meanwhile is not
 * lost but waits for the next cycle. */
static void
cycle_retry(struct cycle *c)
{
	struct daemon *dm = c->dm;
	int n, held;

	if (!atomic_exchange(&dm->shared.retry, 0))
		return;
	daemon__flaps_clear(dm);
	held = daemon__held_clear(dm);
	if ((n = journal_clear_failures(dm->cycle.journal)) < 0) {
		log_error("retry", "the journal's quarantined pairs cannot be cleared (it cannot "
		    "be written); only the %d held in memory are", held);
		n = 0;
	}
	n += held;
	log_info("retry", "cleared %d quarantined revision/service pair%s", n,
	    n == 1 ? "" : "s");
}

/* 1. Git: the head, or the last good revision when the remote is down. */
static void
cycle_git(struct cycle *c)
{
	struct daemon *dm = c->dm;
	char err[ERR_LEN];

	if (gitsrc_poll(dm->cycle.git, dm->cfg->branch, c->commit, &c->fetched, err) < 0) {
		c->git_failed = 1;
		daemon__status_error(&c->st, "git: %s", err);
		log_error("git", "%s", err);
		c->commit[0] = '\0';
		return;
	}
	if (gitsrc_repaired(dm->cycle.git)) {
		daemon__repeat_news(dm);
		log_warn("git", "%s: re-cloned, the damaged clone is removed",
		    gitsrc_repaired(dm->cycle.git));
	}
	if (strcmp(c->commit, dm->cycle.head) != 0) {
		char *subject = gitsrc_subject(dm->cycle.git, c->commit);

		log_info("git", "head=%.12s fetched=%s subject=\"%s\"", c->commit,
		    c->fetched ? "yes" : "no", subject ? subject : "");
		journal_revision_seen(dm->cycle.journal, c->commit, subject);
		free(subject);
	}
	snprintf(dm->cycle.head, sizeof(dm->cycle.head), "%s", c->commit);
	/* a new revision gets a fresh chance */
	daemon__flaps_revision(dm, c->commit);
}

/* 2b. Staged rollout: a new head waits until the hosts of wait_for serve it
 * healthy; meanwhile (and forever when it failed there) this host keeps the
 * revision it applied last. 0 go on with c->m, -1 nothing to keep yet. */
static int
cycle_wait_for(struct cycle *c)
{
	struct daemon *dm = c->dm;
	char applied[41] = "", why[1024];
	struct manifest *kept;
	int v;

	if (!dm->cfg->nwait_for || c->rev != c->commit ||
	    (journal_last_applied(dm->cycle.journal, applied) == 1 &&
	    strcmp(applied, c->commit) == 0))
		return 0;
	v = fleet_approved(c->m, dm->cfg->wait_for, dm->cfg->nwait_for, c->commit, FLEET_TIMEOUT_MS, why,
	    sizeof(why));
	if (v == FLEET_GO) {
		log_info("canary", "revision=%.12s %s: rolling it out here", c->commit, why);
		return 0;
	}
	json_object_set_new(c->st.o, "waiting", json_pack("{s:s,s:s,s:b}", "revision", c->commit,
	    "reason", why, "failed", v == FLEET_FAILED));
	log_msg(v == FLEET_FAILED ? LOG_WARN : LOG_INFO, "canary", "revision=%.12s %s: %s",
	    c->commit, v == FLEET_FAILED ? "never rolled out here" : "waits", why);
	if (!*applied) {
		daemon__status_error(&c->st, "revision %.12s waits for the hosts of wait_for, and "
		    "none was applied here before: %s", c->commit, why);
		return -1;
	}
	if (!(kept = manifest_at(dm, applied, &c->st, &c->git)))
		return -1;
	manifest_free(c->m);
	c->m = kept;
	snprintf(c->kept, sizeof(c->kept), "%s", applied);
	c->rev = c->kept;
	return 0;
}

/* 2. The manifest at the head; an invalid one changes nothing. */
static int
cycle_manifest(struct cycle *c)
{
	struct daemon *dm = c->dm;
	/* a head no trusted signer signed is never read: the last good runs */
	int untrusted = *c->commit && daemon__verify(dm, c->commit, &c->st, &c->notify_unverified)
	    < 0;

	if (*c->commit && !untrusted && (c->m = manifest_at(dm, c->commit, &c->st, &c->git))) {
		c->rev = c->commit;
	} else {
		if (*c->commit && !untrusted) {
			journal_revision_status(dm->cycle.journal, c->commit, "invalid",
			    json_string_value(json_array_get(c->st.errors, 0)));
			daemon__commit_status(dm, c->commit, "failure",
			    json_string_value(json_array_get(c->st.errors, 0)));
		}
		if (!*dm->cycle.good || strcmp(dm->cycle.good, c->commit) == 0 ||
		    !(c->m = manifest_at(dm, dm->cycle.good, &c->st, &c->git)))
			return -1;
		c->rev = dm->cycle.good;
		log_warn("cycle", "keeping the last good revision %.12s", c->rev);
		if (*c->commit && !untrusted &&
		    strcmp(dm->cycle.notified_invalid, c->commit) != 0) {
			snprintf(dm->cycle.notified_invalid, sizeof(dm->cycle.notified_invalid),
			    "%s", c->commit);
			c->notify_pending = 1;
		}
	}
	if (cycle_wait_for(c) < 0)
		return -1;
	pthread_mutex_lock(&dm->shared.mu);
	snprintf(dm->shared.project, sizeof(dm->shared.project), "%s", c->m->project);
	pthread_mutex_unlock(&dm->shared.mu);
	daemon__status_revision(dm, &c->st, c->m, c->rev);
	/* backups run whatever becomes of the services (a missing secret) */
	daemon__bk_sched_build(dm, c->m, c->bkerrors);
	return 0;
}

/* 3. Desired and actual state, and the plan. First the secrets, which the
 * notifications need too. */
static int
cycle_secrets(struct cycle *c)
{
	struct daemon *dm = c->dm;
	char err[ERR_LEN], *key = daemon__state_path(dm, "hmac.key");
	int rc = secrets_open(&c->sec, dm->cfg->secrets_dir, key, 1, err);

	free(key);
	if (rc < 0) {
		daemon__status_error(&c->st, "%s", err);
		return -1;
	}
	c->sec.git = &c->git;
	if (c->notify_pending || c->notify_unverified)
		notify_event(dm->notifier, c->m, &c->sec, c->notify_pending ? "manifest_invalid" :
		    "revision_unverified", c->commit, NULL,
		    json_string_value(json_array_get(c->st.errors, 0)));
	notify_git(dm, c->m, &c->sec, c->git_failed, json_array_size(c->st.errors) ?
	    json_string_value(json_array_get(c->st.errors, 0)) : NULL);
	return 0;
}

/* The engine handle the cycles keep: no new connection or version call per
 * cycle. Opened again when the config names another engine or timeout;
 * NULL when it cannot be opened (world_load then says why). The version it
 * learnt goes into every handle the cycle opens (converge's workers) and the
 * diffs'. */
static struct docker *
cycle_engine(struct daemon *dm, struct docker_options *o)
{
	char err[ERR_LEN], *key = xasprintf("%s|%ld", o->host ? o->host : "", o->timeout_ms);

	if (dm->cycle.engine && strcmp(dm->cycle.engine_for, key) != 0) {
		docker_free(dm->cycle.engine);
		dm->cycle.engine = NULL;
	}
	free(dm->cycle.engine_for);
	dm->cycle.engine_for = key;
	if (!dm->cycle.engine && docker_open(&dm->cycle.engine, o, err) < 0)
		dm->cycle.engine = NULL;
	pthread_mutex_lock(&dm->shared.mu);
	snprintf(o->api, sizeof(o->api), "%s", dm->shared.engine_api);
	pthread_mutex_unlock(&dm->shared.mu);
	return dm->cycle.engine;
}

/* The manifest and the secrets give the desired state, the engine the
 * actual one, and the diff of the two the plan. */
static int
cycle_plan(struct cycle *c)
{
	struct daemon *dm = c->dm;
	char err[ERR_LEN];

	enum world_stage stage = WORLD_OK;
	const struct backend_ops *b = backend_find(dm->cfg->backend);
	struct docker *d;
	int rc;

	c->dopt.host = dm->cfg->docker_host;
	c->dopt.timeout_ms = dm->cfg->engine_timeout;
	if ((d = cycle_engine(dm, &c->dopt)))
		rc = world_load_on(&c->w, c->m, &c->sec, b, &dm->cfg->host, d, &stage, err);
	else	/* it says why at the right step */
		rc = world_load(&c->w, c->m, &c->sec, b, &dm->cfg->host, &c->dopt, &stage, err);
	c->desired = stage != WORLD_SPEC;
	if (rc < 0 && stage == WORLD_SPEC) {
		daemon__status_error(&c->st, "revision %.12s cannot be applied: %s", c->rev, err);
		log_error("cycle", "revision %.12s cannot be applied: %s", c->rev, err);
		if (c->rev == c->commit)
			daemon__commit_status(dm, c->commit, "failure", err);
		return -1;
	}
	if (c->rev == c->commit)
		daemon__save_good(dm, c->commit);
	if (stage == WORLD_ENGINE) {
		c->engine_failed = 1;
		daemon__status_error(&c->st, "engine: %s", err);
		log_error("engine", "%s", err);
		return -1;
	}
	c->d = c->w.d;
	c->p = c->w.p;
	/* the lists' answers said the engine's version: no handle asks again */
	pthread_mutex_lock(&dm->shared.mu);
	snprintf(dm->shared.engine_api, sizeof(dm->shared.engine_api), "%s",
	    docker_api_version(c->d));
	snprintf(c->dopt.api, sizeof(c->dopt.api), "%s", dm->shared.engine_api);
	pthread_mutex_unlock(&dm->shared.mu);
	return 0;
}

/* A failure the journal could not record is quarantined all the same. */
static const char held_note[] = " (not recorded in the journal: held in memory until it is, "
    "or until `reconcilerctl sync --retry`)";

/* 1 with the reason (caller frees) when (c->rev, service) is quarantined: in
 * the journal, or held in memory when the journal could not record it. */
static int
quarantined(struct cycle *c, const char *service, char **reason)
{
	char *held;

	if (journal_quarantined(c->dm->cycle.journal, c->rev, service, reason) == 1)
		return 1;
	free(*reason);
	*reason = NULL;
	if (!daemon__held_find(c->dm, c->rev, service, &held))
		return 0;
	*reason = xasprintf("%s%s", held, held_note);
	free(held);
	return 1;
}

/* 4. A (revision, service) that failed its gate is not retried, but the last
 * good spec of the service keeps running (heal.c); what runs in sync is
 * recorded as serving. A heal (a start, or a create of the spec that serves)
 * is never held by a quarantine. */
static void
cycle_quarantine(struct cycle *c)
{
	struct daemon *dm = c->dm;
	struct plan *p = c->p;
	unsigned char *held = xcalloc(p->nservices + 1, 1);

	daemon__held_flush(dm);
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];
		char *reason = NULL;

		if (ps->action == PLAN_IN_SYNC && ps->hash && !json_array_size(ps->anomalies))
			journal_serving_set(dm->cycle.journal, ps->service, c->rev, ps->hash);
		if ((ps->action == PLAN_CREATE || ps->action == PLAN_RECREATE) &&
		    !daemon__heal_is(dm, ps) && quarantined(c, ps->service, &reason)) {
			json_array_append_new(c->st.quarantined, json_pack("{s:s,s:s,s:s}",
			    "revision", c->rev, "service", ps->service, "reason", reason));
			ps->action = PLAN_IN_SYNC;
			c->nquar++;
			held[i] = 1;
		}
		free(reason);
	}
	/* A flapping service is not healed (started or created again). */
	c->nquar += daemon__flaps_hold(dm, p, c->rev, c->st.quarantined);
	/* Every heal counts; too many in the window and the service is left alone. */
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];

		if ((ps->action == PLAN_START || ps->action == PLAN_CREATE) &&
		    daemon__heal_is(dm, ps) && daemon__flap_note(dm, ps->service))
			log_warn("flapping", "service=%s healed %d times in %d minutes: no longer "
			    "healed until a new revision or a retry", ps->service, FLAP_LIMIT,
			    FLAP_WINDOW / 60000);
	}
	if (daemon__heal_serving(dm, p, held, &c->w.a, &c->sec, &c->dopt, &c->st) > 0)
		c->applied = 1;	/* the status lists the engine again */
	free(held);
}

/* 5. Converge. */
static int
cycle_converge(struct cycle *c)
{
	struct converge_options co = CONVERGE_OPTIONS_INIT;
	struct daemon *dm = c->dm;
	struct fleet_wait fw = { c->m, dm->cfg->host.name, c->rev, FLEET_TIMEOUT_MS, NULL };
	struct bk_hook hook;
	char err[ERR_LEN];
	int rc;

	daemon__status_converging(dm, c->p, c->rev);
	if (c->rev == c->commit)
		daemon__commit_status(dm, c->commit, "pending", "deploying");
	c->id = journal_cycle_begin(dm->cycle.journal, c->rev, c->trigger);
	co.revision = c->rev;
	co.stop = &dm->shared.stop;
	co.crash_at = dm->cycle.crash_at;
	co.concurrency = dm->cfg->concurrency;
	co.docker = &c->dopt;
	co.backend = c->w.backend;
	c->applied = 1;
	hook.dm = dm;
	hook.state_dir = dm->cfg->state_dir;	/* a reload waits for the cycle */
	hook.m = c->m;
	hook.sec = &c->sec;
	co.backup = daemon__bk_before_deploy;
	co.backup_payload = &hook;
	co.moved_served = fleet_moved_served;
	co.moved_payload = &fw;
	rc = converge_apply(c->d, &c->w.ds, c->p, &c->w.secrets, &co, &c->rep, err);
	fleet_wait_release(&fw);
	if (rc < 0) {
		daemon__status_error(&c->st, "converge: %s", err);
		log_error("cycle", "%s", err);
		journal_cycle_end(dm->cycle.journal, c->id, "error", err);
		return -1;
	}
	return 0;
}

/* The plan entry of a service converge reported on. */
static const struct plan_service *
planned(const struct plan *p, const char *service)
{
	for (size_t k = 0; k < p->nservices; k++)
		if (strcmp(p->services[k].service, service) == 0)
			return &p->services[k];
	return NULL;
}

/* A failure to hold at this revision: a rollout that failed, a service held
 * back because its dependency failed (rolling it out next cycle against the
 * old dependency is not what the commit asked for), or one whose
 * backup_before_deploy failed (trying every poll would take a dump each time;
 * a fix and a retry is the way). */
static int
to_hold(const struct converge_service *cs)
{
	return cs->outcome == CONVERGE_FAILED || (cs->outcome == CONVERGE_BLOCKED &&
	    cs->reason && (strncmp(cs->reason, "dependency '", 12) == 0 ||
	    strncmp(cs->reason, "backup '", 8) == 0));
}

/* One failure held: in the journal, else in memory; and in the status. */
static void
hold(struct cycle *c, const struct converge_service *cs)
{
	char *reason = xstrdup(cs->reason ? cs->reason : "");

	if (journal_fail(c->dm->cycle.journal, c->rev, cs->service, cs->reason) < 0) {
		daemon__held_add(c->dm, c->rev, cs->service, cs->reason);
		free(reason);
		reason = xasprintf("%s%s", cs->reason ? cs->reason : "", held_note);
	}
	json_array_append_new(c->st.quarantined, json_pack("{s:s,s:s,s:s}", "revision", c->rev,
	    "service", cs->service, "reason", reason));
	free(reason);
}

/* status.json's "moving": the services placed on another host now whose
 * container here waits for that host to serve them. */
static json_t *
moving(struct status *st)
{
	json_t *a = json_object_get(st->o, "moving");

	if (!a) {
		a = json_array();
		json_object_set_new(st->o, "moving", a);
	}
	return a;
}

/* What converge did: notified, journaled service by service, what passed
 * its gate recorded as serving, a failure quarantined, unless it was a heal
 * (tried again, and counted toward flapping); the outcome. */
static void
cycle_journal(struct cycle *c)
{
	struct daemon *dm = c->dm;
	const struct plan *p = c->p;
	unsigned char *heal = xcalloc(c->rep.nservices + 1, 1);
	int nfailed = 0;

	for (size_t i = 0; i < c->rep.nservices; i++) {
		const struct plan_service *ps = planned(p, c->rep.services[i].service);

		heal[i] = ps && daemon__heal_is(dm, ps);
	}
	daemon__alerts_rollout(dm, &(struct alert_cycle){ c->m, &c->sec, c->rev, &c->w, &c->rep,
	    heal, c->st.quarantined });
	for (size_t i = 0; i < c->rep.nservices; i++) {
		struct converge_service *cs = &c->rep.services[i];
		const struct plan_service *ps = planned(p, cs->service);
		json_t *steps;

		if (cs->outcome == CONVERGE_SKIPPED && !cs->reason)
			continue;
		if (cs->outcome == CONVERGE_SKIPPED && ps && ps->moved)
			json_array_append_new(moving(&c->st), json_pack("{s:s,s:s}", "service",
			    cs->service, "reason", cs->reason));
		steps = converge_steps_json(cs);
		journal_action(dm->cycle.journal, c->id, c->rev, cs->service,
		    plan_action_name(cs->action), ps ? ps->reasons : NULL,
		    converge_outcome_name(cs->outcome), cs->reason, cs->ms, steps);
		json_decref(steps);
		if (cs->outcome == CONVERGE_OK && ps && ps->hash && (cs->action == PLAN_CREATE ||
		    cs->action == PLAN_RECREATE || cs->action == PLAN_START))
			journal_serving_set(dm->cycle.journal, cs->service, c->rev, ps->hash);
		if ((cs->outcome == CONVERGE_FAILED || cs->outcome == CONVERGE_BLOCKED) && !heal[i])
			nfailed++;
		if (!to_hold(cs))
			continue;
		if (heal[i])
			daemon__heal_failed(&c->st, c->rev, cs->service, plan_action_name(cs->action),
			    cs->reason);
		else
			hold(c, cs);
	}
	free(heal);
	c->out = c->rep.failed || c->nquar ? CYCLE_FAILED : CYCLE_CONVERGED;
	if (!c->rep.failed)
		prune_images(dm, c->d, &c->w.ds);
	journal_cycle_end(dm->cycle.journal, c->id, cycle_outcome_name(c->out), NULL);
	/* a heal that failed does not make the revision a failed one */
	journal_revision_status(dm->cycle.journal, c->rev, nfailed || c->nquar ? "failed" :
	    "applied", NULL);
}

/* What GET /v1/diff reuses until the next cycle: the manifest and the
 * desired state move into the snapshot (a cycle that built none drops it). */
static void
cycle_snapshot(struct cycle *c)
{
	char *key = daemon__snapshot_cfgkey(c->dm->cfg);

	daemon__snapshot_keep(c->dm, c->rev, key, c->w.backend, c->desired ? &c->m : NULL,
	    &c->w.ds, &c->w.secrets);
	free(key);
}

/* The end of every cycle, however far it went: the outcome logged, counted
 * and written to status.json, and what the cycle held let go. */
static enum cycle_outcome
cycle_end(struct cycle *c)
{
	struct daemon *dm = c->dm;
	enum cycle_outcome out = c->out;

	if (out != CYCLE_ERROR && json_array_size(c->st.errors))
		out = CYCLE_ERROR;
	if (c->p) {
		daemon__alerts_watch(dm, &(struct alert_cycle){ c->m, &c->sec, c->rev, &c->w,
		    &c->rep, NULL, c->st.quarantined });
		if (c->rev == c->commit)
			daemon__commit_status_end(dm, c->commit, out, &c->rep, c->st.quarantined,
			    c->st.errors);
	}
	json_array_extend(c->st.errors, c->bkerrors);
	json_decref(c->bkerrors);
	daemon__repeat_end(dm, &(struct cycle_seen){ c->trigger, c->rev, out, &c->st, c->p,
	    &c->rep, c->id });
	daemon__metrics_cycle(dm, out, c->rev, c->git_failed, c->engine_failed,
	    (int)json_array_size(c->st.quarantined), c->p, &c->rep);
	if (c->p)
		daemon__status_services(&c->st, &c->w, c->applied);
	daemon__status_write(dm, &c->st, out);
	cycle_snapshot(c);
	converge_report_release(&c->rep);
	world_release(&c->w);
	secrets_release(&c->sec);
	secrets_git_release(&c->git);
	manifest_free(c->m);
	return out;
}

enum cycle_outcome
daemon_cycle(struct daemon *dm, const char *trigger)
{
	struct cycle c = { .dm = dm, .trigger = trigger, .dopt = DOCKER_OPTIONS_INIT,
	    .out = CYCLE_ERROR, .id = -1 };
	char err[ERR_LEN];

	c.bkerrors = json_array();
	daemon__repeat_begin(dm, trigger);
	daemon__status_init(&c.st);
	if (daemon__prepare(dm, err) < 0) {
		daemon__status_error(&c.st, "%s", err);
		log_error("cycle", "%s", err);
		goto out;
	}
	cycle_retry(&c);
	cycle_git(&c);
	if (cycle_manifest(&c) < 0 || cycle_secrets(&c) < 0 || cycle_plan(&c) < 0)
		goto out;
	cycle_quarantine(&c);
	json_object_set_new(c.st.o, "plan", plan_json(c.p));
	if (plan_in_sync(c.p)) {
		c.out = c.nquar ? CYCLE_FAILED : CYCLE_IN_SYNC;
		journal_revision_status(dm->cycle.journal, c.rev, c.nquar ? "failed" : "applied",
		    NULL);
		goto out;
	}
	daemon__repeat_acting(dm, c.p);
	if (cycle_converge(&c) == 0)
		cycle_journal(&c);
out:
	return cycle_end(&c);
}

enum cycle_outcome
daemon_once(struct daemon *dm)
{
	enum cycle_outcome out;
	char err[ERR_LEN];

	if (notify_start(&dm->notifier, err) < 0)
		log_warn("start", "%s", err);
	out = daemon_cycle(dm, "once");
	notify_stop(dm->notifier, 15000);
	dm->notifier = NULL;
	return out;
}

int
daemon_check(struct daemon *dm)
{
	struct status st;
	struct manifest *m;
	char err[ERR_LEN], commit[41], signed_by[1024];
	int fetched, rc = 1;

	daemon__status_init(&st);
	if (daemon__prepare(dm, err) < 0 || gitsrc_poll(dm->cycle.git, dm->cfg->branch, commit,
	    &fetched, err) < 0) {
		fprintf(stderr, "reconcilerd: %s\n", err);
		goto out;
	}
	if (daemon__verify_check(dm, commit, signed_by, sizeof(signed_by)) < 0) {
		fprintf(stderr, "reconcilerd: %s\n", signed_by);
		goto out;
	}
	if (!(m = manifest_at(dm, commit, &st, NULL))) {
		fprintf(stderr, "reconcilerd: %s\n", json_string_value(json_array_get(st.errors, 0)));
		goto out;
	}
	printf("reconcilerd: config ok; %s at %.12s is valid (%zu services)%s\n",
	    dm->cfg->manifest, commit, m->nservices, signed_by);
	manifest_free(m);
	rc = 0;
out:
	json_decref(st.o);
	json_decref(st.errors);
	json_decref(st.quarantined);
	return rc;
}
