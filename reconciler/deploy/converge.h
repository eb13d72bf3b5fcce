/*
 * converge: carries out a plan, service by service in dependency order (at
 * most `concurrency` at once), each through the backend's create, replace or
 * start behind a health gate. The old version is kept until the new one is
 * proven healthy; on failure it is put back. Volumes are never removed.
 * Blocking: the daemon runs it off its event loop.
 */
#ifndef RECONCILER_CONVERGE_H
#define RECONCILER_CONVERGE_H

#include <jansson.h>
#include <stdatomic.h>

#include "diff.h"
#include "docker.h"
#include "manifest.h"
#include "secretmap.h"
#include "state.h"

struct backend_ops;

enum converge_outcome {
	CONVERGE_SKIPPED,	/* nothing to do, or not reached */
	CONVERGE_OK,
	CONVERGE_FAILED,	/* rolled back: the old version (if any) serves */
	CONVERGE_BLOCKED,	/* could not act (foreign container, dependency failed) */
};

/* The steps of one service's rollout, in the order a start-first replace
 * takes them (a stop-first one stops the old container before it starts the
 * new one; a create has no old one). */
enum converge_step {
	STEP_PULLED,		/* the image is there (checked, or pulled) */
	STEP_CREATED,		/* the new container created */
	STEP_STARTED,		/* and started */
	STEP_FIRST_CHECK,	/* its first health check ended (the engine's time) */
	STEP_HEALTHY,		/* the gate passed (and the probe, if any) */
	STEP_ALIASES,		/* it took the service's network aliases */
	STEP_RENAMED,		/* it holds the service's name: serving */
	STEP_CUT_OVER,		/* the old container is out of the networks */
	STEP_OLD_STOPPED,
	STEP_OLD_REMOVED,
	STEP_MAX
};

struct converge_service {
	char *service;
	enum plan_action action;
	enum converge_outcome outcome;
	char *reason;		/* why it failed or was blocked */
	int extras;		/* duplicate or leftover containers removed */
	long long ms;		/* time spent, until it served (or failed) */
	/* When each step was reached: unix ms, 0 when it was not; began is when
	 * the service's rollout began. */
	long long began, steps[STEP_MAX];
	/* The old container a replace leaves running or stopped, out of the
	 * networks and renamed, once the new one serves: converge removes it
	 * after the services that were waiting for this one have started. */
	char *leftover;
};

struct converge_report {
	struct converge_service *services;
	size_t nservices;
	int failed;		/* services that failed or were blocked */
	int changed;		/* services acted on */
};

struct converge_options {
	const char *revision;		/* written to the revision label */
	const atomic_int *stop;		/* when set, no new step starts */
	/* Test hook: the name of a step ("created", "started", "gating",
	 * "old-stopped", "renaming") at which the process kills itself with
	 * SIGKILL, to prove crash safety. NULL in production. */
	const char *crash_at;
	/* Independent services rolled out at once (dependency order is always
	 * kept). Workers past the first open their own engine handle with these
	 * options; NULL keeps everything on the caller's handle, one at a time. */
	int concurrency;
	const struct docker_options *docker;
	/* Takes the backup a service names in backup_before_deploy, before that
	 * service is recreated, on the worker's engine handle: 0 or -1 with err.
	 * NULL: backup_run with no journal. A failure blocks the service. */
	int (*backup)(const struct mf_backup *b, struct docker *d, char *err, void *payload);
	void *backup_payload;
	/* How services run on the engine; NULL: standalone containers. */
	const struct backend_ops *backend;
	/* A service placed on another host of the fleet now (plan_service.moved)
	 * keeps its container here until this says the new host serves it: 1
	 * remove it, 0 keep it (why says for what it waits). NULL: removed at
	 * once. */
	int (*moved_served)(const char *service, char *why, size_t len, void *payload);
	void *moved_payload;
};
/* Independent services rolled out at once unless configured: their health
 * gates overlap, which is most of a rollout's time. */
#define CONVERGE_CONCURRENCY 4
#define CONVERGE_OPTIONS_INIT { NULL, NULL, NULL, CONVERGE_CONCURRENCY, NULL, NULL, NULL, NULL, \
	NULL, NULL }

int converge_apply(struct docker *d, const struct desired *ds, const struct plan *p,
    const struct secretmap *sec, const struct converge_options *o, struct converge_report *rep,
    char *err);
void converge_report_release(struct converge_report *rep);
const char *converge_outcome_name(enum converge_outcome o);
const char *converge_step_name(enum converge_step s);
/* The rollout's timing: {"began": unix ms, "steps": {"step": ms since it
 * began, ...}} with the steps reached, in order; NULL when none was. */
json_t *converge_steps_json(const struct converge_service *cs);

#endif
