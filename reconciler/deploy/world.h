/*
 * world: the one pipeline from a manifest to a plan. The host's secrets are
 * resolved once into a map, the desired state is built from it (pure), the
 * backend lists what runs, and the diff makes the plan (pure). `reconcilerctl
 * diff` and `apply`, the daemon's cycle and GET /v1/diff all load it here.
 */
#ifndef RECONCILER_WORLD_H
#define RECONCILER_WORLD_H

#include "backend.h"
#include "diff.h"
#include "docker.h"
#include "manifest.h"
#include "secretmap.h"
#include "secrets.h"
#include "state.h"

struct world {
	const struct manifest *m;		/* borrowed */
	const struct backend_ops *backend;
	struct secretmap secrets;
	struct desired ds;
	struct actual a;
	struct docker *d;	/* the engine handle it listed with; owned */
	struct plan *p;
};

enum world_stage {
	WORLD_OK,
	WORLD_SPEC,	/* a service's spec cannot be built (a secret) */
	WORLD_ENGINE,	/* the engine cannot be reached or listed */
};

/* Loads everything a plan needs, in that order. backend NULL: standalone
 * containers. host: this daemon's identity in a fleet, which places the
 * services (placement.h; NULL, and always on swarm, where Swarm places
 * them: every service is here). 0, or -1 with err and *stage (may be NULL)
 * saying which step failed; w is then still safe to release. */
int world_load(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct fleet_host *host,
    const struct docker_options *engine, enum world_stage *stage, char *err);
/* What runs now (after a rollout): lists again into *fresh and diffs the same
 * desired state against it into *out. */
int world_relist(const struct world *w, struct actual *fresh, struct plan **out, char *err);
void world_release(struct world *w);

#endif
