/* Unit tests: the HTTP request parser (limits, malformed input). */
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
	};

	return cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
}
