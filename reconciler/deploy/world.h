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
	struct docker *d;	/* the engine handle it listed with */
	int own_d;		/* d is w's (world_load), else the caller's */
	struct plan *p;
	/* where the time went, in microseconds (reconcilerctl diff --stats):
	 * the desired state, the backend's list (of which engine_us waiting
	 * for the engine, the rest decoding), the diff */
	long long desired_us, list_us, engine_us, diff_us;
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
/* The same on the caller's engine handle d (borrowed, kept by the caller
 * across loads: a daemon's cycles), which world_release leaves open. */
int world_load_on(struct world *w, const struct manifest *m, const struct secrets *sec,
    const struct backend_ops *backend, const struct fleet_host *host, struct docker *d,
    enum world_stage *stage, char *err);
/* The plan of a desired state built before (ds, borrowed, with the backend
 * it was built for) against what runs now, listed on d (borrowed): a
 * daemon's GET /v1/diff from its last cycle. Not for a backend that marks
 * drift, which needs the secret values. 0 with *a and *out the caller's,
 * or -1 with err. */
int world_plan(const struct desired *ds, const struct backend_ops *backend, struct docker *d,
    struct actual *a, struct plan **out, char *err);
/* What runs now (after a rollout): lists again into *fresh and diffs the same
 * desired state against it into *out. */
int world_relist(const struct world *w, struct actual *fresh, struct plan **out, char *err);
void world_release(struct world *w);

#endif
