/*
 * state: the actual state of a project as a backend lists it (its containers,
 * networks and volumes), and the desired state computed from a manifest and
 * its resolved secrets. Both are plain data for diff: nothing here knows the
 * engine client's types or does I/O (deploy/ fills struct actual).
 */
#ifndef RECONCILER_STATE_H
#define RECONCILER_STATE_H

#include <jansson.h>

#include "manifest.h"
#include "placement.h"
#include "secretmap.h"
#include "spec.h"

/* One container, as the engine lists or inspects it. */
struct actual_ctr {
	char *id;
	char *name;	/* without the leading slash */
	char *image;	/* as given at create */
	char *image_id;	/* "sha256:…", or NULL */
	char *state;	/* created, running, exited, … */
	char *status;	/* "Up 3 minutes (healthy)", or NULL */
	char *health;	/* "healthy", "unhealthy", "starting", or NULL */
	long long created;	/* unix seconds */
	json_t *labels;	/* owned reference, an object of strings */
	long long version;	/* a Swarm service's version index; 0 for a container */
};

struct actual_container {
	struct actual_ctr c;
	json_t *raw;		/* the list item (mounts, networks) */
	const char *project;	/* label values, borrowed from c.labels */
	const char *service;
	const char *hash;
	const char *role;
	const char *revision;
	const char *spec;
	char *drift;		/* owned: fields changed by hand (swarm), or NULL */
};

struct actual {
	struct actual_container *containers;	/* every container on the host */
	size_t ncontainers;
	json_t *networks;	/* names (object: name -> true) */
	json_t *volumes;	/* names (object: name -> true) */
};

/* One per service of the manifest, in its order (services[i].svc is
 * &m->services[i]). A service placed on another host of a fleet has no spec
 * here: only its name and why it runs elsewhere. */
struct desired_service {
	const struct mf_service *svc;
	json_t *spec;		/* canonical spec; NULL when elsewhere */
	char hash[65];
	char *name;		/* container name */
	char *elsewhere;	/* owned: why it runs on another host, or NULL */
};

struct desired {
	const struct manifest *m;
	struct desired_service *services;
	size_t nservices;
	size_t nelsewhere;	/* services placed on other hosts */
};

/* Takes over c (its strings and labels), points the label fields at the
 * io.reconciler.* labels and keeps a reference to raw (the engine's item:
 * mounts and networks), appending one container to a. */
void actual_add(struct actual *a, struct actual_ctr *c, json_t *raw);
/* The set of names ({name: true}) of a list of objects with a "Name" (of
 * list[inner] when inner is given and list is an object). */
json_t *actual_name_set(json_t *list, const char *inner);
void actual_ctr_release(struct actual_ctr *c);
void actual_release(struct actual *a);
/* One row per service of m (manifest order; state "missing" when it has no
 * container), then per container of project whose service m no longer has
 * (every service when m is NULL): service, container, id, state, health,
 * image, status, revision, role. What `reconcilerctl status` shows and
 * status.json's "services". */
json_t *actual_services_json(const struct actual *a, const struct manifest *m,
    const char *project);
/* The same with the placement of ds: a service placed on another host with
 * nothing of it here is a row of state "elsewhere" (its "where" says why). */
json_t *actual_services_json_at(const struct actual *a, const struct desired *ds);
/* The same with the placement on host (NULL, or m NULL: none). */
json_t *actual_services_json_host(const struct actual *a, const struct manifest *m,
    const char *project, const struct fleet_host *host);

/* Computes every service's canonical spec and hash from the resolved secrets. */
int desired_build(struct desired *ds, const struct manifest *m, const struct secretmap *sec,
    char *err);
/* The same for a backend's kind of spec (spec.h). */
int desired_build_for(struct desired *ds, const struct manifest *m, const struct secretmap *sec,
    enum spec_target target, char *err);
/* The same with the placement on host (placement.h; NULL: every service runs
 * here): a service placed elsewhere gets no spec, so the secrets it names
 * need not exist on this host. */
int desired_build_at(struct desired *ds, const struct manifest *m, const struct secretmap *sec,
    enum spec_target target, const struct fleet_host *host, char *err);
/* 1 when a service placed here uses the network (the volume) of that key, or
 * when nothing is placed elsewhere: only those are ensured on this host. */
int desired_uses_network(const struct desired *ds, const char *key);
int desired_uses_volume(const struct desired *ds, const char *key);
void desired_release(struct desired *ds);

#endif
