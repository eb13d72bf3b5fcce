/*
 * httpd: a small HTTP/1.1 server on the libuv loop, for the control socket
 * (unix, 0660) and the optional TCP listener. One request per connection,
 * answered and closed. Every request is bounded before it is used: header
 * block 16 KiB, body 1 MiB (413), a read timeout against slow clients (408).
 * The request parser is pure and fuzzed.
 */
#ifndef RECONCILER_HTTPD_H
#define RECONCILER_HTTPD_H

#include <stddef.h>
#include <uv.h>

#include "util.h"

#define HTTP_MAX_HEADER		(16u << 10)
#define HTTP_MAX_BODY		(1u << 20)
#define HTTP_MAX_HEADERS	48

struct http_header {
	const char *name;	/* points into the request buffer, NUL-terminated */
	const char *value;
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

/* Parses buf (len bytes; the parser writes NULs into it). Returns 1 when a
 * whole request is there, 0 when more bytes are needed, or an HTTP status
 * (400, 413, 431, 501, 505) for a request to refuse. */
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

struct httpd;

/* addr: "unix:/path/to.sock" (stale socket removed, bound under a umask,
 * chmod 0660 and, when group is not NULL, chgrp) or "HOST:PORT". */
int httpd_listen(struct httpd **out, uv_loop_t *loop, const char *addr, const char *group,
    http_handler fn, void *payload, char *err);
/* Closes the listener and every open connection; the struct is freed after
 * the last close callback (check with httpd_closed in the loop's end). */
void httpd_close(struct httpd *h);

const char *http_status_text(int status);

#endif
