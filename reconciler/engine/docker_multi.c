/*
 * docker_multi: several GETs at once, each on a connection of its own (the
 * handle's, and the side connections it keeps), so a list of containers,
 * networks and volumes costs the slowest of them rather than their sum. What
 * one of them gets back is read as docker__call reads it; one refused for its
 * API version is sent again alone, at the engine's.
 *
 * They may be sent ahead (docker_get_all_send) while the caller works out
 * what it wants, and read later by docker_get_all with the same paths: the
 * engine's time then overlaps the caller's.
 */
#include "docker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct docker__ahead {
	size_t n;
	char *paths[DOCKER__SIDE];
	struct docker__req r[DOCKER__SIDE];
	struct docker__sink s[DOCKER__SIDE];
	struct docker__xfer v[DOCKER__SIDE];
};

static struct docker__ahead *
ahead_new(struct docker *d, const char *const *paths, size_t n)
{
	struct docker__ahead *a = xcalloc(1, sizeof(*a));

	a->n = n;
	for (size_t i = 0; i < n; i++) {
		a->paths[i] = xstrdup(paths[i]);
		a->r[i].method = "GET";
		a->r[i].path = a->paths[i];
		a->r[i].timeout_ms = d->timeout_ms;
		docker__sink_init(&a->s[i], d, DOCKER__SINK_BUFFER);
		a->v[i].r = &a->r[i];
		a->v[i].s = &a->s[i];
		a->v[i].conn = i ? &d->side[i - 1] : &d->fd;
	}
	return a;
}

static void
ahead_free(struct docker__ahead *a)
{
	for (size_t i = 0; a && i < a->n; i++) {
		docker__sink_release(&a->s[i]);
		free(a->paths[i]);
	}
	free(a);
}

/* Whether a holds these very GETs. */
static int
ahead_is(const struct docker__ahead *a, const char *const *paths, size_t n)
{
	if (!a || a->n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(a->paths[i], paths[i]) != 0)
			return 0;
	return 1;
}

void
docker__ahead_drop(struct docker *d)
{
	struct docker__ahead *a = d->ahead;

	if (!a)
		return;
	d->ahead = NULL;
	/* answers nobody will read: their connections go with them */
	for (size_t i = 0; i < a->n; i++) {
		if (!a->v[i].done)
			docker__conn_close(a->v[i].conn);
		a->v[i].done = 1;
	}
	docker__xfer_finish(d, a->v, a->n);	/* only lets go of them */
	ahead_free(a);
}

int
docker_get_all_send(struct docker *d, const char *const *paths, size_t n, char *err)
{
	if (n > DOCKER__SIDE)
		return errf(err, "engine: %zu requests at once, at most %d", n, DOCKER__SIDE);
	if (ahead_is(d->ahead, paths, n))
		return 0;	/* on their way already */
	docker__ahead_drop(d);
	d->ahead = ahead_new(d, paths, n);
	docker__xfer_start(d, d->ahead->v, n);
	return 0;
}

/* One exchange's answer: parsed into *out, its version settled; a refusal
 * of the version sends it again alone (docker__http_do does the rest). */
static int
finish(struct docker *d, struct docker__xfer *x, json_t **out, char *err)
{
	if (x->rc < 0)
		return errf(err, "%s", x->err);
	if (docker__version_settle(d, x->s->api, err) < 0)
		return -1;
	if (docker__version_refused(x->status, x->s))
		return docker__call(d, "GET", x->r->path, NULL, d->timeout_ms, out, NULL, err) < 0 ?
		    -1 : 0;
	return docker__call_finish("GET", x->r->path, x->status, x->s, out, err) < 0 ? -1 : 0;
}

int
docker_get_all(struct docker *d, const char *const *paths, size_t n, json_t **outs, char *err)
{
	struct docker__ahead *a;
	int rc = -1;

	if (n > DOCKER__SIDE)
		return errf(err, "engine: %zu requests at once, at most %d", n, DOCKER__SIDE);
	for (size_t i = 0; i < n; i++)
		outs[i] = NULL;
	if (ahead_is(d->ahead, paths, n)) {
		a = d->ahead;	/* sent already: only the answers are to read */
		d->ahead = NULL;
	} else {
		docker__ahead_drop(d);
		a = ahead_new(d, paths, n);
		docker__xfer_start(d, a->v, n);
	}
	docker__xfer_finish(d, a->v, n);
	for (size_t i = 0; i < n; i++)
		if (finish(d, &a->v[i], &outs[i], err) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n && rc < 0; i++) {
		json_decref(outs[i]);
		outs[i] = NULL;
	}
	ahead_free(a);
	return rc;
}
