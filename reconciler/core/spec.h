/*
 * spec: the canonical, normalised form of a service (defaults filled in, key
 * order fixed, secret values only as keyed digests), its SHA-256 spec hash, and
 * the Engine create body built from it. Pure: secret values come from a
 * secretmap resolved beforehand; nothing here opens a file.
 */
#ifndef RECONCILER_SPEC_H
#define RECONCILER_SPEC_H

#include <jansson.h>

#include "manifest.h"
#include "secretmap.h"

/* Labels that make a container's actual state self-describing. */
#define LABEL_PROJECT	"io.reconciler.project"
#define LABEL_SERVICE	"io.reconciler.service"
#define LABEL_HASH	"io.reconciler.spec-hash"
#define LABEL_SPEC	"io.reconciler.spec"
#define LABEL_REVISION	"io.reconciler.revision"
#define LABEL_ROLE	"io.reconciler.role"

#define ROLE_PRIMARY	"primary"	/* a service container (under a temporary
					   "<name>-next" name while it is gated) */
#define ROLE_HOOK	"hook"		/* a one-off pre-deploy container */

/* What the spec is for: a standalone container, or a Swarm service (whose
 * canonical spec adds the deploy and update settings Swarm keeps in it). */
enum spec_target { SPEC_CONTAINERS, SPEC_SWARM };

/* The canonical spec of s (new reference in *out), for containers. */
int spec_service(const struct manifest *m, const struct mf_service *s, const struct secretmap *sec,
    json_t **out, char *err);
int spec_service_for(const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, enum spec_target target, json_t **out, char *err);
/* Compact JSON with sorted keys: the text that is hashed and stored in a label. */
char *spec_canonical(const json_t *spec);
/* Lowercase hex SHA-256 of the canonical text (65 bytes with the NUL). */
void spec_hash(const json_t *spec, char out[65]);

/* "<project>-<service>", the name of the serving container. */
char *spec_container_name(const struct manifest *m, const struct mf_service *s);

/* The Engine create body: the spec made concrete (secret values included in
 * Env, so never log it) plus the io.reconciler.* labels. */
int spec_container_config(const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, const char *revision, const char *role, json_t **out, char *err);

/* The Swarm ServiceSpec of s (spec_swarm.c): the same container, plus mode,
 * placement, resources, restart, update and rollback settings; labels as on a
 * container. secrets maps each secret file's name to its Swarm secret
 * ({"id":…, "name":…}, borrowed). Secret values are in Env: never log it. */
int spec_swarm_service(const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, const char *revision, const json_t *secrets, json_t **out,
    char *err);
/* The one-off job of a pre-deploy hook: the service's task with the hook's
 * command (and image), run once to completion. */
int spec_swarm_hook(const struct manifest *m, const struct mf_service *s, const struct mf_hook *h,
    const struct secretmap *sec, const char *revision, const json_t *secrets, json_t **out,
    char *err);
/* A service changed by hand (swarm_drift.c): the fields that the
 * reconciler sets in body (its ServiceSpec) and that differ in actual (the
 * Spec the engine keeps), as "env, replicas" into *out; 1 when some differ,
 * 0 (and *out NULL) when none. id_names maps network IDs to names. */
int spec_swarm_drift(json_t *body, json_t *actual, json_t *id_names, char **out);
/* "<project>-<service>-<source>-<12 hex of the value's SHA-256>": a Swarm
 * secret is immutable, so a new value is a new name. */
char *spec_swarm_secret_name(const struct manifest *m, const struct mf_service *s,
    const char *source, const char *value, size_t len);

#endif
