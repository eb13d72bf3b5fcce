/*
 * events: see events.h.
 */
#include "events.h"
#include "log.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_STREAM_MS 5000	/* a stream's life: the stop flag is seen within it */
#define NS 1000000000LL

struct events {
	pthread_t tid;
	struct docker_options opts;
	char *host;
	int fd;
	atomic_int stop;
	struct events_cursor cursor;	/* the thread's own */
};

/* The event's time in nanoseconds (timeNano, else time); 0 if it has none. */
static long long
event_ns(json_t *event)
{
	json_int_t tn = json_integer_value(json_object_get(event, "timeNano"));
	json_int_t t = json_integer_value(json_object_get(event, "time"));

	if (tn > 0)
		return (long long)tn;
	if (t > 0 && t < LLONG_MAX / NS)
		return (long long)t * NS;
	return 0;
}

void
events_cursor_open(struct events_cursor *c, long long now_ns, char *since, size_t n)
{
	/* nothing seen yet; or the clock was set back (the last event looks more
	 * than a second ahead): from now, or what comes meanwhile would wait */
	if (c->ns <= 0 || (now_ns > 0 && now_ns < c->ns - NS)) {
		c->ns = now_ns > 0 ? now_ns : 0;
		c->same = 0;
	}
	c->skip = c->same;
	/* nine digits: the engine reads the fraction as nanoseconds */
	snprintf(since, n, "%lld.%09lld", c->ns / NS, c->ns % NS);
}

int
events_cursor_note(struct events_cursor *c, json_t *event)
{
	long long t = event_ns(event);

	if (t <= 0 || t < c->ns)
		return 0;	/* no time, or a live one a bit out of order: new */
	if (t > c->ns) {
		c->ns = t;
		c->same = 1;
		c->skip = 0;
		return 0;
	}
	if (c->skip > 0) {
		c->skip--;	/* replayed: the last stream saw it */
		return 1;
	}
	c->same++;
	return 0;
}

int
events_relevant(json_t *event, char *project, size_t plen, char *service, size_t slen,
    char *action, size_t alen)
{
	json_t *attrs = json_object_get(json_object_get(event, "Actor"), "Attributes");
	const char *proj = json_string_value(json_object_get(attrs, LABEL_PROJECT));
	const char *type = json_string_value(json_object_get(event, "Type"));
	const char *act = json_string_value(json_object_get(event, "Action"));
	const char *svc = json_string_value(json_object_get(attrs, LABEL_SERVICE));
	const char *role = json_string_value(json_object_get(attrs, LABEL_ROLE));
	const char *name = json_string_value(json_object_get(attrs, "name"));
	const char *word;

	if (!type || strcmp(type, "container") != 0 || !act || !svc || !*svc || !proj || !*proj)
		return 0;
	if (strlen(proj) >= plen || strlen(svc) >= slen)
		return 0;	/* not a name of ours (at most 63 bytes), never cut short */
	if (role && strcmp(role, ROLE_PRIMARY) != 0)
		return 0;	/* hooks exit by design */
	if (name && strlen(name) > 5 && strcmp(name + strlen(name) - 5, "-next") == 0)
		return 0;	/* a rollout's own container under its gate */
	if (strcmp(act, "die") == 0)
		word = "die";
	else if (strcmp(act, "destroy") == 0)
		word = "destroy";
	else if (strcmp(act, "health_status: unhealthy") == 0)
		word = "unhealthy";
	else
		return 0;
	for (const char *p = svc; *p; p++)
		if (*p == ' ' || *p == '\n' || *p == '\t')
			return 0;
	for (const char *p = proj; *p; p++)
		if (*p == ' ' || *p == '\n' || *p == '\t')
			return 0;
	snprintf(project, plen, "%s", proj);
	snprintf(service, slen, "%s", svc);
	snprintf(action, alen, "%s", word);
	return 1;
}

static int
on_event(json_t *event, void *payload)
{
	struct events *ev = payload;
	char proj[128], svc[128], act[16], line[300];
	int n;

	if (ev->stop)
		return 1;
	if (events_cursor_note(&ev->cursor, event))
		return 0;
	if (!events_relevant(event, proj, sizeof(proj), svc, sizeof(svc), act, sizeof(act)))
		return 0;
	n = snprintf(line, sizeof(line), "%s %s %s\n", proj, svc, act);
	/* a full pipe drops the line: one trigger is as good as many */
	if (write(ev->fd, line, (size_t)n) < 0 && errno == EPIPE)
		return 1;
	return 0;
}

static void
on_skipped(const char *why, void *payload)
{
	(void)payload;
	log_warn("events", "skipped a line of the engine's event stream: %s", why);
}

static long long
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * NS + ts.tv_nsec;
}

/* One stream, from where the last one ended: -1 on error. Told once it
 * has run (it ends every EVENTS_STREAM_MS), after the engine came back: a
 * handle opens without a word to the engine, so only a stream says it is
 * there. */
static int
follow(struct events *ev, struct docker *d, int *connected, char *err)
{
	struct docker_events_options o = DOCKER_EVENTS_OPTIONS_INIT;
	char since[48], until[48];
	long long end = realtime_ns() + (long long)EVENTS_STREAM_MS * 1000000;
	int rc;

	events_cursor_open(&ev->cursor, realtime_ns(), since, sizeof(since));
	/* The engine ends the stream itself: a socket proxy in between may not
	 * pass the client's close on, and would keep a stream left that way
	 * open until the next event. The client's timeout is the slack. */
	snprintf(until, sizeof(until), "%lld.%09lld", end / NS, end % NS);
	o.label = LABEL_PROJECT;
	o.since = since;
	o.until = until;
	o.timeout_ms = EVENTS_STREAM_MS + 2000;
	o.event = on_event;
	o.skipped = on_skipped;
	o.payload = ev;
	rc = docker_events_follow(d, &o, err);
	if (rc >= 0 && !*connected)
		log_info("events", "following the engine's events (since %s)", since);
	*connected = rc >= 0;
	return rc;
}

/* One handle for the thread's life: a stream is a request on it, so a new
 * stream costs no new handle or version call, only the connection. */
static void *
run(void *arg)
{
	struct events *ev = arg;
	struct docker *d = NULL;
	char told[ERR_LEN] = "";
	long backoff = 1000;
	int connected = 0;

	while (!ev->stop) {
		char err[ERR_LEN];
		int rc, was;

		if (!d && docker_open(&d, &ev->opts, err) < 0) {
			if (connected)
				log_warn("events", "engine unreachable: %s", err);
			connected = 0;
			d = NULL;
			sleep_ms(backoff);
			backoff = backoff < 30000 ? backoff * 2 : 30000;
			continue;
		}
		/* a bounded stream, reopened: the stop flag is seen within it */
		was = connected;
		rc = follow(ev, d, &connected, err);
		if (rc >= 0) {
			backoff = 1000;
			told[0] = '\0';
		} else if (!ev->stop) {
			/* once, not at every try while the engine is away */
			if (was || strcmp(err, told) != 0)
				log_warn("events", "stream: %s", err);
			snprintf(told, sizeof(told), "%s", err);
			sleep_ms(backoff);
			backoff = backoff < 30000 ? backoff * 2 : 30000;
		}
	}
	docker_free(d);
	close(ev->fd);
	free(ev->host);
	free(ev);
	return NULL;
}

int
events_start(struct events **out, const struct docker_options *opts, int fd, char *err)
{
	struct events *ev = xcalloc(1, sizeof(*ev));
	int rc;

	ev->opts = *opts;
	if (opts->host)
		ev->opts.host = ev->host = xstrdup(opts->host);
	ev->fd = fd;
	if ((rc = pthread_create(&ev->tid, NULL, run, ev)) != 0) {
		free(ev->host);
		free(ev);
		return errf(err, "cannot start the events thread: %s", strerror(rc));
	}
	pthread_detach(ev->tid);
	*out = ev;
	return 0;
}

void
events_stop(struct events *ev)
{
	if (ev)
		ev->stop = 1;	/* the thread frees itself */
}
