/*
 * state: the actual state of a project as the engine reports it, decoded from
 * one container list (plus the network and volume lists), and the desired
 * state computed from a manifest. Both are plain data for diff.
 */
#ifndef RECONCILER_STATE_H
#define RECONCILER_STATE_H

#include <jansson.h>

#include "docker.h"
#include "manifest.h"
#include "secrets.h"

struct actual_container {
	struct docker_container c;
	json_t *raw;		/* the list item (mounts, networks) */
	const char *project;	/* label values, borrowed from c.labels */
	const char *service;
	const char *hash;
	const char *role;
	const char *revision;
	const char *spec;
};

struct actual {
	struct actual_container *containers;	/* every container on the host */
	size_t ncontainers;
	json_t *networks;	/* names (object: name -> true) */
	json_t *volumes;	/* names (object: name -> true) */
};

struct desired_service {
	const struct mf_service *svc;
	json_t *spec;		/* canonical spec */
	char hash[65];
	char *name;		/* container name */
};

struct desired {
	const struct manifest *m;
	struct desired_service *services;
	size_t nservices;
};

/* Decodes a GET /containers/json?all=1 array and the network and volume lists
 * (either may be NULL). */
int actual_from_json(struct actual *a, json_t *containers, json_t *networks, json_t *volumes,
    char *err);
/* Lists what it needs from the engine in 3 calls: the containers whose name
 * starts with "<project>-" (every container of the project, and any foreign
 * one holding a name the project needs), the networks and the volumes. */
int actual_load(struct actual *a, struct docker *d, const char *project, char *err);
void actual_release(struct actual *a);
/* One row per service of m (manifest order; state "missing" when it has no
 * container), then per container of project whose service m no longer has
 * (every service when m is NULL): service, container, id, state, health,
 * image, status, revision, role. What `reconcilerctl status` shows and
 * status.json's "services". */
json_t *actual_services_json(const struct actual *a, const struct manifest *m,
    const char *project);

/* Computes every service's canonical spec and hash (reads secrets). */
int desired_build(struct desired *ds, const struct manifest *m, const struct secrets *sec,
    char *err);
void desired_release(struct desired *ds);

#endif
