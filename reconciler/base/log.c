/*
 * log: see log.h. One write(2) per line so lines from worker threads never
 * interleave. A hold keeps formatted parts, not lines: the level a line is
 * written at is known only when the hold is released.
 */
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_format format = LOG_TEXT;
static enum log_level minimum = LOG_INFO;

static const char *const names[] = { "debug", "info", "warn", "error" };

void
log_setup(enum log_format fmt, enum log_level min)
{
	format = fmt;
	minimum = min;
}

/* One line, written with one write(2). */
static void
emit(enum log_level lvl, const struct timespec *now, const char *event, const char *msg)
{
	char ts[32], *line;
	struct tm tm;
	ssize_t n;

	if (lvl < minimum)
		return;
	gmtime_r(&now->tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (format == LOG_JSON) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "time", ts, "level", names[lvl],
		    "event", event, "msg", msg ? msg : "");
		char *j = json_dumps(o, JSON_COMPACT);

		line = xasprintf("%s\n", j);
		free(j);
		json_decref(o);
	} else {
		line = xasprintf("%s.%03ldZ %-5s %s %s\n", ts, now->tv_nsec / 1000000, names[lvl],
		    event, msg ? msg : "");
	}
	n = write(STDERR_FILENO, line, strlen(line));
	(void)n;
	free(line);
}

struct held {
	struct timespec at;
	enum log_level lvl;
	char *event, *msg;
};

struct log_hold {
	pthread_mutex_t mu;
	struct held *v;
	size_t n, cap;
	int released;
};

static _Thread_local struct log_hold *current;

struct log_hold *
log_hold_new(void)
{
	struct log_hold *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void
log_hold_enter(struct log_hold *h)
{
	current = h;
}

struct log_hold *
log_hold_current(void)
{
	return current;
}

/* Under h->mu: writes and forgets what h holds. */
static void
drain(struct log_hold *h, int quiet)
{
	for (size_t i = 0; i < h->n; i++) {
		emit(quiet ? LOG_DEBUG : h->v[i].lvl, &h->v[i].at, h->v[i].event, h->v[i].msg);
		free(h->v[i].event);
		free(h->v[i].msg);
	}
	h->n = 0;
}

/* Keeps the line in h (taking msg) unless h no longer holds: 1 if kept. */
static int
hold(struct log_hold *h, enum log_level lvl, const struct timespec *at, const char *event,
    char *msg)
{
	int kept = 0;

	pthread_mutex_lock(&h->mu);
	if (!h->released && h->n == LOG_HOLD_MAX) {
		drain(h, 0);
		h->released = 1;
	}
	if (!h->released) {
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 16;
			h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
		}
		h->v[h->n++] = (struct held){ *at, lvl, xstrdup(event), msg };
		kept = 1;
	}
	pthread_mutex_unlock(&h->mu);
	return kept;
}

void
log_hold_release(struct log_hold *h, int quiet)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	drain(h, quiet);
	h->released = 1;
	pthread_mutex_unlock(&h->mu);
}

void
log_hold_free(struct log_hold *h)
{
	if (!h)
		return;
	log_hold_release(h, 0);
	if (current == h)
		current = NULL;
	pthread_mutex_destroy(&h->mu);
	free(h->v);
	free(h);
}

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
	struct timespec now;
	char *msg;
	va_list ap;

	if (lvl < minimum)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (current && hold(current, lvl, &now, event, msg))
		return;
	emit(lvl, &now, event, msg);
	free(msg);
}
