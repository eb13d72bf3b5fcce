/*
 * world: see world.h.
 */
#include "world.h"
#include "util.h"

#include <string.h>

int
world_load(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct docker_options *engine,
    enum world_stage *stage, char *err)
{
	enum world_stage dummy;

	if (!stage)
		stage = &dummy;
	memset(w, 0, sizeof(*w));
	w->m = m;
	w->backend = backend ? backend : &backend_containers;
	secrets_resolve(sec, m, &w->secrets);
	*stage = WORLD_SPEC;
	if (desired_build_for(&w->ds, m, &w->secrets, w->backend->target, err) < 0)
		return -1;
	*stage = WORLD_ENGINE;
	if (docker_open(&w->d, engine, err) < 0 ||
	    w->backend->list(w->d, m->project, &w->a, err) < 0 ||
	    (w->backend->drift && w->backend->drift(&w->ds, &w->secrets, &w->a, err) < 0))
		return -1;
	*stage = WORLD_OK;
	return diff_compute(&w->p, &w->ds, &w->a);
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
	docker_free(w->d);
	memset(w, 0, sizeof(*w));
}
