/*
 * notify: sends notifications (Discord, Slack, a generic JSON webhook
 * optionally HMAC-signed) from a thread of their own, retried with backoff, so
 * that a slow or dead receiver never holds reconciliation up. Callers decide
 * what to send and deduplicate; this module only delivers. URLs are secrets:
 * they are never logged.
 */
#ifndef RECONCILER_NOTIFY_H
#define RECONCILER_NOTIFY_H

#include "manifest.h"
#include "secrets.h"

struct notifier;

int notify_start(struct notifier **out, char *err);
/* Stops the thread after the queue is drained or `grace_ms` passed. */
void notify_stop(struct notifier *n, long grace_ms);

/* Queues `event` (one of manifest_event_names) for every notification of m
 * that wants it. message: one line for humans; fields: extra JSON fields for
 * the generic webhook (borrowed, may be NULL). */
void notify_event(struct notifier *n, const struct manifest *m, const struct secrets *sec,
    const char *event, const char *revision, const char *service, const char *message);

/* Messages delivered and given up since start (for /metrics and tests). */
void notify_counts(struct notifier *n, unsigned long *sent, unsigned long *failed);

#endif
