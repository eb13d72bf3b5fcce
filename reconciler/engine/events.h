/*
 * events: a thread that follows the engine's event stream for containers the
 * reconciler manages (label io.reconciler.project) and passes the ones that
 * mean drift (die, destroy, turning unhealthy) to the loop through a pipe, one
 * line "PROJECT SERVICE ACTION\n" each. It reconnects, with backoff, when the engine
 * goes away and comes back, and each new stream resumes where the last one
 * ended (the events cursor), so nothing that happened in between is missed.
 */
#ifndef RECONCILER_EVENTS_H
#define RECONCILER_EVENTS_H

#include "docker.h"

struct events;

/* Starts the thread; fd is the write end of a pipe the loop reads. */
int events_start(struct events **out, const struct docker_options *opts, int fd, char *err);
/* Asks the thread to stop (it does within its stream timeout) and detaches
 * it: the caller may exit without waiting. */
void events_stop(struct events *ev);

/*
 * Where the next stream resumes: the engine's time of the last event seen
 * (timeNano, or time in seconds) and how many came at exactly that time. A
 * stream opens with since= that time (the engine replays from it, inclusive,
 * what it still holds: its last 256 events) and skips the replayed events it
 * has seen. Pure.
 */
struct events_cursor {
	long long ns;	/* 0: nothing yet */
	int same;	/* events seen at exactly ns */
	int skip;	/* of those, still to skip in the current stream */
};
#define EVENTS_CURSOR_INIT { 0, 0, 0 }
/* Before a stream opens: the since value for it, "SECONDS.NANOSECONDS".
 * Nothing seen yet: since now_ns (the host's clock, the engine's too), the
 * time the first stream opens; so too when the clock was set back. */
void events_cursor_open(struct events_cursor *c, long long now_ns, char *since, size_t n);
/* An event of the stream: 1 when it was seen in an earlier stream (skip it),
 * 0 when it is new (the cursor moves on to it). */
int events_cursor_note(struct events_cursor *c, json_t *event);

/* Pure, for the loop and for tests: is this event drift? On yes, fills
 * project, service and action (a short word: die, destroy, unhealthy). */
int events_relevant(json_t *event, char *project, size_t plen, char *service, size_t slen,
    char *action, size_t alen);

#endif
