/*
 * durations: how long each duration of a manifest may be, and the checked
 * arithmetic that turns durations into what the engine and the health gate
 * use (nanoseconds, the gate's wait), so that no value overflows on the way.
 * docs/manifest.md lists the limits.
 */
#ifndef RECONCILER_DURATIONS_H
#define RECONCILER_DURATIONS_H

#include <stdint.h>

/* healthcheck interval, timeout and start_period; probe interval */
#define DURATIONS_MAX_HEALTH	(3600LL * 1000)			/* 1h */
/* anything the reconciler waits for: a health gate (update.timeout, or the
 * one a healthcheck implies), min_ready, probe timeout, a hook's timeout,
 * stop_grace_period */
#define DURATIONS_MAX_WAIT	(24LL * 3600 * 1000)		/* 24h */
/* a backup's retention.max_age */
#define DURATIONS_MAX_RETENTION	(876000LL * 3600 * 1000)	/* 876000h, 100 years */
/* what a health gate waits beyond the healthcheck's own worst case */
#define DURATIONS_GATE_SLACK	30000

/* ms in nanoseconds, into *ns; -1 when it does not fit in 64 bits. */
int durations_ns(int64_t ms, int64_t *ns);
/* The longest a health gate waits for a healthcheck to pass, into *ms:
 * start + (interval + timeout) * retries + DURATIONS_GATE_SLACK; -1 when an
 * input is negative or the result does not fit in 64 bits. */
int durations_gate_wait(int64_t start, int64_t interval, int64_t timeout, int64_t retries,
    int64_t *ms);

#endif
