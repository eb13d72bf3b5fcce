/*
 * daemon: see daemon.h.
 */
#include "daemon.h"
#include "converge.h"
#include "diff.h"
#include "docker.h"
#include "gitsrc.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "secrets.h"
#include "spec.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

struct daemon {
	struct config *cfg;
	daemon_reload_fn reload;
	void *reload_payload;
	int lockfd;
	uv_loop_t loop;
	uv_timer_t poll;
	uv_signal_t sigterm, sigint, sighup, sigusr1;
	uv_work_t work;
	uv_timer_t shutdown;
	int busy;		/* a cycle is in the thread pool */
	int errors;		/* cycles in a row that ended in error: backoff */
	int again;		/* a trigger came while busy */
	int stopping;
	const char *trigger;
	volatile sig_atomic_t stop;	/* read by converge between steps */
	enum cycle_outcome last;
	/* Owned by whichever thread runs the cycle; cycles never overlap. */
	struct gitsrc *git;
	struct journal *journal;
	char head[41];		/* the branch head last seen */
	char good[41];		/* the last revision whose manifest was valid */
	const char *crash_at;
};

const char *
cycle_outcome_name(enum cycle_outcome o)
{
	switch (o) {
	case CYCLE_IN_SYNC: return "in-sync";
	case CYCLE_FAILED: return "degraded";
	case CYCLE_ERROR: return "error";
	case CYCLE_CONVERGED: return "converged";
	}
	return "?";
}

static char *
state_path(const struct daemon *dm, const char *name)
{
	return xasprintf("%s/%s", dm->cfg->state_dir, name);
}

static void
load_good(struct daemon *dm)
{
	char *p = state_path(dm, "last-good"), *data = NULL;
	size_t len;

	if (file_read(p, 128, &data, &len, NULL) == 0 && len >= 40) {
		memcpy(dm->good, data, 40);
		dm->good[40] = '\0';
	}
	free(data);
	free(p);
}

static void
save_good(struct daemon *dm, const char *commit)
{
	char *p, err[ERR_LEN], line[42];

	if (strcmp(dm->good, commit) == 0)
		return;
	snprintf(dm->good, sizeof(dm->good), "%s", commit);
	snprintf(line, sizeof(line), "%s\n", commit);
	p = state_path(dm, "last-good");
	if (file_write_atomic(p, line, strlen(line), 0600, err) < 0)
		log_warn("state", "%s", err);
	free(p);
}

struct daemon *
daemon_new(struct config *cfg, daemon_reload_fn reload, void *payload)
{
	struct daemon *dm = xcalloc(1, sizeof(*dm));

	dm->cfg = cfg;
	dm->reload = reload;
	dm->reload_payload = payload;
	dm->lockfd = -1;
	dm->crash_at = getenv("RECONCILER_CRASH_AT");
	return dm;
}

void
daemon_free(struct daemon *dm)
{
	if (!dm)
		return;
	gitsrc_free(dm->git);
	journal_close(dm->journal);
	if (dm->lockfd >= 0)
		close(dm->lockfd);
	free(dm);
}

/* One reconciler per state directory: two would fight over containers. */
/* One reconciler per state directory: two would fight over containers. */
static int
lock_state(struct daemon *dm, char *err)
{
	return dm->lockfd >= 0 ? 0 : dir_lock(dm->cfg->state_dir, &dm->lockfd, err);
}

static int
prepare(struct daemon *dm, char *err)
{
	char *p;
	int rc = 0;

	if (mkdir(dm->cfg->state_dir, 0700) < 0 && errno != EEXIST)
		return errf(err, "cannot create the state directory '%s': %s", dm->cfg->state_dir,
		    strerror(errno));
	if (lock_state(dm, err) < 0)
		return -1;
	if (!dm->journal) {
		p = state_path(dm, "journal.db");
		rc = journal_open(&dm->journal, p, 0, err);
		free(p);
		if (rc < 0)
			return -1;
		load_good(dm);
	}
	if (!dm->git) {
		struct gitsrc_auth auth = config_auth(dm->cfg);

		p = state_path(dm, "repo.git");
		rc = gitsrc_open(&dm->git, p, dm->cfg->repo, &auth, err);
		free(p);
	}
	return rc;
}

/* Status --------------------------------------------------------------- */

struct status {
	json_t *o;
	json_t *errors;
	json_t *quarantined;
};

static void
status_init(struct status *st)
{
	st->o = json_object();
	st->errors = json_array();
	st->quarantined = json_array();
}

static void
status_error(struct status *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
status_error(struct status *st, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_array_append_new(st->errors, json_string(msg ? msg : "?"));
	free(msg);
}

static void
status_write(struct daemon *dm, struct status *st, enum cycle_outcome out)
{
	char *p = state_path(dm, "status.json"), *text, err[ERR_LEN];
	const char *msg = NULL;
	json_t *q = json_array_get(st->quarantined, 0);
	char *degraded = NULL;

	if (q)
		degraded = xasprintf("degraded: %.12s failed on %s: %s",
		    json_string_value(json_object_get(q, "revision")),
		    json_string_value(json_object_get(q, "service")),
		    json_string_value(json_object_get(q, "reason")));
	if (json_array_size(st->errors))
		msg = json_string_value(json_array_get(st->errors, 0));
	else if (degraded)
		msg = degraded;
	json_object_set_new(st->o, "state", json_string(out == CYCLE_FAILED || (q &&
	    out != CYCLE_ERROR) ? "degraded" : cycle_outcome_name(out)));
	json_object_set_new(st->o, "message", msg ? json_string(msg) : json_null());
	json_object_set_new(st->o, "head", *dm->head ? json_string(dm->head) : json_null());
	json_object_set_new(st->o, "last_good", *dm->good ? json_string(dm->good) : json_null());
	json_object_set_new(st->o, "updated", json_integer(time(NULL)));
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		/* what `reconcilerctl sync --wait` watches for */
		json_object_set_new(st->o, "cycle", json_integer((json_int_t)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000));
	}
	json_object_set_new(st->o, "pid", json_integer(getpid()));
	json_object_set_new(st->o, "repo", json_string(dm->cfg->repo));
	json_object_set_new(st->o, "branch", json_string(dm->cfg->branch));
	json_object_set(st->o, "errors", st->errors);
	json_object_set(st->o, "quarantined", st->quarantined);
	text = json_dumps(st->o, JSON_INDENT(2));
	if (file_write_atomic(p, text, strlen(text), 0644, err) < 0)
		log_warn("state", "%s", err);
	free(text);
	free(p);
	free(degraded);
	json_decref(st->o);
	json_decref(st->errors);
	json_decref(st->quarantined);
}

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

/* The cycle ------------------------------------------------------------- */

/* Reads and validates the manifest at commit; errors go to the status. */
static struct manifest *
manifest_at(struct daemon *dm, const char *commit, struct status *st)
{
	struct manifest *m = NULL;
	char err[ERR_LEN], *text = NULL, *label;
	struct diag d;
	size_t len;

	if (gitsrc_blob(dm->git, commit, dm->cfg->manifest, YT_MAX_SIZE, &text, &len, err) < 0) {
		status_error(st, "revision %.12s: %s", commit, err);
		return NULL;
	}
	label = xasprintf("%s@%.12s", dm->cfg->manifest, commit);
	diag_init(&d, label);
	if (manifest_parse(&m, label, text, len, &d) < 0) {
		char *first = diag_first(&d);

		status_error(st, "invalid manifest at %.12s: %s%s", commit, first,
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
daemon_cycle(struct daemon *dm, const char *trigger)
{
	struct converge_options co = CONVERGE_OPTIONS_INIT;
	struct converge_report rep = { 0 };
	struct docker_options dopt = DOCKER_OPTIONS_INIT;
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
	int fetched = 0, nquar = 0;

	status_init(&st);
	if (prepare(dm, err) < 0) {
		status_error(&st, "%s", err);
		log_error("cycle", "%s", err);
		goto out;
	}
	/* 1. Git: the head, or the last good revision when the remote is down. */
	if (gitsrc_poll(dm->git, dm->cfg->branch, commit, &fetched, err) < 0) {
		status_error(&st, "git: %s", err);
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
	}
	/* 3. Desired and actual state, and the plan. */
	key = state_path(dm, "hmac.key");
	if (secrets_open(&sec, dm->cfg->secrets_dir, key, 1, err) < 0 ||
	    desired_build(&ds, m, &sec, err) < 0) {
		free(key);
		status_error(&st, "revision %.12s cannot be applied: %s", rev, err);
		log_error("cycle", "revision %.12s cannot be applied: %s", rev, err);
		goto out;
	}
	free(key);
	if (rev == commit)
		save_good(dm, commit);
	dopt.host = dm->cfg->docker_host;
	dopt.timeout_ms = dm->cfg->engine_timeout;
	if (docker_open(&d, &dopt, err) < 0 || actual_load(&a, d, err) < 0) {
		status_error(&st, "engine: %s", err);
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
	json_object_set_new(st.o, "plan", plan_json(p));
	if (plan_in_sync(p)) {
		out = nquar ? CYCLE_FAILED : CYCLE_IN_SYNC;
		journal_revision_status(dm->journal, rev, nquar ? "failed" : "applied", NULL);
		goto out;
	}
	/* 5. Converge. */
	cycle = journal_cycle_begin(dm->journal, rev, trigger);
	co.revision = rev;
	co.stop = &dm->stop;
	co.crash_at = dm->crash_at;
	co.concurrency = dm->cfg->concurrency;
	co.docker = &dopt;
	if (converge_apply(d, &ds, p, &sec, &co, &rep, err) < 0) {
		status_error(&st, "converge: %s", err);
		log_error("cycle", "%s", err);
		journal_cycle_end(dm->journal, cycle, "error", err);
		goto out;
	}
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
		if (cs->outcome == CONVERGE_FAILED || (cs->outcome == CONVERGE_BLOCKED &&
		    cs->reason && strncmp(cs->reason, "dependency '", 12) == 0)) {
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
	log_msg(out == CYCLE_ERROR ? LOG_ERROR : out == CYCLE_FAILED ? LOG_WARN : LOG_INFO,
	    "cycle", "trigger=%s revision=%.12s outcome=%s", trigger, rev ? rev : "-",
	    cycle_outcome_name(out));
	dm->last = out;
	status_write(dm, &st, out);
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

	status_init(&st);
	if (prepare(dm, err) < 0 || gitsrc_poll(dm->git, dm->cfg->branch, commit, &fetched,
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

/* The loop ---------------------------------------------------------------- */

static void schedule(struct daemon *dm, const char *trigger);
static void poll_cb(uv_timer_t *t);

static void
work_cb(uv_work_t *w)
{
	struct daemon *dm = w->data;

	daemon_cycle(dm, dm->trigger);
}

static void
close_all(struct daemon *dm)
{
	uv_timer_stop(&dm->poll);
	uv_close((uv_handle_t *)&dm->poll, NULL);
	uv_close((uv_handle_t *)&dm->sigterm, NULL);
	uv_close((uv_handle_t *)&dm->sigint, NULL);
	uv_close((uv_handle_t *)&dm->sighup, NULL);
	uv_close((uv_handle_t *)&dm->sigusr1, NULL);
	uv_close((uv_handle_t *)&dm->shutdown, NULL);
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct daemon *dm = w->data;

	dm->busy = 0;
	if (dm->stopping) {
		log_info("shutdown", "cycle finished, exiting");
		close_all(dm);
		return;
	}
	/* A remote or an engine that is down is asked again less and less often
	 * (up to 5 minutes); the first good cycle restores the interval. */
	if (dm->last == CYCLE_ERROR) {
		uint64_t delay = (uint64_t)dm->cfg->poll_interval << (dm->errors < 8 ? dm->errors : 8);

		if (delay > 300000)
			delay = 300000;
		if (delay < (uint64_t)dm->cfg->poll_interval)
			delay = (uint64_t)dm->cfg->poll_interval;
		dm->errors++;
		uv_timer_start(&dm->poll, poll_cb, delay, (uint64_t)dm->cfg->poll_interval);
		if (dm->errors > 1)
			log_warn("backoff", "next try in %llus", (unsigned long long)delay / 1000);
	} else if (dm->errors) {
		dm->errors = 0;
		uv_timer_start(&dm->poll, poll_cb, (uint64_t)dm->cfg->poll_interval,
		    (uint64_t)dm->cfg->poll_interval);
	}
	if (dm->again) {
		dm->again = 0;
		schedule(dm, "retrigger");
	}
}

static void
schedule(struct daemon *dm, const char *trigger)
{
	if (dm->stopping)
		return;
	if (dm->busy) {
		dm->again = 1;
		return;
	}
	dm->busy = 1;
	dm->trigger = trigger;
	dm->work.data = dm;
	if (uv_queue_work(&dm->loop, &dm->work, work_cb, after_work_cb) < 0) {
		dm->busy = 0;
		log_error("cycle", "cannot queue a cycle");
	}
}

static void
poll_cb(uv_timer_t *t)
{
	schedule(t->data, "poll");
}

static void
shutdown_timeout_cb(uv_timer_t *t)
{
	struct daemon *dm = t->data;

	/* Level-triggered: whatever step was cut short, the next start converges. */
	char *pidfile = state_path(dm, "reconcilerd.pid");

	log_warn("shutdown", "a step is still running after the shutdown timeout; exiting");
	unlink(pidfile);
	_exit(0);
}

static void
signal_cb(uv_signal_t *s, int signum)
{
	struct daemon *dm = s->data;

	if (signum == SIGHUP) {
		struct config fresh;
		char err[ERR_LEN] = "";

		if (!dm->reload || dm->reload(&fresh, err, dm->reload_payload) < 0) {
			log_error("reload", "config not reloaded: %s", err);
		} else if (dm->busy) {
			log_warn("reload", "a cycle is running; send SIGHUP again after it");
			config_release(&fresh);
		} else {
			/* repo and state dir changes take a new clone, journal and lock */
			int moved = strcmp(fresh.repo, dm->cfg->repo) ||
			    strcmp(fresh.state_dir, dm->cfg->state_dir);

			config_release(dm->cfg);
			*dm->cfg = fresh;
			if (moved) {
				gitsrc_free(dm->git);
				dm->git = NULL;
				journal_close(dm->journal);
				dm->journal = NULL;
				if (dm->lockfd >= 0)
					close(dm->lockfd);
				dm->lockfd = -1;
				dm->head[0] = dm->good[0] = '\0';
			}
			log_setup(strcmp(dm->cfg->log_format, "json") == 0 ? LOG_JSON : LOG_TEXT,
			    LOG_INFO);
			uv_timer_set_repeat(&dm->poll, (uint64_t)dm->cfg->poll_interval);
			log_info("reload", "config reloaded: poll=%llds repo=%s branch=%s",
			    (long long)dm->cfg->poll_interval / 1000, dm->cfg->repo, dm->cfg->branch);
			schedule(dm, "reload");
		}
		return;
	}
	if (signum == SIGUSR1) {
		schedule(dm, "signal");
		return;
	}
	/* SIGTERM, SIGINT: no new step starts; the one running finishes. */
	if (dm->stopping)
		return;
	dm->stopping = 1;
	dm->stop = 1;
	log_info("shutdown", "signal %d: %s", signum, dm->busy ? "finishing the current step" :
	    "exiting");
	if (dm->busy) {
		uv_timer_start(&dm->shutdown, shutdown_timeout_cb,
		    (uint64_t)dm->cfg->shutdown_timeout, 0);
		uv_unref((uv_handle_t *)&dm->shutdown);
	} else {
		close_all(dm);
	}
}

static char *
write_pidfile(struct daemon *dm)
{
	char err[ERR_LEN], line[32], *p = state_path(dm, "reconcilerd.pid");

	if (mkdir(dm->cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		log_warn("start", "cannot create '%s': %s", dm->cfg->state_dir, strerror(errno));
	}
	snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (file_write_atomic(p, line, strlen(line), 0644, err) < 0)
		log_warn("start", "%s", err);
	return p;
}

int
daemon_run(struct daemon *dm)
{
	char err[ERR_LEN], *pidfile;

	if (lock_state(dm, err) < 0) {
		log_error("start", "%s", err);
		return 2;
	}
	pidfile = write_pidfile(dm);

	uv_loop_init(&dm->loop);
	uv_timer_init(&dm->loop, &dm->poll);
	uv_timer_init(&dm->loop, &dm->shutdown);
	dm->poll.data = dm->shutdown.data = dm;
	uv_signal_init(&dm->loop, &dm->sigterm);
	uv_signal_init(&dm->loop, &dm->sigint);
	uv_signal_init(&dm->loop, &dm->sighup);
	uv_signal_init(&dm->loop, &dm->sigusr1);
	dm->sigterm.data = dm->sigint.data = dm->sighup.data = dm->sigusr1.data = dm;
	uv_signal_start(&dm->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&dm->sigint, signal_cb, SIGINT);
	uv_signal_start(&dm->sighup, signal_cb, SIGHUP);
	uv_signal_start(&dm->sigusr1, signal_cb, SIGUSR1);
	/* the first cycle right away, then one per poll interval */
	uv_timer_start(&dm->poll, poll_cb, 0, (uint64_t)dm->cfg->poll_interval);
	log_info("start", "reconcilerd %s repo=%s branch=%s manifest=%s poll=%llds pid=%d",
	    RECONCILER_VERSION, dm->cfg->repo, dm->cfg->branch, dm->cfg->manifest,
	    (long long)dm->cfg->poll_interval / 1000, (int)getpid());
	uv_run(&dm->loop, UV_RUN_DEFAULT);
	uv_loop_close(&dm->loop);
	unlink(pidfile);
	free(pidfile);
	return 0;
}
