/*
 * backend: the engine seam. The cycle, `reconcilerctl apply` and the diff
 * see a project's services only through these operations; converge.c runs
 * them in dependency order behind health gates. Two backends: standalone
 * containers (containers.c) and Swarm services (swarm.c); backend.c's table
 * names them.
 */
#ifndef RECONCILER_BACKEND_H
#define RECONCILER_BACKEND_H

#include "converge.h"
#include "diff.h"
#include "docker.h"
#include "manifest.h"
#include "secretmap.h"
#include "spec.h"
#include "state.h"

/* What one rollout step works with; each worker has its own engine handle. */
struct deploy_ctx {
	struct docker *d;
	const struct desired *ds;
	const struct secretmap *sec;
	const struct converge_options *o;
	/* The service being rolled out: its step times and its leftover (NULL
	 * outside a rollout, e.g. a removal). */
	struct converge_service *cs;
};

/* What create, replace and start return (instead of -1) when the step could
 * not act for a reason that is not the new version's fault (someone changed
 * the service meanwhile): the service is blocked, the revision not blamed. */
#define BACKEND_BLOCKED (-2)

struct backend_ops {
	const char *name;
	/* the canonical spec this backend's services carry */
	enum spec_target target;
	/* The project's actual state: everything it runs (and whatever holds a
	 * name it needs), its networks and volumes. */
	int (*list)(struct docker *d, const char *project, struct actual *out, char *err);
	/* Optional: sends list's requests now, so the engine answers them while
	 * the caller builds the desired state; list then reads the answers. */
	void (*list_ahead)(struct docker *d, const char *project);
	/* After list, optional: marks (actual_container.drift) what was changed by
	 * hand though its spec hash still matches. */
	int (*drift)(const struct desired *ds, const struct secretmap *sec, struct actual *a,
	    char *err);
	/* What services share, before any of them: networks and volumes. */
	int (*prepare)(const struct deploy_ctx *c, const struct plan *p, char *err);
	/* A missing service, created behind its gate; on failure nothing of the
	 * attempt is left running. */
	int (*create)(const struct deploy_ctx *c, const struct desired_service *dsv, char *err);
	/* A changed service: the new version behind its gate while the old one is
	 * kept; on failure it rolls back, and the old version serves. */
	int (*replace)(const struct deploy_ctx *c, const struct desired_service *dsv,
	    const struct plan_service *ps, char *err);
	/* A stopped service whose spec is unchanged, started behind its gate. */
	int (*start)(const struct deploy_ctx *c, const struct desired_service *dsv,
	    const struct plan_service *ps, char *err);
	/* A service the manifest no longer has, or a duplicate or leftover of a
	 * rollout (s NULL when the manifest has no such service): stopped and
	 * removed; its volumes are never removed. */
	int (*remove)(const struct deploy_ctx *c, const char *id, const struct mf_service *s,
	    char *err);
};

extern const struct backend_ops backend_containers;
extern const struct backend_ops backend_swarm;

/* The backend called name ("containers"), or NULL. */
const struct backend_ops *backend_find(const char *name);

/* Test hook of converge_options.crash_at: SIGKILL at that step. */
void deploy_crash_point(const struct converge_options *o, const char *step);
/* The rollout reached step: its time noted (c->cs), and a debug log line. */
void deploy_step(const struct deploy_ctx *c, enum converge_step step);

#endif
