/*
 * httpd: see httpd.h. Connections are short-lived: read until a request
 * parses (or a limit or the read timeout is hit), run the handler, write the
 * answer with Connection: close, close. A connection over the server's
 * limits (all connections, one peer's, the bytes buffered) is closed at once.
 */
#include "httpd.h"
#include "log.h"
#include "netaddr.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_TIMEOUT_MS 5000
#define WRITE_TIMEOUT_MS 30000

struct http_conn;

struct httpd {
	uv_loop_t *loop;
	union {
		uv_pipe_t pipe;
		uv_tcp_t tcp;
		uv_handle_t handle;
		uv_stream_t stream;
	} l;
	int is_unix;
	char *path;		/* unix socket path, to unlink at close */
	http_handler fn;
	void *payload;
	struct http_conn *conns;	/* open connections */
	int closing;
	int open_handles;	/* listener + connections not yet closed */
	int nconns;		/* in conns */
	int max_conns, max_per_peer;	/* 0: no per-peer limit */
	size_t buffered;	/* request bytes held by all connections */
	long long warned;	/* ms: the last "limit reached" line */
};

struct http_conn {
	struct httpd *h;
	union {
		uv_pipe_t pipe;
		uv_tcp_t tcp;
		uv_handle_t handle;
		uv_stream_t stream;
	} s;
	uv_timer_t timer;
	struct buf in;
	struct http_parser parser;
	struct http_request req;
	int handles;		/* 2 while open: stream and timer */
	int answered;
	int held;		/* deferred: freed by http_answer, not at close */
	struct http_conn *next, **prevp;
	uv_write_t wr;
	char *out;
	char peer[64];
	char key[64];		/* the peer as the per-peer limit counts it */
	/* a request dispatched from elsewhere (http_dispatch): no socket */
	http_done_fn done;
	void *done_payload;
};

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

/* --- the server ----------------------------------------------------------- */

static void respond_error(struct http_conn *c, int status, const char *msg);

static void
httpd_unref(struct httpd *h)
{
	if (--h->open_handles == 0 && h->closing) {
		free(h->path);
		free(h);
	}
}

static void
handle_closed(uv_handle_t *hd)
{
	httpd_unref(hd->data);
}

static void
conn_free(struct http_conn *c)
{
	struct httpd *h = c->h;

	h->buffered -= c->in.len;
	buf_release(&c->in);
	free(c->out);
	free(c);
	httpd_unref(h);
}

static void
conn_handle_closed(uv_handle_t *hd)
{
	struct http_conn *c = hd->data;

	if (--c->handles == 0 && !c->held)
		conn_free(c);
}

static void
conn_close(struct http_conn *c)
{
	if (uv_is_closing(&c->s.handle))
		return;
	if (c->prevp) {
		*c->prevp = c->next;
		if (c->next)
			c->next->prevp = c->prevp;
		c->prevp = NULL;
		c->h->nconns--;
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close(&c->s.handle, conn_handle_closed);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct http_conn *c = t->data;

	/* a slow or silent client: answer 408 if it sent anything, else drop */
	if (c->in.len)
		respond_error(c, 408, "request timeout");
	else
		conn_close(c);
}

static void
written(uv_write_t *w, int status)
{
	conn_close(w->data);
}

static void
send_response(struct http_conn *c, struct http_response *r)
{
	uv_buf_t b;
	struct buf out;

	buf_init(&out, 0);
	buf_addf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n", r->status,
	    http_status_text(r->status), r->content_type ? r->content_type : "application/json",
	    r->body.len, r->extra_headers);
	if (r->body.len)
		buf_add(&out, r->body.data, r->body.len);
	c->out = buf_detach(&out, &b.len);
	b.base = c->out;
	c->wr.data = c;
	/* a client that does not read its answer is not kept forever */
	uv_timer_start(&c->timer, timeout_cb, WRITE_TIMEOUT_MS, 0);
	if (uv_write(&c->wr, &c->s.stream, &b, 1, written) < 0)
		conn_close(c);
}

static void
respond(struct http_conn *c, struct http_response *r)
{
	if (c->answered)
		return;
	c->answered = 1;
	uv_read_stop(&c->s.stream);
	send_response(c, r);
}

struct http_conn *
http_defer(struct http_response *r)
{
	r->deferred = 1;
	return r->conn;
}

void
http_answer(struct http_conn *c, struct http_response *r)
{
	if (c->done) {
		c->done(r, c->done_payload);
		free(c);
		return;
	}
	c->held = 0;
	if (c->handles == 0)
		conn_free(c);	/* closed meanwhile: nobody to answer */
	else if (!uv_is_closing(&c->s.handle))
		send_response(c, r);
}

/* The handler's turn: answer now, or later through http_answer. */
static void
run_handler(http_handler fn, void *payload, const struct http_request *req,
    struct http_conn *c)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	r.status = 200;
	buf_init(&r.body, 0);
	r.conn = c;
	fn(req, &r, payload);
	if (r.deferred) {
		c->held = c->answered = 1;
	} else if (c->done) {
		c->done(&r, c->done_payload);
		free(c);
	} else {
		respond(c, &r);
	}
	buf_release(&r.body);
}

void
http_dispatch(http_handler fn, void *payload, const struct http_request *req,
    http_done_fn done, void *done_payload)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	c->done = done;
	c->done_payload = done_payload;
	run_handler(fn, payload, req, c);
}

static void
respond_error(struct http_conn *c, int status, const char *msg)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	buf_init(&r.body, 0);
	buf_addf(&r.body, "{\"error\":\"%s\"}\n", msg);
	respond(c, &r);
	buf_release(&r.body);
}

static void
alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *b)
{
	static char scratch[65536];	/* the loop is single-threaded */

	b->base = scratch;
	b->len = sizeof(scratch);
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct http_conn *c = s->data;
	struct httpd *h = c->h;
	int rc;

	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0 || c->answered)
		return;
	if (h->buffered + (size_t)n > HTTPD_BUFFER_BUDGET) {
		respond_error(c, 503, "the server holds too many requests: try again later");
		return;
	}
	if (buf_add(&c->in, b->base, (size_t)n) < 0) {
		respond_error(c, 413, "request too large");
		return;
	}
	h->buffered += (size_t)n;
	/* the parser resumes where it stopped: a byte at a time costs no more */
	rc = http_parse_more(&c->parser, c->in.data, c->in.len, &c->req);
	if (rc == 1) {
		snprintf(c->req.peer, sizeof(c->req.peer), "%s", c->peer);
		/* no more input, and no timeout while a deferred answer is made */
		uv_timer_stop(&c->timer);
		uv_read_stop(&c->s.stream);
		run_handler(h->fn, h->payload, &c->req, c);
	} else if (rc > 1) {
		respond_error(c, rc, http_status_text(rc));
	}
}

static void
peer_name(struct http_conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	snprintf(c->peer, sizeof(c->peer), "unix");
	if (!c->h->is_unix &&
	    uv_tcp_getpeername(&c->s.tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
		else
			uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
	}
	netaddr_peer_key(c->peer, c->key, sizeof(c->key));
}

/* 0 when c may stay; else it is over a limit, and says which. */
static const char *
over_limit(struct httpd *h, struct http_conn *c)
{
	int same = 0;

	if (h->nconns > h->max_conns)
		return "connections";
	if (h->max_per_peer)
		for (struct http_conn *o = h->conns; o; o = o->next)
			if (strcmp(o->key, c->key) == 0 && ++same > h->max_per_peer)
				return "connections from one peer";
	return NULL;
}

static void
accept_cb(uv_stream_t *server, int status)
{
	struct httpd *h = server->data;
	struct http_conn *c;
	const char *limit;

	if (status < 0 || h->closing)
		return;
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	buf_init(&c->in, HTTP_MAX_HEADER + HTTP_MAX_BODY);
	if (h->is_unix)
		uv_pipe_init(h->loop, &c->s.pipe, 0);
	else
		uv_tcp_init(h->loop, &c->s.tcp);
	uv_timer_init(h->loop, &c->timer);
	c->s.handle.data = c->timer.data = c;
	c->handles = 2;
	h->open_handles++;
	c->next = h->conns;
	if (h->conns)
		h->conns->prevp = &c->next;
	h->conns = c;
	c->prevp = &h->conns;
	h->nconns++;
	/* always accepted, even over a limit: left in the kernel's queue, it
	 * would hold up everyone behind it */
	if (uv_accept(server, &c->s.stream) < 0) {
		conn_close(c);
		return;
	}
	peer_name(c);
	if ((limit = over_limit(h, c))) {
		long long now = now_ms();

		if (now - h->warned > 60000) {
			h->warned = now;
			log_warn("http", "peer=%s: too many %s (limits: %d in all, %d per peer): "
			    "closing the new ones (said once a minute)", c->peer, limit,
			    h->max_conns, h->max_per_peer);
		}
		conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, timeout_cb, READ_TIMEOUT_MS, 0);
	uv_read_start(&c->s.stream, alloc_cb, read_cb);
}

int
http_addr_parse(const char *addr, struct sockaddr_storage *ss, char *host, size_t hostlen,
    char *err)
{
	const char *colon = strrchr(addr, ':');
	size_t n;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - addr) >= hostlen || int_parse(colon + 1, 1, 65535,
	    &port) < 0)
		return errf(err, "invalid listen address '%s' (expected HOST:PORT or unix:/path)",
		    addr);
	n = (size_t)(colon - addr);
	memcpy(host, addr, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) != 0 &&
	    uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) != 0)
		return errf(err, "invalid listen address '%s' (the host must be a numeric IPv4 "
		    "or IPv6 address)", addr);
	return 0;
}

static struct httpd *
httpd_new(uv_loop_t *loop, http_handler fn, void *payload)
{
	struct httpd *h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	h->fn = fn;
	h->payload = payload;
	h->max_conns = HTTPD_TCP_MAX_CONNS;
	h->max_per_peer = HTTPD_TCP_MAX_PER_PEER;
	return h;
}

static int
bind_unix(struct httpd *h, const char *addr, const char *group, char *err)
{
	mode_t old;
	int rc;

	h->is_unix = 1;
	h->max_conns = HTTPD_UNIX_MAX_CONNS;
	h->max_per_peer = 0;
	h->path = xstrdup(addr + 5);
	uv_pipe_init(h->loop, &h->l.pipe, 0);
	h->l.handle.data = h;
	h->open_handles = 1;
	/* a socket left by a dead daemon would make bind fail */
	if (unlink(h->path) < 0 && errno != ENOENT)
		return errf(err, "cannot remove the stale socket '%s': %s", h->path,
		    strerror(errno));
	old = umask(0117);
	rc = uv_pipe_bind(&h->l.pipe, h->path);
	umask(old);
	if (rc < 0)
		return errf(err, "cannot bind '%s': %s", h->path, uv_strerror(rc));
	if (chmod(h->path, 0660) < 0)
		return errf(err, "chmod '%s': %s", h->path, strerror(errno));
	if (group) {
		struct group *g = getgrnam(group);

		if (!g || chown(h->path, (uid_t)-1, g->gr_gid) < 0)
			return errf(err, "cannot give '%s' to group '%s': %s", h->path, group,
			    g ? strerror(errno) : "no such group");
	}
	return 0;
}

static int
start(struct httpd **out, struct httpd *h, const char *addr, char *err)
{
	int rc;

	if ((rc = uv_listen(&h->l.stream, 64, accept_cb)) < 0) {
		errf(err, "cannot listen on %s: %s", addr, uv_strerror(rc));
		h->closing = 1;
		uv_close(&h->l.handle, handle_closed);
		return -1;
	}
	*out = h;
	return 0;
}

int
httpd_listen(struct httpd **out, uv_loop_t *loop, const char *addr, const char *group,
    http_handler fn, void *payload, char *err)
{
	struct httpd *h = httpd_new(loop, fn, payload);
	struct sockaddr_storage ss;
	char host[128];
	int rc;

	*out = NULL;
	if (strncmp(addr, "unix:", 5) == 0) {
		if (bind_unix(h, addr, group, err) < 0)
			goto fail;
		return start(out, h, addr, err);
	}
	if (http_addr_parse(addr, &ss, host, sizeof(host), err) < 0) {
		free(h);
		return -1;
	}
	uv_tcp_init(loop, &h->l.tcp);
	h->l.handle.data = h;
	h->open_handles = 1;
	if ((rc = uv_tcp_bind(&h->l.tcp, (struct sockaddr *)&ss, 0)) < 0) {
		errf(err, "cannot listen on %s: %s", addr, uv_strerror(rc));
		goto fail;
	}
	return start(out, h, addr, err);
fail:
	h->closing = 1;
	uv_close(&h->l.handle, handle_closed);
	return -1;
}

int
httpd_open_fd(struct httpd **out, uv_loop_t *loop, int fd, http_handler fn, void *payload,
    char *err)
{
	struct httpd *h = httpd_new(loop, fn, payload);
	int rc;

	*out = NULL;
	uv_tcp_init(loop, &h->l.tcp);
	h->l.handle.data = h;
	h->open_handles = 1;
	if ((rc = uv_tcp_open(&h->l.tcp, fd)) < 0) {
		errf(err, "cannot use the listening socket (fd %d): %s", fd, uv_strerror(rc));
		h->closing = 1;
		uv_close(&h->l.handle, handle_closed);
		return -1;
	}
	return start(out, h, "the inherited socket", err);
}

void
httpd_close(struct httpd *h)
{
	if (!h || h->closing)
		return;
	h->closing = 1;
	while (h->conns)
		conn_close(h->conns);
	if (h->is_unix)
		unlink(h->path);
	uv_close(&h->l.handle, handle_closed);
}
