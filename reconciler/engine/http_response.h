/*
 * http_response: an HTTP/1.1 response read as it arrives, in pieces of any
 * size: the status line and headers, then the body handed on as it is
 * framed (Content-Length, chunked, or up to the close). Pure: no I/O. The
 * Engine API client reads every answer of the engine, or of a socket proxy in
 * front of it, through it (docker_conn.c); it is outside input and fuzzed
 * (tests/fuzz/fuzz_http_response.c).
 */
#ifndef RECONCILER_HTTP_RESPONSE_H
#define RECONCILER_HTTP_RESPONSE_H

#include "util.h"

#include <stddef.h>

#define HTTP_RESPONSE_HEAD_MAX (64u << 10)	/* status line, headers, trailers */

struct http_response {
	/* what the head said, valid once http_response_has_head() */
	long status;
	int keep_alive;		/* the connection may carry the next request */
	char api[16];		/* the Api-Version header ("1.41"), "" none */
	/* set before the first feed: the request was a HEAD (no body follows) */
	int no_body;
	/* the parser's own */
	int state;
	int chunked;
	long long length;	/* Content-Length, -1 none */
	unsigned long long left;	/* bytes of the body or chunk still to come */
	struct buf head;	/* the head, then a chunk-size or trailer line */
	size_t extra;		/* trailer bytes so far, bounded like the head */
	char err[128];
};

/* A piece of the body; 0 goes on, anything else stops the feed. */
typedef int (*http_body_cb)(const char *data, size_t len, void *payload);

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);
/* Ready for the next response on the same connection (keeps no_body). */
void http_response_reset(struct http_response *r);

/*
 * Feeds n bytes. Returns 0 when more are wanted (all n were taken), 1 when
 * the response is complete (*used says how many of the n bytes were its
 * own: any after them are not), -1 when it is malformed (err says how), -2
 * when the body callback stopped it.
 */
int http_response_feed(struct http_response *r, const char *p, size_t n, size_t *used,
    http_body_cb cb, void *payload);

/* 1 once the head has been read. */
int http_response_has_head(const struct http_response *r);

/* The connection was closed: 1 when that ends the response (its body runs to
 * the close), 0 when the response was cut short. */
int http_response_eof(const struct http_response *r);

#endif
