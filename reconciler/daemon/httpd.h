/*
 * httpd: a small HTTP/1.1 server on the libuv loop, for the control socket
 * (unix, 0660) and the TCP listener (in the listener child, listener.h).
 * One request per connection, answered and closed. Every request is bounded
 * before it is used: header block 16 KiB, body 1 MiB (413), a read timeout
 * against slow clients (408); and every server: its connections, those of
 * one peer (an IPv4 address, an IPv6 /64), the bytes they buffer. The
 * request parser (http_parse.c) is pure, incremental and fuzzed.
 */
#ifndef RECONCILER_HTTPD_H
#define RECONCILER_HTTPD_H

#include <stddef.h>
#include <uv.h>

#include "util.h"

#define HTTP_MAX_HEADER		(16u << 10)
#define HTTP_MAX_BODY		(1u << 20)
#define HTTP_MAX_HEADERS	48

/* Connections beyond these are closed as soon as accepted. The control
 * socket has its own (a local client in its group); the TCP listener's
 * per-peer bound counts an IPv6 peer by its /64. */
#define HTTPD_TCP_MAX_CONNS	256
#define HTTPD_TCP_MAX_PER_PEER	32
#define HTTPD_UNIX_MAX_CONNS	64
/* Request bytes all connections of one server may hold at once (503 past it). */
#define HTTPD_BUFFER_BUDGET	(32u << 20)

struct http_header {
	const char *name;	/* into the request buffer, NUL-terminated; set */
	const char *value;	/* when the request is whole */
	size_t name_off, value_off;
};

struct http_request {
	char method[16];
	char path[512];		/* without the query */
	char query[512];
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const char *body;
	size_t body_len;
	char peer[64];		/* "unix" or the TCP peer address */
};

/* One request's parse, kept between reads: where the scan for the blank line
 * stopped, and once the header block is parsed (once), the body's length. */
struct http_parser {
	size_t scanned;		/* bytes searched for the blank line so far */
	size_t hlen;		/* the header block with its blank line; 0 until found */
	size_t body_len;	/* Content-Length */
	int status;		/* the refusal, once there is one */
};

/* Feeds what has arrived: buf holds the request's first len bytes (it may
 * have moved since the last call: only offsets are kept). Start with p and
 * req zeroed. The header block is parsed in place (the parser writes NULs
 * into it) once it is whole. Returns 1 when the request is whole (req's
 * pointers then point into buf), 0 when more bytes are needed, or an HTTP
 * status (400, 413, 431, 501, 505) for a request to refuse. Refused: a
 * Content-Length given twice (RFC 9112 6.3), Transfer-Encoding. */
int http_parse_more(struct http_parser *p, char *buf, size_t len, struct http_request *req);
/* The same, on one buffer that holds all there is. */
int http_parse(char *buf, size_t len, struct http_request *req);
/* Case-insensitive header lookup; NULL when absent. */
const char *http_header(const struct http_request *req, const char *name);

struct http_conn;

struct http_response {
	int status;
	const char *content_type;	/* default application/json */
	struct buf body;
	char extra_headers[256];	/* "Name: value\r\n" lines, or empty */
	struct http_conn *conn;		/* set by the server, for http_defer */
	int deferred;
};

/* From a handler: no answer now; it comes later through http_answer, on the
 * loop's thread (the request, and its buffer, are gone by then). The read
 * timeout no longer applies. Returns the connection to answer on. */
struct http_conn *http_defer(struct http_response *resp);
/* Sends resp on a deferred connection, or only forgets the connection when
 * it was closed meanwhile (client gone, server closed). Exactly once. */
void http_answer(struct http_conn *c, struct http_response *resp);

/* The handler fills resp; payload is the server's. */
typedef void (*http_handler)(const struct http_request *req, struct http_response *resp,
    void *payload);

/* Runs fn on a request that came by another way than one of our sockets (the
 * listener child's channel): the answer goes to done, at once or, when fn
 * defers it, at its http_answer. resp is done's only for the call. */
typedef void (*http_done_fn)(struct http_response *resp, void *payload);
void http_dispatch(http_handler fn, void *payload, const struct http_request *req,
    http_done_fn done, void *done_payload);

struct httpd;

/* addr: "unix:/path/to.sock" (stale socket removed, bound under a umask,
 * chmod 0660 and, when group is not NULL, chgrp) or "HOST:PORT". */
int httpd_listen(struct httpd **out, uv_loop_t *loop, const char *addr, const char *group,
    http_handler fn, void *payload, char *err);
/* Serves an inherited TCP socket that already listens (the listener child). */
int httpd_open_fd(struct httpd **out, uv_loop_t *loop, int fd, http_handler fn,
    void *payload, char *err);
/* "HOST:PORT" ([v6]:port too; numeric hosts only) into ss, and the host
 * without brackets into host (hostlen bytes). */
int http_addr_parse(const char *addr, struct sockaddr_storage *ss, char *host,
    size_t hostlen, char *err);
/* Closes the listener and every open connection; the struct is freed after
 * the last close callback (check with httpd_closed in the loop's end). */
void httpd_close(struct httpd *h);

const char *http_status_text(int status);

#endif
