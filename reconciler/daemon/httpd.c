/*
 * httpd: see httpd.h. Connections are short-lived: read until a request
 * parses (or a limit or the read timeout is hit), run the handler, write the
 * answer with Connection: close, close.
 */
#include "httpd.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_TIMEOUT_MS 5000

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
	int handles;		/* 2 while open: stream and timer */
	int answered;
	int held;		/* deferred: freed by http_answer, not at close */
	struct http_conn *next, **prevp;
	uv_write_t wr;
	char *out;
	char peer[64];
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

/* --- the parser ------------------------------------------------------------ */

static int
token_char(int c)
{
	return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

const char *
http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

int
http_parse(char *buf, size_t len, struct http_request *req)
{
	char *end = NULL, *line, *next, *sp1, *sp2, *q;
	const char *cl;
	size_t hlen, mlen, body_len = 0;

	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i + 3 < len; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
			end = buf + i;
			break;
		}
	}
	if (!end)
		return len > HTTP_MAX_HEADER ? 431 : 0;
	hlen = (size_t)(end - buf) + 4;
	if (hlen > HTTP_MAX_HEADER)
		return 431;
	if (memchr(buf, '\0', hlen))
		return 400;
	*end = '\0';
	/* request line: METHOD SP TARGET SP HTTP/1.x */
	line = buf;
	next = strstr(line, "\r\n");
	if (next)
		*next = '\0';
	if (!(sp1 = strchr(line, ' ')) || !(sp2 = strchr(sp1 + 1, ' ')) || strchr(sp2 + 1, ' '))
		return 400;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof(req->method))
		return 400;
	for (size_t i = 0; i < mlen; i++)
		if (!isupper((unsigned char)line[i]))
			return 400;
	memcpy(req->method, line, mlen);
	if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)
		return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	*sp2 = '\0';
	if (sp1[1] != '/')
		return 400;
	for (char *p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127)
			return 400;
	if ((q = strchr(sp1 + 1, '?'))) {
		*q = '\0';
		if (strlen(q + 1) >= sizeof(req->query))
			return 431;
		memcpy(req->query, q + 1, strlen(q + 1) + 1);
	}
	if (strlen(sp1 + 1) >= sizeof(req->path))
		return 431;
	memcpy(req->path, sp1 + 1, strlen(sp1 + 1) + 1);
	/* header fields */
	for (line = next ? next + 2 : NULL; line && *line; line = next ? next + 2 : NULL) {
		char *colon, *v, *e;

		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		if (!(colon = strchr(line, ':')) || colon == line)
			return 400;
		for (char *p = line; p < colon; p++)
			if (!token_char((unsigned char)*p))
				return 400;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		for (char *p = v; *p; p++)
			if ((unsigned char)*p < 32 && *p != '\t')
				return 400;
		if (req->nheaders == HTTP_MAX_HEADERS)
			return 431;
		req->headers[req->nheaders].name = line;
		req->headers[req->nheaders].value = v;
		req->nheaders++;
	}
	if (http_header(req, "Transfer-Encoding"))
		return 501;	/* chunked bodies are not taken: send Content-Length */
	if ((cl = http_header(req, "Content-Length"))) {
		char *ep;
		unsigned long long v;

		if (!isdigit((unsigned char)cl[0]))
			return 400;
		errno = 0;
		v = strtoull(cl, &ep, 10);
		if (*ep || errno)
			return 400;
		if (v > HTTP_MAX_BODY)
			return 413;
		body_len = (size_t)v;
	}
	if (len - hlen < body_len)
		return 0;
	req->body = buf + hlen;
	req->body_len = body_len;
	return 1;
}

/* --- the server ----------------------------------------------------------- */

static void
handle_closed(uv_handle_t *hd)
{
	struct httpd *h = hd->data;

	if (--h->open_handles == 0 && h->closing) {
		free(h->path);
		free(h);
	}
}

static void
conn_free(struct http_conn *c)
{
	struct httpd *h = c->h;

	buf_release(&c->in);
	free(c->out);
	free(c);
	if (--h->open_handles == 0 && h->closing) {
		free(h->path);
		free(h);
	}
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
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close(&c->s.handle, conn_handle_closed);
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
	c->held = 0;
	if (c->handles == 0)
		conn_free(c);	/* closed meanwhile: nobody to answer */
	else if (!uv_is_closing(&c->s.handle))
		send_response(c, r);
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
	struct http_request req;
	int rc;

	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0 || c->answered)
		return;
	if (buf_add(&c->in, b->base, (size_t)n) < 0) {
		respond_error(c, 413, "request too large");
		return;
	}
	/* The parser works on a copy: it writes NULs, and we may need more. */
	{
		char *copy = xmalloc(c->in.len + 1);

		memcpy(copy, c->in.data, c->in.len);
		copy[c->in.len] = '\0';
		rc = http_parse(copy, c->in.len, &req);
		if (rc == 1) {
			struct http_response r;

			memset(&r, 0, sizeof(r));
			r.status = 200;
			buf_init(&r.body, 0);
			r.conn = c;
			snprintf(req.peer, sizeof(req.peer), "%s", c->peer);
			c->h->fn(&req, &r, c->h->payload);
			if (r.deferred) {
				/* the answer may take long: no read timeout, no more input */
				c->held = c->answered = 1;
				uv_timer_stop(&c->timer);
				uv_read_stop(&c->s.stream);
			} else {
				respond(c, &r);
			}
			buf_release(&r.body);
		} else if (rc > 1) {
			respond_error(c, rc, http_status_text(rc));
		}
		free(copy);
	}
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
accept_cb(uv_stream_t *server, int status)
{
	struct httpd *h = server->data;
	struct http_conn *c;

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
	if (uv_accept(server, &c->s.stream) < 0) {
		conn_close(c);
		return;
	}
	snprintf(c->peer, sizeof(c->peer), "unix");
	if (!h->is_unix) {
		struct sockaddr_storage ss;
		int len = sizeof(ss);

		if (uv_tcp_getpeername(&c->s.tcp, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET)
				uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
			else
				uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
		}
	}
	uv_timer_start(&c->timer, timeout_cb, READ_TIMEOUT_MS, 0);
	uv_read_start(&c->s.stream, alloc_cb, read_cb);
}

int
httpd_listen(struct httpd **out, uv_loop_t *loop, const char *addr, const char *group,
    http_handler fn, void *payload, char *err)
{
	struct httpd *h = xcalloc(1, sizeof(*h));
	int rc;

	*out = NULL;
	h->loop = loop;
	h->fn = fn;
	h->payload = payload;
	if (strncmp(addr, "unix:", 5) == 0) {
		mode_t old;

		h->is_unix = 1;
		h->path = xstrdup(addr + 5);
		uv_pipe_init(loop, &h->l.pipe, 0);
		h->l.handle.data = h;
		h->open_handles = 1;
		/* a socket left by a dead daemon would make bind fail */
		if (unlink(h->path) < 0 && errno != ENOENT) {
			errf(err, "cannot remove the stale socket '%s': %s", h->path, strerror(errno));
			goto fail;
		}
		old = umask(0117);
		rc = uv_pipe_bind(&h->l.pipe, h->path);
		umask(old);
		if (rc < 0) {
			errf(err, "cannot bind '%s': %s", h->path, uv_strerror(rc));
			goto fail;
		}
		if (chmod(h->path, 0660) < 0) {
			errf(err, "chmod '%s': %s", h->path, strerror(errno));
			goto fail;
		}
		if (group) {
			struct group *g = getgrnam(group);

			if (!g || chown(h->path, (uid_t)-1, g->gr_gid) < 0) {
				errf(err, "cannot give '%s' to group '%s': %s", h->path, group,
				    g ? strerror(errno) : "no such group");
				goto fail;
			}
		}
	} else {
		struct sockaddr_storage ss;
		char host[128];
		const char *colon = strrchr(addr, ':');
		long port;

		if (!colon || (size_t)(colon - addr) >= sizeof(host) ||
		    int_parse(colon + 1, 1, 65535, &port) < 0) {
			errf(err, "invalid listen address '%s' (expected HOST:PORT or unix:/path)", addr);
			free(h);
			return -1;
		}
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&ss) != 0 &&
		    uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&ss) != 0) {
			errf(err, "invalid listen address '%s'", addr);
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
	}
	if ((rc = uv_listen(&h->l.stream, 64, accept_cb)) < 0) {
		errf(err, "cannot listen on %s: %s", addr, uv_strerror(rc));
		goto fail;
	}
	*out = h;
	return 0;
fail:
	h->closing = 1;
	uv_close(&h->l.handle, handle_closed);
	return -1;
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
