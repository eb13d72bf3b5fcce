/*
 * selfheal: the engine's events for the containers this daemon manages start
 * a cycle (after a short debounce), so a dead container is healed before the
 * next poll; a service healed too often in a short window is "flapping" and
 * left alone until a new revision or `reconcilerctl sync --retry`.
 */
#include "daemon_int.h"
#include "diff.h"
#include "docker.h"
#include "events.h"
#include "linesplit.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Counts one heal (a start or create of an existing service's container);
 * returns 1 when the service just became flapping. */
int
daemon__flap_note(struct daemon *dm, const char *service)
{
	long long now = now_ms();
	struct flap *f = NULL;
	int newly = 0, recent = 0;

	pthread_mutex_lock(&dm->shared.mu);
	for (int i = 0; i < FLAP_SERVICES && !f; i++)
		if (strcmp(dm->shared.flaps[i].service, service) == 0)
			f = &dm->shared.flaps[i];
	for (int i = 0; i < FLAP_SERVICES && !f; i++)
		if (!dm->shared.flaps[i].service[0]) {
			f = &dm->shared.flaps[i];
			snprintf(f->service, sizeof(f->service), "%s", service);
		}
	if (f) {
		f->times[f->n % FLAP_LIMIT] = now;
		f->n++;
		for (int i = 0; i < FLAP_LIMIT && i < f->n; i++)
			if (now - f->times[i] <= FLAP_WINDOW)
				recent++;
		if (recent >= FLAP_LIMIT && !f->flapping)
			newly = f->flapping = 1;
	}
	pthread_mutex_unlock(&dm->shared.mu);
	return newly;
}

/* 1 when the service is flapping: no heal until a new revision or a retry. */
int
daemon__flapping(struct daemon *dm, const char *service)
{
	int yes = 0;

	pthread_mutex_lock(&dm->shared.mu);
	for (int i = 0; i < FLAP_SERVICES; i++)
		if (dm->shared.flaps[i].flapping && strcmp(dm->shared.flaps[i].service, service) == 0)
			yes = 1;
	pthread_mutex_unlock(&dm->shared.mu);
	return yes;
}

/* sync --retry: every service gets a fresh chance. */
void
daemon__flaps_clear(struct daemon *dm)
{
	pthread_mutex_lock(&dm->shared.mu);
	for (int i = 0; i < FLAP_SERVICES; i++)
		dm->shared.flaps[i].flapping = dm->shared.flaps[i].n = 0;
	pthread_mutex_unlock(&dm->shared.mu);
}

/* A new revision gets a fresh chance. */
void
daemon__flaps_revision(struct daemon *dm, const char *commit)
{
	pthread_mutex_lock(&dm->shared.mu);
	if (strcmp(dm->shared.flap_head, commit) != 0) {
		for (int i = 0; i < FLAP_SERVICES; i++)
			dm->shared.flaps[i].flapping = dm->shared.flaps[i].n = 0;
		snprintf(dm->shared.flap_head, sizeof(dm->shared.flap_head), "%s", commit);
	}
	pthread_mutex_unlock(&dm->shared.mu);
}

/* A flapping service is not healed (started or created again): its start or
 * create leaves the plan, and it joins the status's quarantined list.
 * Returns how many entries it added there. */
int
daemon__flaps_hold(struct daemon *dm, struct plan *p, const char *rev, json_t *quarantined)
{
	int nquar = 0;

	pthread_mutex_lock(&dm->shared.mu);
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];

		for (int k = 0; k < FLAP_SERVICES; k++) {
			if (!dm->shared.flaps[k].flapping ||
			    strcmp(dm->shared.flaps[k].service, ps->service) != 0)
				continue;
			json_array_append_new(quarantined, json_pack("{s:s,s:s,s:o}", "revision",
			    rev, "service", ps->service, "reason", json_sprintf("flapping: healed %d "
			    "times in %d minutes; not healed again until a new revision or "
			    "`reconcilerctl sync --retry`", FLAP_LIMIT, FLAP_WINDOW / 60000)));
			nquar++;
			if (ps->action == PLAN_START || ps->action == PLAN_CREATE)
				ps->action = PLAN_IN_SYNC;
		}
	}
	pthread_mutex_unlock(&dm->shared.mu);
	return nquar;
}

static void
debounce_cb(uv_timer_t *t)
{
	daemon__schedule(t->data, "event");
}

/*
 * The loop's end of the events pipe: whole lines "PROJECT SERVICE ACTION",
 * however the reads cut them (a line may straddle two reads), and a line
 * over the bound skipped whole (the thread writes lines of at most ~300
 * bytes: a longer one is not from it).
 */
#define EVLINE_MAX 1024

struct evreader {
	struct daemon *dm;
	struct linesplit lines;
	char buf[4096];
};

static void
evalloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct evreader *r = h->data;

	(void)suggested;
	b->base = r->buf;
	b->len = sizeof(r->buf);
}

static int
evline_long(size_t len, void *payload)
{
	(void)payload;
	log_warn("events", "skipped a line of %zu bytes from the events thread (more than %d)",
	    len, EVLINE_MAX);
	return 0;
}

static int
evline(char *line, size_t len, void *payload)
{
	struct daemon *dm = payload;
	char *sp = strchr(line, ' '), *svc;
	int ours;

	(void)len;
	if (!sp || !(svc = sp + 1, sp = strchr(svc, ' ')))
		return 0;
	*sp = '\0';
	svc[-1] = '\0';
	pthread_mutex_lock(&dm->shared.mu);
	ours = strcmp(line, dm->shared.project) == 0;
	pthread_mutex_unlock(&dm->shared.mu);
	if (!ours)
		return 0;
	if (dm->loop.busy) {
		/* our own doing, most likely: look once more after */
		dm->loop.again = 1;
		return 0;
	}
	log_info("event", "service=%s %s", svc, sp + 1);
	uv_timer_start(&dm->loop.debounce, debounce_cb, 1000, 0);
	return 0;
}

static void
evread_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct evreader *r = s->data;

	if (n < 0) {
		/* the thread is gone: a line it left unfinished is not one */
		linesplit_reset(&r->lines);
		uv_read_stop(s);
		return;
	}
	linesplit_feed(&r->lines, b->base, (size_t)n, evline, evline_long, r->dm);
}

static void
evpipe_closed(uv_handle_t *h)
{
	struct evreader *r = h->data;

	linesplit_release(&r->lines);
	free(r);
}

void
daemon__selfheal_open(struct daemon *dm)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	struct evreader *r;
	char err[ERR_LEN];
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_warn("events", "pipe: %s", strerror(errno));
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->dm = dm;
	linesplit_init(&r->lines, EVLINE_MAX);
	uv_pipe_init(&dm->loop.uv, &dm->loop.evpipe, 0);
	dm->loop.evpipe.data = r;
	uv_pipe_open(&dm->loop.evpipe, fds[0]);
	dm->loop.evpipe_open = 1;
	uv_read_start((uv_stream_t *)&dm->loop.evpipe, evalloc_cb, evread_cb);
	o.host = dm->cfg->docker_host;
	o.timeout_ms = dm->cfg->engine_timeout;
	if (events_start(&dm->loop.events, &o, fds[1], err) < 0) {
		log_warn("events", "%s (self-heal waits for the next poll)", err);
		close(fds[1]);
	}
}

/* Shutting down: the events thread detaches, the pipe and the timer close. */
void
daemon__selfheal_close(struct daemon *dm)
{
	events_stop(dm->loop.events);
	dm->loop.events = NULL;
	if (dm->loop.evpipe_open) {
		uv_close((uv_handle_t *)&dm->loop.evpipe, evpipe_closed);
		dm->loop.evpipe_open = 0;
	}
	uv_timer_stop(&dm->loop.debounce);
	uv_close((uv_handle_t *)&dm->loop.debounce, NULL);
}
