/*
 * sdnotify: systemd's readiness protocol spoken on $NOTIFY_SOCKET directly,
 * without libsystemd: one AF_UNIX datagram of KEY=VALUE lines per state
 * (READY=1, STATUS=…, RELOADING=1, STOPPING=1, WATCHDOG=1). Sending never
 * blocks and never fails the caller; the first failure of a run is logged.
 */
#ifndef RECONCILER_SDNOTIFY_H
#define RECONCILER_SDNOTIFY_H

#include <stdint.h>
#include <sys/types.h>

/* A datagram longer than this is cut (STATUS= lines are short). */
#define SDNOTIFY_MAX 1024

struct sdnotify;

/* Opens a socket towards addr, the value of $NOTIFY_SOCKET: an absolute path
 * or "@name" in the abstract namespace. addr NULL or empty: 0 with *out NULL,
 * and every call below is a no-op on NULL. -1 with err for an address that
 * is neither. */
int sdnotify_open(struct sdnotify **out, const char *addr, char *err);
void sdnotify_free(struct sdnotify *n);

/* Sends one datagram (a printf format of newline-separated KEY=VALUE lines).
 * Returns 0, or -1 when it could not be sent (full queue, no receiver):
 * logged once until a send succeeds again. Safe from any thread. */
int sdnotify_send(struct sdnotify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The watchdog interval systemd asks for, in microseconds, from the values of
 * $WATCHDOG_USEC and $WATCHDOG_PID: 0 when off, malformed, or meant for
 * another process (pid set and not self). Ping every half of it. */
uint64_t sdnotify_watchdog_usec(const char *usec, const char *pid, pid_t self);

#endif
