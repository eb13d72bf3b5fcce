/*
 * diff: desired state against actual state, as a plan. Pure: no I/O. Each
 * service gets one action and the field-level reasons for it; what does not
 * fit an action (duplicates, a foreign container holding the name, an
 * unhealthy or restarting container, leftovers of a rollout) is an anomaly.
 */
#ifndef RECONCILER_DIFF_H
#define RECONCILER_DIFF_H

#include <jansson.h>
#include <stdio.h>

#include "state.h"

enum plan_action {
	PLAN_IN_SYNC,	/* = */
	PLAN_CREATE,	/* + missing */
	PLAN_RECREATE,	/* ~ spec changed */
	PLAN_START,	/* > stopped or exited, spec unchanged */
	PLAN_REMOVE,	/* - not in the manifest; volumes kept */
	PLAN_BLOCKED,	/* ! cannot act: a foreign container holds the name */
};

struct plan_service {
	char *service;
	enum plan_action action;
	char *container;	/* name of the existing container, if any */
	char *id;		/* its ID */
	char *hash;		/* desired hash (NULL for remove) */
	char *current_hash;
	char *revision;		/* revision label of the existing container */
	long long version;	/* a Swarm service's version index when listed */
	json_t *reasons;	/* array of {"field","message"} */
	json_t *anomalies;	/* array of {"kind","message","container"?} */
	json_t *kept_volumes;	/* array of volume names (remove) */
	json_t *extra_ids;	/* duplicates and stale rollout containers to remove */
	char *moved;		/* remove: the service is placed on another host (why) */
};

struct plan_resource {
	char *name;
	int external;	/* must exist, is never created */
};

struct plan {
	char *project;
	struct plan_service *services;
	size_t nservices;
	struct plan_resource *networks;		/* to create (or missing externals) */
	size_t nnetworks;
	struct plan_resource *volumes;
	size_t nvolumes;
	json_t *elsewhere;	/* [{service, where}]: placed on other hosts */
};

int diff_compute(struct plan **out, const struct desired *ds, const struct actual *a);
void plan_free(struct plan *p);

/* 1 when nothing is to be done and nothing is anomalous. */
int plan_in_sync(const struct plan *p);
const char *plan_action_name(enum plan_action a);

/* terraform-plan-like text; colour escapes only when color is set. */
void plan_print(const struct plan *p, FILE *fp, int color);
/* The documented --json form (docs/diff-json.md). */
json_t *plan_json(const struct plan *p);
/* Back from that form (a daemon's GET /v1/diff), enough for plan_print and
 * plan_in_sync; -1 with err when o is not such a document. */
int plan_from_json(struct plan **out, const json_t *o, char *err);

#endif
