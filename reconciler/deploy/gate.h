/*
 * gate: the health gate a new container must pass before it serves: the
 * engine's healthcheck (or, without one, running for min_ready without a
 * restart), then the optional HTTP probe run inside the container. Blocking.
 * The gate follows the engine's events for the one container (health status,
 * die, destroy, start, restart, pause) and inspects it once at the start and
 * once per event: it knows as soon as the engine does. Where the event
 * stream cannot be opened it polls, an inspect every 200 ms.
 */
#ifndef RECONCILER_GATE_H
#define RECONCILER_GATE_H

#include "docker.h"
#include "manifest.h"

/* Waits until the container passes its health gate. 0 healthy, -1 failed
 * with the reason (exited, restarted, unhealthy with the last check's
 * output, removed, timed out). */
int gate_wait(struct docker *d, const char *id, const struct mf_service *s, char *err);
/* The HTTP probe (wget inside the container) until it answers as expected
 * or its retries are spent. */
int gate_probe(struct docker *d, const char *id, const struct mf_probe *pr, char *err);

/*
 * The gate's judgement of one inspect, pure (here for gate_wait and tests).
 * Times are now_ms() milliseconds.
 */
enum gate_verdict {
	GATE_WAIT,	/* nothing decided yet */
	GATE_PASS,
	GATE_FAIL,	/* err says why */
	GATE_STOPPED,	/* failed as err says, unless the container is being
			 * removed: the caller checks, and then says so */
};
struct gate_state {
	const struct mf_service *s;	/* borrowed */
	long long start, deadline;	/* deadline 0: not known before the first look */
	long long ready_since;		/* no healthcheck: running since; -1 not yet */
	long long restarts0;		/* RestartCount at the first look; -1 before */
	int has_health;
	int looks;			/* inspects made */
	char status[16], health[16];	/* as last seen */
};
void gate_state_init(struct gate_state *g, const struct mf_service *s, long long now);
/* info: GET /containers/{id}/json (borrowed). */
enum gate_verdict gate_judge(struct gate_state *g, json_t *info, long long now, char *err);
/* How long, from now, until the next look is due with no event: min_ready
 * reached, or the deadline passed. At least 1. */
long long gate_next_look(const struct gate_state *g, long long now);

#endif
