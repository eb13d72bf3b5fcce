/*
 * world: see world.h.
 */
#include "world.h"
#include "util.h"
#include "diag.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Keys only the other backend honours make the manifest unusable here, as
 * any manifest error does: the first is told, with how many follow. */
static int
backend_keys(const struct manifest *m, const struct backend_ops *b, char *err)
{
	struct diag d;
	char *first;
	int rc = 0;

	diag_init(&d, m->file);
	if (manifest_check_backend(m, b->name, &d) < 0) {
		first = diag_first(&d);
		if (d.n > 1)
			errf(err, "%s (and %zu more of the kind)", first, d.n - 1);
		else
			errf(err, "%s", first);
		free(first);
		rc = -1;
	}
	diag_release(&d);
	return rc;
}

/* The steps after the engine handle is there, each timed. */
static int
load(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct fleet_host *host,
    const struct docker_options *engine, enum world_stage *stage, char *err)
{
	char oerr[ERR_LEN];
	long long t0, e0;

	w->m = m;
	w->backend = backend ? backend : &backend_containers;
	secrets_resolve(sec, m, &w->secrets);
	*stage = WORLD_SPEC;
	if (backend_keys(m, w->backend, err) < 0)
		return -1;
	/* the engine lists while the desired state is built; an engine that
	 * cannot be reached is said after what is wrong with the manifest */
	if (w->d || docker_open(&w->d, engine, oerr) == 0) {
		if (w->backend->list_ahead)
			w->backend->list_ahead(w->d, m->project);
	}
	t0 = now_us();
	if (desired_build_at(&w->ds, m, &w->secrets, w->backend->target,
	    w->backend->target == SPEC_SWARM ? NULL : host, err) < 0)
		return -1;
	w->desired_us = now_us() - t0;
	*stage = WORLD_ENGINE;
	if (!w->d)
		return errf(err, "%s", oerr);
	t0 = now_us();
	e0 = docker_time_us(w->d);
	if (w->backend->list(w->d, m->project, &w->a, err) < 0 ||
	    (w->backend->drift && w->backend->drift(&w->ds, &w->secrets, &w->a, err) < 0))
		return -1;
	w->list_us = now_us() - t0;
	w->engine_us = docker_time_us(w->d) - e0;
	*stage = WORLD_OK;
	t0 = now_us();
	if (diff_compute(&w->p, &w->ds, &w->a) < 0)
		return -1;
	w->diff_us = now_us() - t0;
	return 0;
}

int
world_load(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct fleet_host *host,
    const struct docker_options *engine, enum world_stage *stage, char *err)
{
	enum world_stage dummy;

	memset(w, 0, sizeof(*w));
	w->own_d = 1;
	return load(w, m, sec, backend, host, engine, stage ? stage : &dummy, err);
}

int
world_load_on(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct fleet_host *host, struct docker *d,
    enum world_stage *stage, char *err)
{
	enum world_stage dummy;

	memset(w, 0, sizeof(*w));
	w->d = d;
	return load(w, m, sec, backend, host, NULL, stage ? stage : &dummy, err);
}

int
world_plan(const struct desired *ds, const struct backend_ops *backend, struct docker *d,
    struct actual *a, struct plan **out, char *err)
{
	*out = NULL;
	memset(a, 0, sizeof(*a));
	if (!backend)
		backend = &backend_containers;
	if (backend->drift)
		return errf(err, "the %s backend's diff needs the secret values", backend->name);
	if (backend->list(d, ds->m->project, a, err) < 0)
		return -1;
	return diff_compute(out, ds, a);
}

int
world_relist(const struct world *w, struct actual *fresh, struct plan **out, char *err)
{
	*out = NULL;
	if (w->backend->list(w->d, w->m->project, fresh, err) < 0 ||
	    (w->backend->drift && w->backend->drift(&w->ds, &w->secrets, fresh, err) < 0))
		return -1;
	return diff_compute(out, &w->ds, fresh);
}

void
world_release(struct world *w)
{
	plan_free(w->p);
	actual_release(&w->a);
	desired_release(&w->ds);
	secretmap_release(&w->secrets);
	if (w->own_d)
		docker_free(w->d);
	memset(w, 0, sizeof(*w));
}
