/*
 * backups: the daemon's side of backups. The cycle builds each backup's
 * schedule from the manifest and hands it to the loop; the loop keeps the
 * timer and queues runs in the thread pool one at a time; every run is
 * journaled, counted and notified. backup.c takes the dump itself.
 */
#include "daemon_int.h"
#include "backup.h"
#include "cron.h"
#include "docker.h"
#include "journal.h"
#include "log.h"
#include "manifest.h"
#include "notify.h"
#include "secrets.h"
#include "tz.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct backup_metrics *
bk_metrics(struct daemon *dm, const char *name)
{
	struct metrics *m = &dm->shared.m;
	size_t n = sizeof(m->backups) / sizeof(m->backups[0]);

	for (size_t i = 0; i < n; i++)
		if (strcmp(m->backups[i].name, name) == 0)
			return &m->backups[i];
	for (size_t i = 0; i < n; i++)
		if (!m->backups[i].name[0]) {
			snprintf(m->backups[i].name, sizeof(m->backups[i].name), "%s", name);
			return &m->backups[i];
		}
	return NULL;
}

/* Why backup b's service runs on another host of the fleet (owned), or NULL:
 * a backup follows its service (on swarm, Swarm places it). */
static char *
bk_elsewhere(const struct daemon *dm, const struct manifest *m, const struct mf_backup *b)
{
	const struct mf_service *s = manifest_service(m, b->service);

	if (!s || strcmp(dm->cfg->backend, "containers") != 0)
		return NULL;
	return placement_elsewhere(s, &dm->cfg->host);
}

/*
 * One run, recorded in the journal (a connection of its own: runs and cycles
 * happen in different threads), counted in the metrics and notified. Called
 * from the pool (scheduled and requested runs) and from converge's workers
 * (backup_before_deploy).
 */
static int
bk_run(struct daemon *dm, const char *state_dir, struct docker *d, const struct manifest *m,
    const struct secrets *sec, const struct mf_backup *b, const char *trigger, char *err)
{
	struct backup_options bo = BACKUP_OPTIONS_INIT;
	struct backup_result res;
	struct backup_metrics *bm;
	struct journal *j = NULL;
	char *p = xasprintf("%s/journal.db", state_dir), e[ERR_LEN], *msg;
	int rc;

	if (journal_open(&j, p, 0, e) < 0)
		log_warn("backup", "name=%s not journaled: %s", b->name, e);
	free(p);
	bo.journal = j;
	bo.trigger = trigger;
	rc = backup_run(d, m, b, &bo, &res, err);
	journal_close(j);
	pthread_mutex_lock(&dm->shared.mu);
	if ((bm = bk_metrics(dm, b->name))) {
		if (rc == 0) {
			bm->ok++;
			bm->last_success = (long long)time(NULL);
			bm->last_size = (long long)res.size;
		} else {
			bm->failed++;
		}
	}
	pthread_mutex_unlock(&dm->shared.mu);
	if (rc == 0)
		msg = xasprintf("%s (%llu bytes, %lld ms, %s)", res.file,
		    (unsigned long long)res.size, res.ms, trigger);
	else
		msg = xasprintf("%s (%s)", err, trigger);
	notify_event(dm->notifier, m, sec, rc == 0 ? "backup_succeeded" : "backup_failed", NULL,
	    b->name, msg);
	free(msg);
	if (rc == 0)
		backup_result_release(&res);
	return rc;
}

int
daemon__bk_before_deploy(const struct mf_backup *b, struct docker *d, char *err, void *payload)
{
	struct bk_hook *h = payload;
	char *where;

	if ((where = bk_elsewhere(h->dm, h->m, b))) {
		errf(err, "backup_before_deploy '%s': its service %s is placed on another host (%s), "
		    "and a backup runs on the host of its service: take it there, or remove "
		    "backup_before_deploy", b->name, b->service, where);
		free(where);
		return -1;
	}
	return bk_run(h->dm, h->state_dir, d, h->m, h->sec, b, "before-deploy", err);
}

void
daemon__bk_sched_free(struct bsched *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tz_free(v[i].tz);
	free(v);
}

/*
 * In the cycle's thread, when the manifest's text changed or a backup could
 * not be scheduled (its zone did not load: tzdata may be installed since):
 * the schedule to hand to the loop, with each zone loaded and the next run
 * computed. The first schedule of a backup (after start-up, or once its zone
 * loads) catches up once on a backup whose last good run is older than one
 * period (a scheduled time passed since). What cannot be scheduled goes to
 * the status's errors, every cycle, and to the log when it changes.
 */
void
daemon__bk_sched_build(struct daemon *dm, const struct manifest *m, json_t *errors)
{
	struct bsched *v;
	json_t *failed, *why;
	const char *name;
	time_t now = time(NULL);
	int first, retry;

	if (!dm->cycle.bk_failed)
		dm->cycle.bk_failed = json_object();
	pthread_mutex_lock(&dm->shared.mu);
	retry = dm->shared.bk_src && strcmp(dm->shared.bk_src, m->src) == 0;
	if (retry && !json_object_size(dm->cycle.bk_failed)) {
		pthread_mutex_unlock(&dm->shared.mu);
		goto report;
	}
	first = !dm->shared.bk_built;
	pthread_mutex_unlock(&dm->shared.mu);
	failed = json_object();
	v = xcalloc(m->nbackups + 1, sizeof(*v));
	for (size_t i = 0; i < m->nbackups; i++) {
		const struct mf_backup *b = &m->backups[i];
		struct bsched *e = &v[i];
		struct backup_metrics *bm;
		const char *before = json_string_value(json_object_get(dm->cycle.bk_failed,
		    b->name));
		int64_t ended = 0, size = 0;
		char *where;
		int had;

		snprintf(e->name, sizeof(e->name), "%s", b->name);
		e->next = -1;
		if ((where = bk_elsewhere(dm, m, b))) {
			free(where);	/* its service's host runs it */
			continue;
		}
		if (cron_parse(&e->cron, b->schedule, e->err) < 0 ||
		    tz_load(&e->tz, b->timezone, e->err) < 0) {
			if (!before || strcmp(before, e->err) != 0)
				log_error("backup", "name=%s not scheduled: %s", b->name, e->err);
			json_object_set_new(failed, b->name, json_string(e->err));
			continue;
		}
		e->err[0] = '\0';
		if (before)
			log_info("backup", "name=%s scheduled: its time zone '%s' loads now", b->name,
			    b->timezone);
		/* unchanged and scheduled already: the loop keeps its next run */
		e->keep = retry && !before;
		e->next = cron_next_tz(&e->cron, e->tz, now);
		had = journal_backup_last_ok(dm->cycle.journal, b->name, &ended, &size);
		if ((first || before) && had) {
			time_t due = cron_next_tz(&e->cron, e->tz, (time_t)ended);

			if (due >= 0 && due <= now) {
				e->pending = "catch-up";
				log_info("backup", "name=%s missed its run of %lld (last good %lld): "
				    "catching up", b->name, (long long)due, (long long)ended);
			}
		}
		pthread_mutex_lock(&dm->shared.mu);
		if (had && (bm = bk_metrics(dm, b->name)) && !bm->last_success) {
			bm->last_success = ended;
			bm->last_size = size;
		}
		pthread_mutex_unlock(&dm->shared.mu);
	}
	json_decref(dm->cycle.bk_failed);
	dm->cycle.bk_failed = failed;
	pthread_mutex_lock(&dm->shared.mu);
	daemon__bk_sched_free(dm->shared.bk_new, dm->shared.nbk_new);
	dm->shared.bk_new = v;
	dm->shared.nbk_new = m->nbackups;
	dm->shared.bk_handover = 1;
	dm->shared.bk_built = 1;
	if (!retry) {
		free(dm->shared.bk_src);
		free(dm->shared.bk_label);
		dm->shared.bk_src = xstrdup(m->src);
		dm->shared.bk_label = xstrdup(m->file);
	}
	pthread_mutex_unlock(&dm->shared.mu);
report:
	json_object_foreach(dm->cycle.bk_failed, name, why)
		json_array_append_new(errors, json_sprintf("backup '%s' is not scheduled: %s", name,
		    json_string_value(why)));
}

static void
bk_conf_release(struct bk_conf *c)
{
	free(c->state_dir);
	free(c->secrets_dir);
	free(c->docker_host);
	memset(c, 0, sizeof(*c));
}

static void
bk_conf_copy(struct bk_conf *c, const struct config *cfg)
{
	c->state_dir = xstrdup(cfg->state_dir);
	c->secrets_dir = xstrdup(cfg->secrets_dir);
	c->docker_host = cfg->docker_host ? xstrdup(cfg->docker_host) : NULL;
	c->engine_timeout = cfg->engine_timeout;
}

/* A run that failed before backup_run: a row all the same (`backup run
 * --wait` waits for it), or a log line when the journal cannot be opened. */
static void
bk_fail_row(const char *state_dir, const char *name, const char *trigger, const char *why)
{
	struct journal *j = NULL;
	char *p = xasprintf("%s/journal.db", state_dir), e[ERR_LEN];

	if (journal_open(&j, p, 0, e) == 0)
		journal_backup_end(j, journal_backup_begin(j, name, trigger), "failed", NULL, 0, 0,
		    why);
	else
		log_error("backup", "name=%s not journaled: %s", name, e);
	journal_close(j);
	free(p);
}

/* In the pool: reads the daemon's config only through dm->loop.bkconf. */
static void
bk_work_cb(uv_work_t *w)
{
	struct daemon *dm = w->data;
	const struct bk_conf *c = &dm->loop.bkconf;
	struct manifest *m = NULL;
	struct docker *d = NULL;
	struct docker_options dopt = DOCKER_OPTIONS_INIT;
	struct secrets sec = { 0 };
	const struct mf_backup *b;
	struct diag dg;
	char err[ERR_LEN], *src, *label, *key;

	pthread_mutex_lock(&dm->shared.mu);
	src = xstrdup(dm->shared.bk_src ? dm->shared.bk_src : "");
	label = xstrdup(dm->shared.bk_label ? dm->shared.bk_label : "manifest");
	pthread_mutex_unlock(&dm->shared.mu);
	diag_init(&dg, label);
	if (manifest_parse(&m, label, src, strlen(src), &dg) < 0 ||
	    !(b = manifest_backup(m, dm->loop.bk_running))) {
		snprintf(err, sizeof(err), "backup '%s' is no longer in the manifest %s: the run "
		    "was dropped", dm->loop.bk_running, label);
		log_error("backup", "name=%s: %s", dm->loop.bk_running, err);
		bk_fail_row(c->state_dir, dm->loop.bk_running, dm->loop.bk_trigger, err);
		goto out;
	}
	if ((key = bk_elsewhere(dm, m, b))) {
		snprintf(err, sizeof(err), "backup '%s': service %s is placed on another host (%s): "
		    "run it there", b->name, b->service, key);
		free(key);
		log_error("backup", "name=%s: %s", b->name, err);
		bk_fail_row(c->state_dir, b->name, dm->loop.bk_trigger, err);
		goto out;
	}
	key = xasprintf("%s/hmac.key", c->state_dir);
	if (secrets_open(&sec, c->secrets_dir, key, 1, err) < 0)
		log_warn("backup", "name=%s: %s (no notification)", b->name, err);
	free(key);
	dopt.host = c->docker_host;
	dopt.timeout_ms = c->engine_timeout;
	if (docker_open(&d, &dopt, err) < 0) {
		/* recorded like any failed run */
		bk_fail_row(c->state_dir, b->name, dm->loop.bk_trigger, err);
		log_error("backup", "name=%s: %s", b->name, err);
		notify_event(dm->notifier, m, &sec, "backup_failed", NULL, b->name, err);
		pthread_mutex_lock(&dm->shared.mu);
		if (bk_metrics(dm, b->name))
			bk_metrics(dm, b->name)->failed++;
		pthread_mutex_unlock(&dm->shared.mu);
		goto out;
	}
	bk_run(dm, c->state_dir, d, m, &sec, b, dm->loop.bk_trigger, err);
out:
	docker_free(d);
	secrets_release(&sec);
	diag_release(&dg);
	manifest_free(m);
	free(src);
	free(label);
}

static void
bk_after_cb(uv_work_t *w, int status)
{
	struct daemon *dm = w->data;

	dm->loop.bkbusy = 0;
	dm->loop.bk_running[0] = '\0';
	bk_conf_release(&dm->loop.bkconf);
	if (dm->loop.stopping) {
		daemon__maybe_close(dm);
		return;
	}
	daemon__bk_arm(dm);
}

/* Starts the first pending run unless one is running. */
void
daemon__bk_kick(struct daemon *dm)
{
	if (dm->loop.bkbusy || dm->loop.stopping)
		return;
	for (size_t i = 0; i < dm->loop.nbk; i++) {
		if (!dm->loop.bk[i].pending)
			continue;
		snprintf(dm->loop.bk_running, sizeof(dm->loop.bk_running), "%s",
		    dm->loop.bk[i].name);
		dm->loop.bk_trigger = dm->loop.bk[i].pending;
		dm->loop.bk[i].pending = NULL;
		dm->loop.bkwork.data = dm;
		bk_conf_copy(&dm->loop.bkconf, dm->cfg);
		if (uv_queue_work(&dm->loop.uv, &dm->loop.bkwork, bk_work_cb, bk_after_cb) < 0) {
			log_error("backup", "name=%s: cannot queue the run", dm->loop.bk_running);
			dm->loop.bk_running[0] = '\0';
			bk_conf_release(&dm->loop.bkconf);
			continue;
		}
		dm->loop.bkbusy = 1;
		return;
	}
}

static void
bk_timer_cb(uv_timer_t *t)
{
	struct daemon *dm = t->data;
	time_t now = time(NULL);

	for (size_t i = 0; i < dm->loop.nbk; i++) {
		struct bsched *e = &dm->loop.bk[i];

		if (e->next < 0 || e->next > now)
			continue;
		if (!e->pending)
			e->pending = "schedule";
		e->next = cron_next_tz(&e->cron, e->tz, now);
	}
	daemon__bk_arm(dm);
}

/* Takes a schedule the cycle handed over, starts what is due and sets the
 * timer for the next run (at most a minute away: the clock may jump). */
void
daemon__bk_arm(struct daemon *dm)
{
	time_t now = time(NULL), next = -1;
	struct bsched *old = NULL;
	size_t nold = 0;
	char *label = NULL;

	pthread_mutex_lock(&dm->shared.mu);
	if (dm->shared.bk_handover) {
		old = dm->loop.bk;
		nold = dm->loop.nbk;
		dm->loop.bk = dm->shared.bk_new;
		dm->loop.nbk = dm->shared.nbk_new;
		dm->shared.bk_new = NULL;
		dm->shared.nbk_new = 0;
		dm->shared.bk_handover = 0;
		label = xstrdup(dm->shared.bk_label ? dm->shared.bk_label : "manifest");
	}
	pthread_mutex_unlock(&dm->shared.mu);
	/* A run waiting its turn keeps its place under the new schedule; one
	 * whose backup is gone is dropped, with a row that says so. */
	for (size_t k = 0; k < nold; k++) {
		size_t i;

		for (i = 0; i < dm->loop.nbk; i++)
			if (strcmp(dm->loop.bk[i].name, old[k].name) == 0)
				break;
		/* a schedule built again only to retry others: a run due meanwhile
		 * is not skipped by counting from the time of the build */
		if (i < dm->loop.nbk && dm->loop.bk[i].keep && old[k].tz)
			dm->loop.bk[i].next = old[k].next;
		if (!old[k].pending)
			continue;
		if (i < dm->loop.nbk) {
			if (!dm->loop.bk[i].pending)
				dm->loop.bk[i].pending = old[k].pending;
		} else {
			char why[ERR_LEN];

			snprintf(why, sizeof(why), "backup '%s' is no longer in the manifest %s: the "
			    "run was dropped", old[k].name, label);
			log_error("backup", "name=%s: %s", old[k].name, why);
			bk_fail_row(dm->cfg->state_dir, old[k].name, old[k].pending, why);
		}
	}
	daemon__bk_sched_free(old, nold);
	free(label);
	daemon__bk_kick(dm);
	for (size_t i = 0; i < dm->loop.nbk; i++)
		if (dm->loop.bk[i].next >= 0 && (next < 0 || dm->loop.bk[i].next < next))
			next = dm->loop.bk[i].next;
	if (dm->loop.stopping)
		return;
	if (next < 0 || next - now > 60)
		next = now + 60;
	uv_timer_start(&dm->loop.bktimer, bk_timer_cb, next > now ? (uint64_t)(next - now) * 1000 :
	    0, 0);
}
