/*
 * spec_int: what spec.c and spec_swarm.c share and nobody else may use: the
 * canonical spec's builder, the labels, the healthcheck in the engine's form,
 * and the deploy settings in canonical and engine form.
 */
#ifndef RECONCILER_SPEC_INT_H
#define RECONCILER_SPEC_INT_H

#include "spec.h"

int spec__build(const struct manifest *m, const struct mf_service *s, const struct secretmap *sec,
    enum spec_target target, json_t **out, json_t *values, char *err);
/* The service's labels and the io.reconciler.* ones. */
json_t *spec__labels(const struct manifest *m, const struct mf_service *s, const json_t *spec,
    const char *revision, const char *role);
/* hc[key] = ms in nanoseconds, checked. */
int spec__set_nanos(json_t *hc, const char *key, const struct mf_service *s, const char *what,
    int64_t ms, char *err);
/* cfg.Healthcheck from the spec, unless the image's own applies. */
int spec__health(json_t *cfg, const struct mf_service *s, const json_t *spec, char *err);
/* The swarm part of the canonical spec (spec_swarm.c). */
json_t *spec__swarm_canonical(const struct mf_service *s);
/* deploy.resources in the canonical spec of a container, NULL when unset. */
json_t *spec__resources_canonical(const struct mf_deploy *dp);
/* deploy.resources into a container's HostConfig. */
void spec__container_resources(json_t *host, const struct mf_deploy *dp);

#endif
