/* Unit tests: the HTTP request parser (limits, malformed input, incremental). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "httpd.h"

static int
parse(const char *text, struct http_request *req, char **keep)
{
	*keep = strdup(text);
	return http_parse(*keep, strlen(text), req);
}

static void
test_good(void **state)
{
	struct http_request req;
	char *b;

	assert_int_equal(parse("GET /v1/status?x=1 HTTP/1.1\r\nHost: a\r\nX-Thing:  v \r\n\r\n",
	    &req, &b), 1);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/v1/status");
	assert_string_equal(req.query, "x=1");
	assert_string_equal(http_header(&req, "x-thing"), "v");
	assert_null(http_header(&req, "nope"));
	free(b);
	assert_int_equal(parse("POST /v1/sync HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", &req, &b), 1);
	assert_int_equal(req.body_len, 3);
	assert_memory_equal(req.body, "abc", 3);
	free(b);
}

static void
test_incomplete(void **state)
{
	struct http_request req;
	char *b;

	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n", &req, &b), 0);
	free(b);
	assert_int_equal(parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", &req, &b), 0);
	free(b);
}

static void
test_refused(void **state)
{
	static const struct { const char *text; int status; } cases[] = {
		{ "GET /\r\n\r\n", 400 },
		{ "get / HTTP/1.1\r\n\r\n", 400 },
		{ "GET x HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / HTTP/1.1 extra\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501 },
	};
	struct http_request req;
	char *b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text, &req, &b);

		if (rc != cases[i].status)
			print_error("case %zu: got %d, wanted %d\n", i, rc, cases[i].status);
		assert_int_equal(rc, cases[i].status);
		free(b);
	}
}

/* RFC 9112 6.3: a message with more than one Content-Length (the same value
 * or not) is refused: a proxy in front might frame it otherwise. */
static void
test_duplicate_content_length(void **state)
{
	static const char *const cases[] = {
		"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 5\r\n\r\nabcde",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\nX: y\r\nCONTENT-LENGTH: 0\r\n\r\nabc",
		"POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
	};
	struct http_request req;
	char *b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i], &req, &b);

		if (rc != 400)
			print_error("case %zu: got %d, wanted 400\n", i, rc);
		assert_int_equal(rc, 400);
		free(b);
	}
}

/* A request fed one byte at a time, into a buffer that moves between calls
 * (as a growing one does): the scan for the blank line resumes where it
 * stopped (never from the start), and the result is the one-shot parse's. */
static void
test_incremental(void **state)
{
	static const char text[] = "POST /hooks/github?x=1 HTTP/1.1\r\nHost: a\r\n"
	    "Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"ref\": 1}";
	size_t n = strlen(text), hlen = strstr(text, "\r\n\r\n") + 4 - text;
	struct http_parser p;
	struct http_request req;
	char *buf = NULL;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	memset(&req, 0, sizeof(req));
	for (size_t len = 1; len <= n; len++) {
		char *moved = malloc(len + 1);

		/* what the parser may have rewritten stays, as in the server */
		if (buf)
			memcpy(moved, buf, len - 1);
		moved[len - 1] = text[len - 1];
		moved[len] = '\0';
		free(buf);
		buf = moved;
		rc = http_parse_more(&p, buf, len, &req);
		if (len < n)
			assert_int_equal(rc, 0);
		if (len < hlen) {
			/* everything so far was scanned once: the next call starts here */
			if (p.scanned != len)
				print_error("after %zu bytes: scanned %zu\n", len, p.scanned);
			assert_int_equal(p.scanned, len);
			assert_int_equal(p.hlen, 0);
		} else {
			assert_int_equal(p.hlen, hlen);
			assert_int_equal(p.body_len, 10);
		}
	}
	assert_int_equal(rc, 1);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.path, "/hooks/github");
	assert_string_equal(req.query, "x=1");
	assert_string_equal(http_header(&req, "content-type"), "application/json");
	assert_string_equal(http_header(&req, "Host"), "a");
	assert_int_equal(req.body_len, 10);
	assert_memory_equal(req.body, "{\"ref\": 1}", 10);
	assert_ptr_equal(req.body, buf + hlen);
	free(buf);
}

/* The header block is parsed once: once it is whole, later calls only count
 * the body's bytes (here the block is overwritten after its parse, and the
 * request still completes as first parsed). A refusal is final. */
static void
test_headers_parsed_once(void **state)
{
	char text[] = "POST /v1/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nab";
	char whole[64];
	struct http_parser p;
	struct http_request req;
	size_t hlen;

	memset(&p, 0, sizeof(p));
	memset(&req, 0, sizeof(req));
	assert_int_equal(http_parse_more(&p, text, strlen(text), &req), 0);
	hlen = p.hlen;
	assert_true(hlen > 0);
	snprintf(whole, sizeof(whole), "%s", text);
	memset(whole, 'Z', hlen);	/* anything re-parsed here would be refused */
	memcpy(whole + hlen, "abcd", 4);
	assert_int_equal(http_parse_more(&p, whole, hlen + 3, &req), 0);
	assert_int_equal(http_parse_more(&p, whole, hlen + 4, &req), 1);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.path, "/v1/x");
	assert_memory_equal(req.body, "abcd", 4);
	/* refused: the same answer on every later call */
	{
		char bad[] = "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";

		memset(&p, 0, sizeof(p));
		memset(&req, 0, sizeof(req));
		assert_int_equal(http_parse_more(&p, bad, strlen(bad), &req), 400);
		assert_int_equal(http_parse_more(&p, bad, strlen(bad), &req), 400);
	}
}

static void
test_header_limits(void **state)
{
	struct http_request req;
	size_t n = HTTP_MAX_HEADER + 100;
	char *big = malloc(n + 1), *b;

	memset(big, 'a', n);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[n] = '\0';
	assert_int_equal(http_parse(big, n, &req), 431);
	free(big);
	{
		char text[8192] = "GET / HTTP/1.1\r\n";

		for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "H%d: v\r\n", i);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "\r\n");
		assert_int_equal(parse(text, &req, &b), 431);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_duplicate_content_length),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_headers_parsed_once),
	};

	return cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
}
