/*
 * converge: see converge.h. The order and the bookkeeping are here; every
 * step on the engine goes through the backend (backend.h).
 */
#include "converge.h"
#include "backend.h"
#include "backup.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const char *
converge_outcome_name(enum converge_outcome o)
{
	switch (o) {
	case CONVERGE_SKIPPED: return "skipped";
	case CONVERGE_OK: return "ok";
	case CONVERGE_FAILED: return "failed";
	case CONVERGE_BLOCKED: return "blocked";
	}
	return "?";
}

static const char *const step_names[STEP_MAX] = {
	[STEP_PULLED] = "pulled",
	[STEP_CREATED] = "created",
	[STEP_STARTED] = "started",
	[STEP_FIRST_CHECK] = "first-check",
	[STEP_HEALTHY] = "healthy",
	[STEP_ALIASES] = "aliases",
	[STEP_RENAMED] = "renamed",
	[STEP_CUT_OVER] = "cut-over",
	[STEP_OLD_STOPPED] = "old-stopped",
	[STEP_OLD_REMOVED] = "old-removed",
};

const char *
converge_step_name(enum converge_step s)
{
	return (unsigned)s < STEP_MAX ? step_names[s] : "?";
}

json_t *
converge_steps_json(const struct converge_service *cs)
{
	json_t *o = NULL;

	for (int k = 0; k < STEP_MAX; k++) {
		if (!cs->steps[k])
			continue;
		if (!o)
			o = json_object();
		json_object_set_new(o, step_names[k], json_integer(cs->steps[k] - cs->began));
	}
	return o ? json_pack("{s:I,s:o}", "began", (json_int_t)cs->began, "steps", o) : NULL;
}

static const struct backend_ops *
c_ops(const struct deploy_ctx *c)
{
	return c->o->backend ? c->o->backend : &backend_containers;
}

static const struct plan_service *
plan_for(const struct plan *p, const char *service)
{
	for (size_t i = 0; i < p->nservices; i++)
		if (strcmp(p->services[i].service, service) == 0 &&
		    p->services[i].action != PLAN_REMOVE)
			return &p->services[i];
	return NULL;
}


/* The backup a service asks for before it is replaced: the old container
 * keeps serving when it fails, and this service's rollout does not start. */
static int
backup_before(const struct deploy_ctx *c, const struct mf_service *s, char *err)
{
	const struct mf_backup *b;
	char e[ERR_LEN];
	int rc;

	if (!s->backup_before_deploy)
		return 0;
	if (!(b = manifest_backup(c->ds->m, s->backup_before_deploy)))
		return errf(err, "backup '%s' before deploy: not in the manifest",
		    s->backup_before_deploy);
	log_info("rollout", "service=%s backup=%s before deploy", s->name, b->name);
	if (c->o->backup) {
		rc = c->o->backup(b, c->d, e, c->o->backup_payload);
	} else {
		struct backup_options bo = BACKUP_OPTIONS_INIT;
		struct backup_result res;

		bo.trigger = "before-deploy";
		if ((rc = backup_run(c->d, c->ds->m, b, &bo, &res, e)) == 0)
			backup_result_release(&res);
	}
	if (rc < 0) {
		char *prefix = xasprintf("backup '%s': ", b->name);
		size_t n = strlen(prefix);

		errf(err, "backup '%s' before deploy failed, old container kept: %s (fix that and "
		    "run reconcilerctl sync --retry, or roll out without the backup: remove "
		    "services.%s.backup_before_deploy in a commit)", b->name,
		    strncmp(e, prefix, n) == 0 ? e + n : e, s->name);
		free(prefix);
		return -1;
	}
	return 0;
}

/* One service's rollout; runs in a worker with its own engine handle. */
static void
run_service(const struct deploy_ctx *base, const struct plan *p, size_t i, const int *failed,
    struct converge_service *cs)
{
	struct deploy_ctx ctx = *base, *c = &ctx;
	const struct manifest *m = c->ds->m;
	const struct desired_service *dsv = &c->ds->services[i];
	const struct plan_service *ps = plan_for(p, dsv->svc->name);
	char e[ERR_LEN] = "";
	long long t0 = now_ms();
	size_t j;
	json_t *x;
	int rc = 0;

	if (dsv->elsewhere)
		return;		/* another host's; its container here, if any, goes below */
	cs->service = xstrdup(dsv->svc->name);
	cs->action = ps ? ps->action : PLAN_IN_SYNC;
	if (!ps)
		return;
	/* Duplicates and rollout leftovers go first, whatever else happens. */
	json_array_foreach(ps->extra_ids, j, x) {
		if (c_ops(c)->remove(c, json_string_value(x), dsv->svc, e) < 0)
			log_warn("cleanup", "service=%s %s", dsv->svc->name, e);
		else {
			cs->extras++;
			log_info("cleanup", "service=%s removed extra container %.12s",
			    dsv->svc->name, json_string_value(x));
		}
	}
	if (ps->action == PLAN_IN_SYNC)
		return;
	ctx.cs = cs;
	cs->began = wall_ms();
	if (c->o->stop && atomic_load(c->o->stop)) {
		cs->outcome = CONVERGE_SKIPPED;
		cs->reason = xstrdup("shutting down");
		return;
	}
	for (size_t dj = 0; dj < dsv->svc->ndepends_on; dj++) {
		const struct mf_service *dep = manifest_service(m, dsv->svc->depends_on[dj]);

		if (dep && failed[dep - m->services]) {
			rc = errf(e, "dependency '%s' failed", dep->name);
			cs->outcome = CONVERGE_BLOCKED;
		}
	}
	if (rc == 0) {
		log_info("rollout", "service=%s action=%s", dsv->svc->name,
		    plan_action_name(ps->action));
		switch (ps->action) {
		case PLAN_CREATE:
			rc = c_ops(c)->create(c, dsv, e);
			break;
		case PLAN_RECREATE:
			if ((rc = backup_before(c, dsv->svc, e)) < 0) {
				cs->outcome = CONVERGE_BLOCKED;
				break;
			}
			rc = c_ops(c)->replace(c, dsv, ps, e);
			break;
		case PLAN_START:
			rc = c_ops(c)->start(c, dsv, ps, e);
			break;
		case PLAN_BLOCKED:
			rc = errf(e, "a container not managed by this project holds the name %s",
			    dsv->name);
			cs->outcome = CONVERGE_BLOCKED;
			break;
		default:
			break;
		}
	}
	cs->ms = now_ms() - t0;
	if (rc == BACKEND_BLOCKED)
		cs->outcome = CONVERGE_BLOCKED;
	if (rc < 0) {
		if (cs->outcome != CONVERGE_BLOCKED)
			cs->outcome = CONVERGE_FAILED;
		cs->reason = xstrdup(e);
		log_error("rollout", "service=%s outcome=%s reason=\"%s\"", dsv->svc->name,
		    converge_outcome_name(cs->outcome), e);
	} else {
		cs->outcome = CONVERGE_OK;
		log_info("rollout", "service=%s outcome=ok ms=%lld", dsv->svc->name, cs->ms);
	}
}

/* The scheduler: services start in dependency order, as soon as everything
 * they depend on is done, at most `concurrency` at once. */
struct sched {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct deploy_ctx *base;
	const struct plan *p;
	size_t *order;
	int *state;		/* 0 waiting, 1 running, 2 done */
	int *failed;
	struct converge_service *slots;
	size_t n;
	size_t *leftovers;	/* services whose old container is still to go */
	size_t nleftovers;
	struct log_hold *hold;	/* the caller's: extra workers' lines go there too */
};

/* A replaced service's old container, out of the networks and renamed: it
 * goes once the new one serves, off the path of the services waiting for
 * it; a shutdown finishes it as part of the service's rollout. What fails
 * or is cut short here, the next cycle removes as a rollout's leftover. */
static void
remove_leftover(const struct deploy_ctx *base, struct sched *sc, size_t i)
{
	struct converge_service *cs = &sc->slots[i];
	const struct mf_service *s = &base->ds->m->services[i];
	struct deploy_ctx c = *base;
	char e[ERR_LEN];

	c.cs = cs;
	if (c_ops(&c)->remove(&c, cs->leftover, s, e) < 0)
		log_warn("cleanup", "service=%s old container %.12s: %s (the next cycle removes "
		    "it)", s->name, cs->leftover, e);
	free(cs->leftover);
	cs->leftover = NULL;
}

static int
ready(struct sched *sc, size_t i)
{
	const struct manifest *m = sc->base->ds->m;
	const struct mf_service *s = &m->services[i];

	for (size_t d = 0; d < s->ndepends_on; d++) {
		const struct mf_service *dep = manifest_service(m, s->depends_on[d]);

		if (dep && dep != s && sc->state[dep - m->services] != 2)
			return 0;
	}
	return 1;
}

struct worker_arg {
	struct sched *sc;
	int own_handle;
};

static void *
worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct sched *sc = wa->sc;
	struct deploy_ctx c = *sc->base;
	struct docker *own = NULL;
	char err[ERR_LEN];

	/* An engine handle is one thread's at a time: extra workers open theirs;
	 * one that cannot simply takes no work (the others carry on). */
	if (wa->own_handle) {
		log_hold_enter(sc->hold);
		if (docker_open(&own, c.o->docker, err) < 0) {
			log_warn("rollout", "worker: %s", err);
			return NULL;
		}
		c.d = own;
	}
	pthread_mutex_lock(&sc->mu);
	for (;;) {
		size_t pick = (size_t)-1, left = 0;

		for (size_t k = 0; k < sc->n; k++) {
			size_t i = sc->order[k];

			if (sc->state[i] != 2)
				left++;
			if (sc->state[i] == 0 && pick == (size_t)-1 && ready(sc, i))
				pick = i;
		}
		if (pick == (size_t)-1 && sc->nleftovers) {
			/* nothing can start now: an old container can go meanwhile */
			size_t i = sc->leftovers[--sc->nleftovers];

			pthread_mutex_unlock(&sc->mu);
			remove_leftover(&c, sc, i);
			pthread_mutex_lock(&sc->mu);
			continue;
		}
		if (!left)
			break;
		if (pick == (size_t)-1) {
			pthread_cond_wait(&sc->cv, &sc->mu);
			continue;
		}
		sc->state[pick] = 1;
		pthread_mutex_unlock(&sc->mu);
		run_service(&c, sc->p, pick, sc->failed, &sc->slots[pick]);
		pthread_mutex_lock(&sc->mu);
		if (sc->slots[pick].outcome == CONVERGE_FAILED ||
		    sc->slots[pick].outcome == CONVERGE_BLOCKED)
			sc->failed[pick] = 1;
		if (sc->slots[pick].leftover)
			sc->leftovers[sc->nleftovers++] = pick;
		sc->state[pick] = 2;
		pthread_cond_broadcast(&sc->cv);
	}
	pthread_mutex_unlock(&sc->mu);
	docker_free(own);
	return NULL;
}

/* The services the plan acts on. */
static size_t
work(const struct plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nservices; i++)
		n += p->services[i].action != PLAN_IN_SYNC && p->services[i].action != PLAN_REMOVE;
	return n;
}

int
converge_apply(struct docker *d, const struct desired *ds, const struct plan *p,
    const struct secretmap *sec, const struct converge_options *o, struct converge_report *rep,
    char *err)
{
	struct deploy_ctx c = { d, ds, sec, o, NULL };
	const struct manifest *m = ds->m;
	struct sched sc;
	pthread_t tids[64];
	struct worker_arg main_arg, extra_arg;
	size_t nthreads = 0, want;

	memset(rep, 0, sizeof(*rep));
	rep->services = xcalloc(p->nservices + m->nservices + 1, sizeof(*rep->services));
	if (c_ops(&c)->prepare(&c, p, err) < 0)
		return -1;
	memset(&sc, 0, sizeof(sc));
	pthread_mutex_init(&sc.mu, NULL);
	pthread_cond_init(&sc.cv, NULL);
	sc.base = &c;
	sc.p = p;
	sc.n = m->nservices;
	sc.order = manifest_topo_order(m);
	sc.state = xcalloc(sc.n + 1, sizeof(*sc.state));
	sc.failed = xcalloc(sc.n + 1, sizeof(*sc.failed));
	sc.slots = xcalloc(sc.n + 1, sizeof(*sc.slots));
	sc.leftovers = xcalloc(sc.n + 1, sizeof(*sc.leftovers));
	sc.hold = log_hold_current();
	want = o->concurrency > 1 && o->docker ? (size_t)o->concurrency : 1;
	if (want > work(p))
		want = work(p) ? work(p) : 1;	/* a worker is a thread and a connection */
	if (want > sizeof(tids) / sizeof(tids[0]))
		want = sizeof(tids) / sizeof(tids[0]);
	/* The calling thread is a worker too, with the caller's handle. */
	main_arg.sc = extra_arg.sc = &sc;
	main_arg.own_handle = 0;
	extra_arg.own_handle = 1;
	for (size_t t = 1; t < want; t++)
		if (pthread_create(&tids[nthreads], NULL, worker, &extra_arg) == 0)
			nthreads++;
	worker(&main_arg);
	for (size_t t = 0; t < nthreads; t++)
		pthread_join(tids[t], NULL);
	for (size_t k = 0; k < sc.n; k++) {
		size_t i = sc.order[k];

		if (!sc.slots[i].service)
			continue;
		rep->services[rep->nservices++] = sc.slots[i];
		if (sc.slots[i].outcome == CONVERGE_FAILED || sc.slots[i].outcome == CONVERGE_BLOCKED)
			rep->failed++;
		if ((sc.slots[i].action != PLAN_IN_SYNC && sc.slots[i].outcome != CONVERGE_SKIPPED) ||
		    sc.slots[i].extras)
			rep->changed++;
	}
	free(sc.slots);
	free(sc.leftovers);
	free(sc.state);
	free(sc.failed);
	free(sc.order);
	pthread_mutex_destroy(&sc.mu);
	pthread_cond_destroy(&sc.cv);

	/* Services no longer in the manifest: containers go, volumes stay. */
	for (size_t i = 0; i < p->nservices; i++) {
		const struct plan_service *ps = &p->services[i];
		struct converge_service *cs;
		char e[ERR_LEN];
		size_t j;
		json_t *x;

		if (ps->action != PLAN_REMOVE || (o->stop && atomic_load(o->stop)))
			continue;
		cs = &rep->services[rep->nservices++];
		cs->service = xstrdup(ps->service);
		cs->action = PLAN_REMOVE;
		if (ps->moved && o->moved_served &&
		    !o->moved_served(ps->service, e, sizeof(e), o->moved_payload)) {
			cs->outcome = CONVERGE_SKIPPED;
			cs->reason = xstrdup(e);
			log_info("move", "service=%s container=%s kept: %s", ps->service,
			    ps->container, e);
			continue;
		}
		cs->outcome = CONVERGE_OK;
		rep->changed++;
		if (c_ops(&c)->remove(&c, ps->id, NULL, e) < 0) {
			cs->outcome = CONVERGE_FAILED;
			cs->reason = xstrdup(e);
			rep->failed++;
		}
		json_array_foreach(ps->extra_ids, j, x)
			c_ops(&c)->remove(&c, json_string_value(x), NULL, e);
		log_info("remove", "service=%s container=%s outcome=%s (volumes kept)", ps->service,
		    ps->container, converge_outcome_name(cs->outcome));
	}
	return 0;
}

void
converge_report_release(struct converge_report *rep)
{
	for (size_t i = 0; i < rep->nservices; i++) {
		free(rep->services[i].service);
		free(rep->services[i].reason);
		free(rep->services[i].leftover);
	}
	free(rep->services);
	memset(rep, 0, sizeof(*rep));
}
