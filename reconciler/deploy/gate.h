/*
 * gate: the health gate a new container must pass before it serves: the
 * engine's healthcheck (or, without one, running for min_ready without a
 * restart), then the optional HTTP probe run inside the container. Blocking;
 * polls the engine.
 */
#ifndef RECONCILER_GATE_H
#define RECONCILER_GATE_H

#include "docker.h"
#include "manifest.h"

/* Waits until the container passes its health gate. 0 healthy, -1 failed
 * with the reason (exited, restarted, unhealthy with the last check's
 * output, timed out). */
int gate_wait(struct docker *d, const char *id, const struct mf_service *s, char *err);
/* The HTTP probe (wget inside the container) until it answers as expected
 * or its retries are spent. */
int gate_probe(struct docker *d, const char *id, const struct mf_probe *pr, char *err);

#endif
