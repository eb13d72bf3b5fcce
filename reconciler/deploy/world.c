/*
 * world: see world.h.
 */
#include "world.h"
#include "util.h"
#include "diag.h"

#include <stdlib.h>

#include <string.h>

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

int
world_load(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct fleet_host *host,
    const struct docker_options *engine, enum world_stage *stage, char *err)
{
	enum world_stage dummy;

	if (!stage)
		stage = &dummy;
	memset(w, 0, sizeof(*w));
	w->m = m;
	w->backend = backend ? backend : &backend_containers;
	secrets_resolve(sec, m, &w->secrets);
	*stage = WORLD_SPEC;
	if (backend_keys(m, w->backend, err) < 0)
		return -1;
	if (desired_build_at(&w->ds, m, &w->secrets, w->backend->target,
	    w->backend->target == SPEC_SWARM ? NULL : host, err) < 0)
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
