/*
 * daemon: reconcilerd's reconcile cycle and its libuv loop. A cycle starts
 * from what Git says and what the engine says, never from memory of the last
 * one: poll the branch, read and validate the manifest at its head (falling
 * back to the last good revision when the head is invalid or Git is down),
 * diff, skip quarantined (revision, service) pairs, converge, journal, and
 * write status.json. Each cycle runs on a thread of its own; the loop only
 * schedules them and answers signals.
 */
#ifndef RECONCILER_DAEMON_H
#define RECONCILER_DAEMON_H

#include <signal.h>

#include "config.h"

enum cycle_outcome {
	CYCLE_IN_SYNC = 0,	/* nothing to do */
	CYCLE_FAILED = 1,	/* some service failed (rolled back) or is quarantined */
	CYCLE_ERROR = 2,	/* no cycle possible: Git, manifest, engine */
	CYCLE_CONVERGED = 3,	/* changes made, all healthy */
};

struct daemon;

typedef int (*daemon_reload_fn)(struct config *out, char *err, void *payload);

/* cfg is borrowed and updated in place on SIGHUP through reload, which
 * assembles a fresh config (file plus the original flags). */
struct daemon *daemon_new(struct config *cfg, daemon_reload_fn reload, void *payload);
void daemon_free(struct daemon *dm);

/* One cycle in the calling thread; the outcome doubles as --once's exit code. */
enum cycle_outcome daemon_cycle(struct daemon *dm, const char *trigger);
/* --once: one cycle, and its notifications delivered before returning. */
enum cycle_outcome daemon_once(struct daemon *dm);

/* Runs the loop until SIGTERM/SIGINT; SIGHUP reloads the config, SIGUSR1
 * starts a cycle now. Returns the process exit code. */
int daemon_run(struct daemon *dm);

/* `reconcilerd -n`: config, Git and the manifest at the branch head. */
int daemon_check(struct daemon *dm);

const char *cycle_outcome_name(enum cycle_outcome o);

#endif
