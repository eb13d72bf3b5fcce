/* Unit tests: the HTTP/1.1 response parser the Engine API client reads
 * answers with (http_response.c): framing, the head's fields, what it
 * refuses, and answers fed a byte at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http_response.h"

struct got {
	struct http_response r;
	struct buf body;
	int rc;
	size_t used;	/* of the input, by the response */
};

static int
collect(const char *p, size_t n, void *payload)
{
	return buf_add(payload, p, n) < 0;
}

/* Feeds text in pieces of step bytes (0: at once) until the parser ends. */
static void
feed(struct got *g, const char *text, size_t step, int no_body)
{
	size_t len = strlen(text), off = 0;

	http_response_init(&g->r);
	g->r.no_body = no_body;
	buf_init(&g->body, 0);
	g->rc = 0;
	g->used = 0;
	while (off < len && g->rc == 0) {
		size_t n = step && len - off > step ? step : len - off, u = 0;

		g->rc = http_response_feed(&g->r, text + off, n, &u, collect, &g->body);
		g->used += u;
		off += n;
	}
}

static void
release(struct got *g)
{
	http_response_release(&g->r);
	buf_release(&g->body);
}

/* Each framing gives the same body, at once and a byte at a time. */
static void
test_framing(void **state)
{
	static const struct {
		const char *text, *body;
		int rc, keep, eof;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", 1, 1, 1 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nhel\r\n"
		  "2\r\nlo\r\n0\r\nX-Trailer: y\r\n\r\n", "hello", 1, 1, 1 },
		{ "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", "hello", 0, 0, 1 },
		{ "HTTP/1.0 200 OK\r\n\r\nhello", "hello", 0, 0, 1 },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello",
		  "hello", 1, 1, 1 },
		{ "HTTP/1.1 204 No Content\r\n\r\n", "", 1, 1, 1 },
		{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n"
		  "{}", "{}", 1, 1, 1 },
		{ "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "ok", 1, 1, 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", "hello", 0, 1, 0 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "hello",
		  0, 1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t step = 0; step < 2; step++) {
			struct got g;

			feed(&g, cases[i].text, step, 0);
			if (g.rc != cases[i].rc)
				fail_msg("case %zu step %zu: rc %d (%s)", i, step, g.rc, g.r.err);
			assert_string_equal(g.body.data ? g.body.data : "", cases[i].body);
			assert_int_equal(g.r.keep_alive, cases[i].keep);
			assert_int_equal(http_response_eof(&g.r), cases[i].eof);
			assert_true(http_response_has_head(&g.r));
			release(&g);
		}
	}
}

static void
test_head_fields(void **state)
{
	struct got g;

	(void)state;
	feed(&g, "HTTP/1.1 404 Not Found\r\napi-version:  1.44 \r\nServer: Docker\r\n"
	    "Content-Length: 0\r\n\r\n", 0, 0);
	assert_int_equal(g.rc, 1);
	assert_int_equal(g.r.status, 404);
	assert_string_equal(g.r.api, "1.44");
	release(&g);
	/* a HEAD's answer says a length but carries no body */
	feed(&g, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 0, 1);
	assert_int_equal(g.rc, 1);
	assert_int_equal(g.body.len, 0);
	release(&g);
	/* the bytes after an answer are not its own */
	feed(&g, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", 0, 0);
	assert_int_equal(g.rc, 1);
	assert_int_equal(g.used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
	release(&g);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "HTTP/2 200 OK\r\n\r\n", "not an HTTP/1.x status line" },
		{ "ICY 200 OK\r\n\r\n", "not an HTTP/1.x status line" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x status line" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
		  "conflicting Content-Length headers" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length is not a number" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		  "Content-Length too large" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		  "unsupported Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line" },
		{ "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "malformed header name" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		  "malformed chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
		  "chunk not followed by CRLF" },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", "unexpected 101" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t step = 0; step < 2; step++) {
			struct got g;

			feed(&g, cases[i].text, step, 0);
			if (g.rc != -1 || !strstr(g.r.err, cases[i].why))
				fail_msg("case %zu step %zu: rc %d, err '%s'", i, step, g.rc, g.r.err);
			release(&g);
		}
	}
}

/* A head past 64 KiB is refused, however it arrives. */
static void
test_head_bound(void **state)
{
	struct buf big = BUF_INIT;
	struct got g;

	(void)state;
	buf_adds(&big, "HTTP/1.1 200 OK\r\n");
	while (big.len < HTTP_RESPONSE_HEAD_MAX + 100)
		buf_adds(&big, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	buf_adds(&big, "\r\n");
	feed(&g, big.data, 0, 0);
	assert_int_equal(g.rc, -1);
	assert_string_equal(g.r.err, "response head larger than 64 KiB");
	release(&g);
	feed(&g, big.data, 1000, 0);
	assert_int_equal(g.rc, -1);
	release(&g);
	buf_release(&big);
}

/* A body callback that says stop ends the feed with -2. */
static int
stop_cb(const char *p, size_t n, void *payload)
{
	(void)p;
	(void)n;
	(void)payload;
	return 1;
}

static void
test_stop(void **state)
{
	static const char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct http_response r;
	size_t used = 0;

	(void)state;
	http_response_init(&r);
	assert_int_equal(http_response_feed(&r, text, sizeof(text) - 1, &used, stop_cb, NULL),
	    -2);
	assert_int_equal(r.status, 200);
	http_response_reset(&r);
	assert_false(http_response_has_head(&r));
	http_response_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_head_fields),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_head_bound),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
