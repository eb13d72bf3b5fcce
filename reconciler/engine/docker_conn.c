/*
 * docker_conn: HTTP/1.1 on the engine's unix socket, without a library. The
 * handle keeps its connections open between requests (the engine, and a
 * socket proxy in front of it, keep them alive); one or several exchanges
 * run at once over poll(2), each on a connection of its own, their answers
 * read by http_response.c into the response sinks of docker_transport.c.
 *
 * A kept connection the other end has closed meanwhile is seen before it is
 * used (readable while idle), and a request that met a close on a reused
 * connection before any byte of its answer came is sent again once, on a
 * new one: the engine closed it idle, it did not read the request.
 */
#include "docker_int.h"
#include "http_response.h"
#include "sockio.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_CHUNK (64u << 10)

/* A new connection to the engine's socket: close-on-exec, non-blocking; a
 * listener whose backlog stays full is waited for up to the connect
 * timeout. */
int
docker__connect(struct docker *d, int *out, char *err)
{
	long ms = d->timeout_ms < 10000 ? d->timeout_ms : 10000;

	if (unix_connect(d->sock, ms, out) == 0)
		return 0;
	if (errno == EAGAIN)
		return errf(err, "cannot connect to the docker engine at '%s' within %ld ms "
		    "(is dockerd hung?)", d->sock, ms);
	return docker__socket_error(d, errno, err);
}

void
docker__conn_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A kept connection is fit for a request when nothing is waiting on it: an
 * idle connection that reads anything (its close, most likely) is dropped. */
static int
conn_idle_ok(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, 0) == 0;
}

/* The request's bytes: line, headers (a body says its type and length; a
 * POST or PUT without one says 0), body. */
static int
build_request(struct docker *d, struct docker__xfer *x, char *err)
{
	const struct docker__req *r = x->r;
	const char *m = r->method;

	for (const char *p = r->path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return errf(err, "engine: %s %.64s: a request path may not hold spaces or "
			    "control characters", m, r->path);
	buf_addf(&x->req, "%s %s%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: reconciler/%s\r\n",
	    m, r->unversioned ? "" : d->prefix, r->path, RECONCILER_VERSION);
	if (r->body)
		buf_adds(&x->req, "Content-Type: application/json\r\n");
	if (r->body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0)
		buf_addf(&x->req, "Content-Length: %zu\r\n", r->body ? r->body_len : 0);
	if (r->header)
		buf_addf(&x->req, "%s\r\n", r->header);
	buf_adds(&x->req, "\r\n");
	if (r->body)
		buf_add(&x->req, r->body, r->body_len);
	x->resp.no_body = strcmp(m, "HEAD") == 0;
	return 0;
}

/* On the kept connection when it is fit, else on a new one. */
static int
xfer_connect(struct docker *d, struct docker__xfer *x)
{
	if (*x->conn >= 0 && !conn_idle_ok(*x->conn))
		docker__conn_close(x->conn);
	x->reused = *x->conn >= 0;
	if (!x->reused && docker__connect(d, x->conn, x->err) < 0)
		return -1;
	x->sent = 0;
	x->got = 0;
	x->last_rx = now_ms();
	http_response_reset(&x->resp);
	return 0;
}

static void
xfer_end(struct docker__xfer *x, int rc)
{
	x->rc = rc;
	x->done = 1;
}

/* The answer's end, or the end of what the caller wants of it: the
 * connection is kept only after a whole answer that allows it. */
static void
xfer_finish(struct docker__xfer *x, int whole, int rc)
{
	if (!whole || !x->resp.keep_alive)
		docker__conn_close(x->conn);
	xfer_end(x, rc);
}

static int
body_piece(const char *p, size_t n, void *payload)
{
	struct docker__xfer *x = payload;

	return docker__sink_body(x->s, x->resp.status, p, n);
}

/* The connection closed (or broke) before the answer was whole. */
static void
xfer_cut(struct docker *d, struct docker__xfer *x)
{
	const struct docker__req *r = x->r;

	docker__conn_close(x->conn);
	if (x->reused && !x->got && !x->retried) {
		/* closed while idle, under the request: once more, on a new one */
		x->retried = 1;
		if (xfer_connect(d, x) < 0)
			xfer_end(x, -1);
		return;
	}
	errf(x->err, "engine: %s %s: connection closed before the response was complete",
	    r->method, r->path);
	xfer_end(x, -1);
}

/* What the sink said when it stopped the answer. */
static void
xfer_stopped(struct docker__xfer *x)
{
	const struct docker__req *r = x->r;
	struct docker__sink *s = x->s;

	docker__conn_close(x->conn);
	if (s->stopped)
		xfer_end(x, 0);
	else if (s->overflow)
		xfer_end(x, errf(x->err, "engine: %s %s: response larger than %zu bytes",
		    r->method, r->path, s->body.max));
	else
		xfer_end(x, errf(x->err, "engine: %s %s: %s", r->method, r->path, s->err));
}

/* A whole answer: the last line of a stream without its newline is
 * passed on. */
static void
xfer_whole(struct docker__xfer *x)
{
	const struct docker__req *r = x->r;

	if (docker__sink_end(x->s, x->resp.status) < 0) {
		xfer_finish(x, 0, errf(x->err, "engine: %s %s: %s", r->method, r->path,
		    x->s->err));
		return;
	}
	/* answered before the request was all sent (an early refusal): the
	 * rest of it would be read as the next request */
	xfer_finish(x, x->sent == x->req.len, 0);
}

static void
xfer_read(struct docker *d, struct docker__xfer *x, char *chunk)
{
	ssize_t n = recv(*x->conn, chunk, RECV_CHUNK, 0);
	size_t used;
	int rc;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n == 0 && http_response_eof(&x->resp))
			xfer_whole(x);
		else
			xfer_cut(d, x);
		return;
	}
	x->got += (size_t)n;
	x->last_rx = now_ms();
	rc = http_response_feed(&x->resp, chunk, (size_t)n, &used, body_piece, x);
	if (http_response_has_head(&x->resp)) {
		x->status = x->resp.status;
		snprintf(x->s->api, sizeof(x->s->api), "%s", x->resp.api);
	}
	if (rc == 1) {
		/* bytes past the answer: nothing asked for them, so the
		 * connection is not trusted with another request */
		if (used < (size_t)n)
			x->resp.keep_alive = 0;
		xfer_whole(x);
	} else if (rc == -2) {
		xfer_stopped(x);
	} else if (rc < 0) {
		xfer_finish(x, 0, errf(x->err, "engine: %s %s: malformed answer: %s",
		    x->r->method, x->r->path, x->resp.err));
	}
}

static void
xfer_write(struct docker *d, struct docker__xfer *x)
{
	ssize_t w = send(*x->conn, x->req.data + x->sent, x->req.len - x->sent, MSG_NOSIGNAL);

	if (w > 0)
		x->sent += (size_t)w;
	else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		xfer_cut(d, x);
}

/* The exchange's time is up: a stream asked to run for a while (events)
 * ends normally, anything else with the message a user reads. */
static void
xfer_timeout(struct docker__xfer *x, long long now)
{
	const struct docker__req *r = x->r;

	if (x->deadline && now >= x->deadline) {
		if (r->timeout_ok && x->status == 200)
			xfer_finish(x, 0, 0);
		else
			xfer_finish(x, 0, errf(x->err, "engine: %s %s: no complete answer within "
			    "%ld ms (is dockerd overloaded or hung?)", r->method, r->path,
			    r->timeout_ms));
	} else if (r->idle_ms > 0 && now >= x->last_rx + r->idle_ms) {
		xfer_finish(x, 0, errf(x->err, "engine: %s %s: nothing received for %ld ms",
		    r->method, r->path, r->idle_ms));
	}
}

/* How long poll may wait for x, in ms (-1 no bound). */
static int
xfer_wait(const struct docker__xfer *x, long long now, int wait)
{
	long long until = x->deadline;

	if (x->r->idle_ms > 0 && (!until || x->last_rx + x->r->idle_ms < until))
		until = x->last_rx + x->r->idle_ms;
	if (until) {
		long long left = until > now ? until - now : 0;

		if (left > 60000)
			left = 60000;
		if (wait < 0 || left < wait)
			wait = (int)left;
	}
	return wait;
}

static void
xfer_begin(struct docker *d, struct docker__xfer *x, long long start)
{
	x->done = 0;
	x->rc = -1;
	x->err[0] = '\0';
	x->status = 0;
	x->retried = 0;
	buf_init(&x->req, 0);
	http_response_init(&x->resp);
	x->deadline = x->r->timeout_ms > 0 ? start + x->r->timeout_ms : 0;
	if (build_request(d, x, x->err) < 0 || xfer_connect(d, x) < 0)
		xfer_end(x, -1);
	else
		d->calls++;
}

/* Polls the exchanges still running; 0 when none is left. */
static size_t
poll_once(struct docker *d, struct docker__xfer *v, size_t n, char *chunk)
{
	struct pollfd pf[DOCKER__SIDE];
	struct docker__xfer *of[DOCKER__SIDE];
	long long now = now_ms();
	int wait = -1, r;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!v[i].done)
			xfer_timeout(&v[i], now);
	for (size_t i = 0; i < n; i++) {
		if (v[i].done)
			continue;
		pf[k].fd = *v[i].conn;
		pf[k].events = (short)(v[i].sent < v[i].req.len ? POLLIN | POLLOUT : POLLIN);
		pf[k].revents = 0;
		of[k++] = &v[i];
		wait = xfer_wait(&v[i], now, wait);
	}
	if (!k)
		return 0;
	if ((r = poll(pf, k, wait)) < 0 && errno != EINTR) {
		int e = errno;

		for (size_t i = 0; i < k; i++)
			xfer_finish(of[i], 0, errf(of[i]->err, "engine: %s %s: poll: %s",
			    of[i]->r->method, of[i]->r->path, strerror(e)));
		return 0;
	}
	if (r <= 0)
		return k;	/* a timeout shows at the next round */
	for (size_t i = 0; i < k; i++) {
		if ((pf[i].revents & POLLOUT) && of[i]->sent < of[i]->req.len)
			xfer_write(d, of[i]);
		if (!of[i]->done && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
			xfer_read(d, of[i], chunk);
	}
	return k;
}

void
docker__xfer_start(struct docker *d, struct docker__xfer *v, size_t n)
{
	long long t0 = docker__now_us(), start = now_ms();

	for (size_t i = 0; i < n && i < DOCKER__SIDE; i++) {
		xfer_begin(d, &v[i], start);
		if (!v[i].done)
			xfer_write(d, &v[i]);	/* a request fits the socket's buffer */
	}
	d->wait_us += docker__now_us() - t0;
}

int
docker__xfer_finish(struct docker *d, struct docker__xfer *v, size_t n)
{
	long long t0 = docker__now_us();
	char *chunk;
	int rc = 0;

	if (n > DOCKER__SIDE)
		n = DOCKER__SIDE;
	chunk = xmalloc(RECV_CHUNK);
	while (poll_once(d, v, n, chunk))
		;
	for (size_t i = 0; i < n; i++) {
		http_response_release(&v[i].resp);
		/* create bodies carry env values, pulls a registry credential */
		if (v[i].req.data)
			explicit_bzero(v[i].req.data, v[i].req.len);
		buf_release(&v[i].req);
		if (v[i].rc < 0)
			rc = -1;
	}
	free(chunk);
	d->wait_us += docker__now_us() - t0;
	return rc;
}

int
docker__xfer_run(struct docker *d, struct docker__xfer *v, size_t n)
{
	docker__xfer_start(d, v, n);
	return docker__xfer_finish(d, v, n);
}
