/*
 * notify: sends notifications (Discord, Slack, a generic JSON webhook
 * optionally HMAC-signed) from a thread of their own, retried with backoff, so
 * that a slow or dead receiver never holds reconciliation up. Callers decide
 * what to send and deduplicate; this module only delivers. URLs are secrets:
 * they are never logged. The same thread posts the deploy's status on the
 * commit (notify_post): one queue, one set of retries.
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
 * that wants it. message: one line for humans. */
void notify_event(struct notifier *n, const struct manifest *m, const struct secrets *sec,
    const char *event, const char *revision, const char *service, const char *message);

/* What a rollout notification tells besides its message (docs/notifications.md):
 * the generic webhook's fields of the same names, a second line of Discord's
 * and Slack's text. Every string may be NULL (unknown: null in the JSON). */
struct notify_detail {
	const char *subject;	/* the revision's commit subject */
	const char *old_image;	/* what ran before, by digest */
	const char *new_image;	/* what the revision asks for */
	const char *reason;	/* why it failed, or why it is told */
	int reminder;		/* a failure told before that still lasts */
};

/* notify_event with the detail of a rollout (d may be NULL). */
void notify_event_detail(struct notifier *n, const struct manifest *m, const struct secrets *sec,
    const char *event, const char *revision, const char *service, const char *message,
    const struct notify_detail *d);

/* Queues a POST of body (JSON) to url with extra headers ("Name: value"),
 * delivered and retried as a notification is. url and headers are secrets
 * (a token): copied, wiped when done, never logged; name is what the logs
 * say. */
void notify_post(struct notifier *n, const char *name, const char *url,
    const char *const *headers, size_t nheaders, const char *body);

/* Notifications delivered and given up since start (for /metrics and tests;
 * notify_post's are not counted). */
void notify_counts(struct notifier *n, unsigned long *sent, unsigned long *failed);

#endif
