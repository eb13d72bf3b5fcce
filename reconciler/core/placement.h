/*
 * placement: which services of a manifest run on this host when several
 * hosts, each with its own reconcilerd and engine, follow one repository
 * (docs/fleet.md). A service says where it runs with Swarm's own constraint
 * language, deploy.placement.constraints, read on backend containers against
 * the daemon's identity: node.hostname (the config's `host`) and
 * node.labels.NAME (its `host_labels`). Pure.
 */
#ifndef RECONCILER_PLACEMENT_H
#define RECONCILER_PLACEMENT_H

#include <jansson.h>
#include <stddef.h>

#include "manifest.h"

/* This daemon's identity. */
struct fleet_host {
	char *name;
	struct mf_kv *labels;
	size_t nlabels;
};

/* NULL when s runs on host h (every constraint holds; a service without
 * constraints runs on every host, and so does every service when h is NULL);
 * otherwise, owned, the first constraint that does not hold and why, e.g.
 * "node.hostname == db1 (this host is web1)". */
char *placement_elsewhere(const struct mf_service *s, const struct fleet_host *h);

/* 1 when constraint (valid for Swarm) names an attribute backend containers
 * reads: node.hostname or node.labels.NAME. */
int placement_attr_ok(const char *constraint);

/* "role=web" into h's labels; -1 (and nothing added) when it is not
 * NAME=VALUE with a NAME as node.labels.NAME takes. */
int fleet_host_add_label(struct fleet_host *h, const char *kv);
/* {"name": …, "labels": {…}}: what status.json says of this host. */
json_t *fleet_host_json(const struct fleet_host *h);
void fleet_host_copy(struct fleet_host *dst, const struct fleet_host *src);
void fleet_host_release(struct fleet_host *h);

#endif
