/*
 * events: a thread that follows the engine's event stream for containers the
 * reconciler manages (label io.reconciler.project) and passes the ones that
 * mean drift (die, destroy, turning unhealthy) to the loop through a pipe, one
 * line "PROJECT SERVICE ACTION\n" each. It reconnects, with backoff, when the engine
 * goes away and comes back.
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

/* Pure, for the loop and for tests: is this event drift? On yes, fills
 * project, service and action (a short word: die, destroy, unhealthy). */
int events_relevant(json_t *event, char *project, size_t plen, char *service, size_t slen,
    char *action, size_t alen);

#endif
