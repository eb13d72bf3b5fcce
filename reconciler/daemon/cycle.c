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
#include "gitsrc.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "notify.h"
#include "secrets.h"
#include "spec.h"
#include "state.h"
#include "util.h"

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
		journal_image_used(dm->journal, ds->services[i].svc->name, ds->services[i].svc->image);
	stale = journal_images_stale(dm->journal, 2);
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
			journal_image_forget(dm->journal, svc, img);
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
		if (dm->git_down_notified)
			notify_event(dm->notifier, m, sec, "git_unreachable", NULL, NULL,
			    "the Git remote answers again");
		dm->git_down_since = 0;
		dm->git_down_notified = 0;
		return;
	}
	if (!dm->git_down_since)
		dm->git_down_since = now_ms();
	/* a remote that stays down for long, not one missed poll */
	if (!dm->git_down_notified && now_ms() - dm->git_down_since >= GIT_DOWN_NOTIFY) {
		notify_event(dm->notifier, m, sec, "git_unreachable", NULL, NULL, why ? why :
		    "the Git remote does not answer");
		dm->git_down_notified = 1;
	}
}

static void
notify_rollout(struct daemon *dm, const struct manifest *m, const struct secrets *sec,
    const char *rev, const struct converge_report *rep)
{
	struct buf ok;

	buf_init(&ok, 0);
	for (size_t i = 0; i < rep->nservices; i++) {
		const struct converge_service *cs = &rep->services[i];

		if (cs->outcome == CONVERGE_OK && (cs->action == PLAN_CREATE ||
		    cs->action == PLAN_RECREATE))
			buf_addf(&ok, "%s%s", ok.len ? ", " : "", cs->service);
		if (cs->outcome == CONVERGE_FAILED) {
			char *msg = xasprintf("rolled back: %s", cs->reason ? cs->reason : "?");

			notify_event(dm->notifier, m, sec, "rollout_failed", rev, cs->service, msg);
			notify_event(dm->notifier, m, sec, "revision_quarantined", rev, cs->service,
			    "not retried until a new commit or `reconcilerctl sync --retry`");
			free(msg);
		}
	}
	if (ok.len) {
		char *msg = xasprintf("healthy: %s", ok.data);

		notify_event(dm->notifier, m, sec, "rollout_succeeded", rev, ok.data, msg);
		free(msg);
	}
	buf_release(&ok);
}

/* Reads and validates the manifest at commit; errors go to the status. */
static struct manifest *
manifest_at(struct daemon *dm, const char *commit, struct status *st)
{
	struct manifest *m = NULL;
	char err[ERR_LEN], *text = NULL, *label;
	struct diag d;
	size_t len;

	if (gitsrc_blob(dm->git, commit, dm->cfg->manifest, YT_MAX_SIZE, &text, &len, err) < 0) {
		daemon__status_error(st, "revision %.12s: %s", commit, err);
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
	}
	diag_release(&d);
	free(label);
	free(text);
	return m;
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

enum cycle_outcome
daemon_cycle(struct daemon *dm, const char *trigger)
{
	struct converge_options co = CONVERGE_OPTIONS_INIT;
	struct converge_report rep = { 0 };
	struct docker_options dopt = DOCKER_OPTIONS_INIT;
	struct bk_hook hook;
	struct status st;
	struct manifest *m = NULL;
	struct secrets sec = { 0 };
	struct desired ds = { 0 };
	struct actual a = { 0 };
	struct docker *d = NULL;
	struct plan *p = NULL;
	enum cycle_outcome out = CYCLE_ERROR;
	char err[ERR_LEN], commit[41] = "", *rev = NULL, *key;
	int64_t cycle = -1;
	int fetched = 0, nquar = 0, git_failed = 0, engine_failed = 0, notify_pending = 0;
	int applied = 0;
	/* a backup that cannot be scheduled is told in the status's errors, but
	 * the services' outcome is not an error for it (no backoff, /readyz) */
	json_t *bkerrors = json_array();

	daemon__status_init(&st);
	if (daemon__prepare(dm, err) < 0) {
		daemon__status_error(&st, "%s", err);
		log_error("cycle", "%s", err);
		goto out;
	}
	if (dm->retry) {
		int n;

		pthread_mutex_lock(&dm->m.mu);
		for (int i = 0; i < FLAP_SERVICES; i++)
			dm->flaps[i].flapping = dm->flaps[i].n = 0;
		pthread_mutex_unlock(&dm->m.mu);
		dm->retry = 0;
		n = journal_clear_failures(dm->journal);
		log_info("retry", "cleared %d quarantined revision/service pair%s", n,
		    n == 1 ? "" : "s");
	}
	/* 1. Git: the head, or the last good revision when the remote is down. */
	if (gitsrc_poll(dm->git, dm->cfg->branch, commit, &fetched, err) < 0) {
		git_failed = 1;
		daemon__status_error(&st, "git: %s", err);
		log_error("git", "%s", err);
		commit[0] = '\0';
	} else {
		if (strcmp(commit, dm->head) != 0) {
			char *subject = gitsrc_subject(dm->git, commit);

			log_info("git", "head=%.12s fetched=%s subject=\"%s\"", commit,
			    fetched ? "yes" : "no", subject ? subject : "");
			journal_revision_seen(dm->journal, commit, subject);
			free(subject);
		}
		snprintf(dm->head, sizeof(dm->head), "%s", commit);
		/* a new revision gets a fresh chance */
		pthread_mutex_lock(&dm->m.mu);
		if (strcmp(dm->flap_head, commit) != 0) {
			for (int i = 0; i < FLAP_SERVICES; i++)
				dm->flaps[i].flapping = dm->flaps[i].n = 0;
			snprintf(dm->flap_head, sizeof(dm->flap_head), "%s", commit);
		}
		pthread_mutex_unlock(&dm->m.mu);
	}
	/* 2. The manifest at the head; an invalid one changes nothing. */
	if (*commit && (m = manifest_at(dm, commit, &st))) {
		rev = commit;
	} else {
		if (*commit)
			journal_revision_status(dm->journal, commit, "invalid",
			    json_string_value(json_array_get(st.errors, 0)));
		if (!*dm->good || strcmp(dm->good, commit) == 0 ||
		    !(m = manifest_at(dm, dm->good, &st)))
			goto out;
		rev = dm->good;
		log_warn("cycle", "keeping the last good revision %.12s", rev);
		if (*commit && strcmp(dm->notified_invalid, commit) != 0) {
			snprintf(dm->notified_invalid, sizeof(dm->notified_invalid), "%s", commit);
			notify_pending = 1;
		}
	}
	pthread_mutex_lock(&dm->m.mu);
	snprintf(dm->project, sizeof(dm->project), "%s", m->project);
	pthread_mutex_unlock(&dm->m.mu);
	daemon__status_revision(dm, &st, m, rev);
	/* backups run whatever becomes of the services (a missing secret) */
	daemon__bk_sched_build(dm, m, bkerrors);
	/* 3. Desired and actual state, and the plan. */
	key = daemon__state_path(dm, "hmac.key");
	if (secrets_open(&sec, dm->cfg->secrets_dir, key, 1, err) < 0) {
		free(key);
		daemon__status_error(&st, "%s", err);
		goto out;
	}
	if (notify_pending)
		notify_event(dm->notifier, m, &sec, "manifest_invalid", commit, NULL,
		    json_string_value(json_array_get(st.errors, 0)));
	notify_git(dm, m, &sec, git_failed, json_array_size(st.errors) ?
	    json_string_value(json_array_get(st.errors, 0)) : NULL);
	if (desired_build(&ds, m, &sec, err) < 0) {
		free(key);
		daemon__status_error(&st, "revision %.12s cannot be applied: %s", rev, err);
		log_error("cycle", "revision %.12s cannot be applied: %s", rev, err);
		goto out;
	}
	free(key);
	if (rev == commit)
		daemon__save_good(dm, commit);
	dopt.host = dm->cfg->docker_host;
	dopt.timeout_ms = dm->cfg->engine_timeout;
	if (docker_open(&d, &dopt, err) < 0 || actual_load(&a, d, m->project, err) < 0) {
		engine_failed = 1;
		daemon__status_error(&st, "engine: %s", err);
		log_error("engine", "%s", err);
		goto out;
	}
	diff_compute(&p, &ds, &a);
	/* 4. A (revision, service) that failed its gate is not retried. */
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];
		char *reason = NULL;

		if ((ps->action == PLAN_CREATE || ps->action == PLAN_RECREATE) &&
		    journal_quarantined(dm->journal, rev, ps->service, &reason)) {
			json_array_append_new(st.quarantined, json_pack("{s:s,s:s,s:s}", "revision",
			    rev, "service", ps->service, "reason", reason));
			ps->action = PLAN_IN_SYNC;
			nquar++;
		}
		free(reason);
	}
	/* A flapping service is not healed (started or created again). */
	pthread_mutex_lock(&dm->m.mu);
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];

		for (int k = 0; k < FLAP_SERVICES; k++) {
			if (!dm->flaps[k].flapping || strcmp(dm->flaps[k].service, ps->service) != 0)
				continue;
			json_array_append_new(st.quarantined, json_pack("{s:s,s:s,s:o}", "revision",
			    rev, "service", ps->service, "reason", json_sprintf("flapping: healed %d "
			    "times in %d minutes; not healed again until a new revision or "
			    "`reconcilerctl sync --retry`", FLAP_LIMIT, FLAP_WINDOW / 60000)));
			nquar++;
			if (ps->action == PLAN_START || ps->action == PLAN_CREATE)
				ps->action = PLAN_IN_SYNC;
		}
	}
	pthread_mutex_unlock(&dm->m.mu);
	/* Every heal counts; too many in the window and the service is left alone. */
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];

		if ((ps->action == PLAN_START || (ps->action == PLAN_CREATE && *dm->good &&
		    strcmp(rev, dm->good) == 0 && fetched == 0)) && daemon__flap_note(dm, ps->service))
			log_warn("flapping", "service=%s healed %d times in %d minutes: no longer "
			    "healed until a new revision or a retry", ps->service, FLAP_LIMIT,
			    FLAP_WINDOW / 60000);
	}
	json_object_set_new(st.o, "plan", plan_json(p));
	if (plan_in_sync(p)) {
		out = nquar ? CYCLE_FAILED : CYCLE_IN_SYNC;
		journal_revision_status(dm->journal, rev, nquar ? "failed" : "applied", NULL);
		goto out;
	}
	/* 5. Converge. */
	daemon__status_converging(dm, p, rev);
	cycle = journal_cycle_begin(dm->journal, rev, trigger);
	co.revision = rev;
	co.stop = &dm->stop;
	co.crash_at = dm->crash_at;
	co.concurrency = dm->cfg->concurrency;
	co.docker = &dopt;
	applied = 1;
	hook.dm = dm;
	hook.state_dir = dm->cfg->state_dir;	/* a reload waits for the cycle */
	hook.m = m;
	hook.sec = &sec;
	co.backup = daemon__bk_before_deploy;
	co.backup_payload = &hook;
	if (converge_apply(d, &ds, p, &sec, &co, &rep, err) < 0) {
		daemon__status_error(&st, "converge: %s", err);
		log_error("cycle", "%s", err);
		journal_cycle_end(dm->journal, cycle, "error", err);
		goto out;
	}
	notify_rollout(dm, m, &sec, rev, &rep);
	for (size_t i = 0; i < rep.nservices; i++) {
		struct converge_service *cs = &rep.services[i];
		json_t *reasons = NULL;

		if (cs->outcome == CONVERGE_SKIPPED && !cs->reason)
			continue;
		for (size_t k = 0; k < p->nservices; k++)
			if (strcmp(p->services[k].service, cs->service) == 0)
				reasons = p->services[k].reasons;
		journal_action(dm->journal, cycle, rev, cs->service, plan_action_name(cs->action),
		    reasons, converge_outcome_name(cs->outcome), cs->reason, cs->ms);
		/* A service held back because its dependency failed is held at this
		 * revision too: rolling it out next cycle against the old dependency
		 * is not what the commit asked for. */
		/* So is one whose backup_before_deploy failed: trying again every
		 * poll would take a dump each time; a fix and a retry is the way. */
		if (cs->outcome == CONVERGE_FAILED || (cs->outcome == CONVERGE_BLOCKED &&
		    cs->reason && (strncmp(cs->reason, "dependency '", 12) == 0 ||
		    strncmp(cs->reason, "backup '", 8) == 0))) {
			journal_fail(dm->journal, rev, cs->service, cs->reason);
			json_array_append_new(st.quarantined, json_pack("{s:s,s:s,s:s}", "revision",
			    rev, "service", cs->service, "reason", cs->reason ? cs->reason : ""));
		}
	}
	out = rep.failed || nquar ? CYCLE_FAILED : CYCLE_CONVERGED;
	if (!rep.failed)
		prune_images(dm, d, &ds);
	journal_cycle_end(dm->journal, cycle, cycle_outcome_name(out), NULL);
	journal_revision_status(dm->journal, rev, rep.failed ? "failed" : "applied", NULL);
out:
	if (out != CYCLE_ERROR && json_array_size(st.errors))
		out = CYCLE_ERROR;
	json_array_extend(st.errors, bkerrors);
	json_decref(bkerrors);
	log_msg(out == CYCLE_ERROR ? LOG_ERROR : out == CYCLE_FAILED ? LOG_WARN : LOG_INFO,
	    "cycle", "trigger=%s revision=%.12s outcome=%s", trigger, rev ? rev : "-",
	    cycle_outcome_name(out));
	daemon__metrics_cycle(dm, out, rev, git_failed, engine_failed,
	    (int)json_array_size(st.quarantined), p, &rep);
	if (p)
		daemon__status_services(&st, d, &ds, &a, applied);
	daemon__status_write(dm, &st, out);
	converge_report_release(&rep);
	plan_free(p);
	actual_release(&a);
	desired_release(&ds);
	secrets_release(&sec);
	docker_free(d);
	manifest_free(m);
	return out;
}

int
daemon_check(struct daemon *dm)
{
	struct status st;
	struct manifest *m;
	char err[ERR_LEN], commit[41];
	int fetched, rc = 1;

	daemon__status_init(&st);
	if (daemon__prepare(dm, err) < 0 || gitsrc_poll(dm->git, dm->cfg->branch, commit, &fetched,
	    err) < 0) {
		fprintf(stderr, "reconcilerd: %s\n", err);
		goto out;
	}
	if (!(m = manifest_at(dm, commit, &st))) {
		fprintf(stderr, "reconcilerd: %s\n", json_string_value(json_array_get(st.errors, 0)));
		goto out;
	}
	printf("reconcilerd: config ok; %s at %.12s is valid (%zu services)\n", dm->cfg->manifest,
	    commit, m->nservices);
	manifest_free(m);
	rc = 0;
out:
	json_decref(st.o);
	json_decref(st.errors);
	json_decref(st.quarantined);
	return rc;
}
