/* Unit tests: the listener child's channel (chan.c): every message survives
 * the trip, and a hostile frame is refused with the field it got wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "chan.h"

/* The one frame in b: its type and payload. */
static void
one_frame(struct buf *b, size_t max, int *type, const unsigned char **p, size_t *n,
    struct chan_reader *r)
{
	char err[ERR_LEN];

	chan_reader_init(r, max);
	/* a byte at a time: frames come in pieces */
	for (size_t i = 0; i < b->len; i++) {
		assert_int_equal(chan_feed(r, b->data + i, 1), 0);
		if (i + 1 < b->len)
			assert_int_equal(chan_next(r, type, p, n, err), 0);
	}
	assert_int_equal(chan_next(r, type, p, n, err), 1);
}

static void
test_round_trip(void **state)
{
	struct buf b = BUF_INIT;
	struct chan_reader r;
	const unsigned char *p;
	size_t n;
	int type;
	char err[ERR_LEN];
	struct chan_config c = { "main", "/var/lib/reconciler/reconcilerd.sock", { { 0 } } }, c2;
	struct chan_request q = { 7, "/v1/history", "limit=5", "2001:db8::1" }, q2;
	struct chan_trigger t = { 9, WEBHOOK_GITEA, "abc-123", "127.0.0.1", "push to main" }, t2;
	struct chan_hook h = { WEBHOOK_GITHUB, WEBHOOK_UNAUTHORIZED, 401, "10.0.0.1", "bad sig" }, h2;
	struct chan_answer a = { 7, 200, "text/plain", "Retry-After: 1\r\n", "a\0b", 3 }, a2;

	c.hook[0].state = CHAN_SECRET_SET;
	memcpy(c.hook[0].text, "s\0cret", 6);
	c.hook[0].len = 6;
	c.hook[1].state = CHAN_SECRET_ERROR;
	c.hook[1].len = (size_t)snprintf(c.hook[1].text, sizeof(c.hook[1].text), "cannot read");
	chan_put_config(&b, &c);
	one_frame(&b, CHAN_MAX_TO_CHILD, &type, &p, &n, &r);
	assert_int_equal(type, CHAN_CONFIG);
	assert_int_equal(chan_get_config(p, n, &c2, err), 0);
	assert_string_equal(c2.branch, "main");
	assert_string_equal(c2.control, c.control);
	assert_int_equal(c2.hook[0].len, 6);
	assert_memory_equal(c2.hook[0].text, "s\0cret", 6);
	assert_int_equal(c2.hook[1].state, CHAN_SECRET_ERROR);
	assert_string_equal(c2.hook[1].text, "cannot read");
	assert_int_equal(c2.hook[2].state, CHAN_SECRET_OFF);
	chan_reader_release(&r);

	buf_reset(&b);
	chan_put_request(&b, &q);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(type, CHAN_REQUEST);
	assert_int_equal(chan_get_request(p, n, &q2, err), 0);
	assert_int_equal(q2.id, 7);
	assert_string_equal(q2.path, "/v1/history");
	assert_string_equal(q2.query, "limit=5");
	assert_string_equal(q2.peer, "2001:db8::1");
	chan_reader_release(&r);

	buf_reset(&b);
	chan_put_trigger(&b, &t);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_trigger(p, n, &t2, err), 0);
	assert_int_equal(t2.source, WEBHOOK_GITEA);
	assert_string_equal(t2.delivery, "abc-123");
	assert_string_equal(t2.reason, "push to main");
	chan_reader_release(&r);

	buf_reset(&b);
	chan_put_hook(&b, &h);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_hook(p, n, &h2, err), 0);
	assert_int_equal(h2.outcome, WEBHOOK_UNAUTHORIZED);
	assert_int_equal(h2.status, 401);
	chan_reader_release(&r);

	buf_reset(&b);
	chan_put_answer(&b, &a);
	one_frame(&b, CHAN_MAX_TO_CHILD, &type, &p, &n, &r);
	assert_int_equal(chan_get_answer(p, n, &a2, err), 0);
	assert_int_equal(a2.status, 200);
	assert_string_equal(a2.headers, "Retry-After: 1\r\n");
	assert_int_equal(a2.body_len, 3);
	assert_memory_equal(a2.body, "a\0b", 3);
	chan_reader_release(&r);
	buf_release(&b);
}

/* What a hostile child might send: each refused, naming the field. */
static void
test_refused(void **state)
{
	struct buf b = BUF_INIT;
	struct chan_reader r;
	const unsigned char *p;
	size_t n;
	int type;
	char err[ERR_LEN] = "";
	struct chan_request q = { 1, "/ok", "", "1.2.3.4" }, q2;
	struct chan_hook h = { WEBHOOK_GITHUB, WEBHOOK_SYNC, 202, "1.2.3.4", "x" }, h2;
	struct chan_trigger t = { 1, WEBHOOK_NSOURCES, "", "1.2.3.4", "x" }, t2;
	struct chan_answer a = { 1, 200, "text/plain", "X: y\r\nInjected: 1\n", "", 0 }, a2;

	/* a path that is not one */
	snprintf(q.path, sizeof(q.path), "v1/status");
	chan_put_request(&b, &q);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_request(p, n, &q2, err), -1);
	assert_non_null(strstr(err, "path"));
	chan_reader_release(&r);
	/* a space or a control character in a token */
	snprintf(q.path, sizeof(q.path), "/v1/status x");
	buf_reset(&b);
	chan_put_request(&b, &q);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_request(p, n, &q2, err), -1);
	chan_reader_release(&r);
	/* truncated, and trailing bytes */
	snprintf(q.path, sizeof(q.path), "/v1/status");
	buf_reset(&b);
	chan_put_request(&b, &q);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_request(p, n - 1, &q2, err), -1);
	assert_non_null(strstr(err, "truncated"));
	{
		unsigned char more[600];

		memcpy(more, p, n);
		more[n] = 0;
		assert_int_equal(chan_get_request(more, n + 1, &q2, err), -1);
		assert_non_null(strstr(err, "after the last field"));
	}
	chan_reader_release(&r);
	/* a sync outcome may only come as a trigger; sources are bounded */
	buf_reset(&b);
	chan_put_hook(&b, &h);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_hook(p, n, &h2, err), -1);
	assert_non_null(strstr(err, "outcome"));
	chan_reader_release(&r);
	buf_reset(&b);
	chan_put_trigger(&b, &t);
	one_frame(&b, CHAN_MAX_TO_PARENT, &type, &p, &n, &r);
	assert_int_equal(chan_get_trigger(p, n, &t2, err), -1);
	assert_non_null(strstr(err, "source"));
	chan_reader_release(&r);
	/* a header line that would split the answer */
	buf_reset(&b);
	chan_put_answer(&b, &a);
	one_frame(&b, CHAN_MAX_TO_CHILD, &type, &p, &n, &r);
	assert_int_equal(chan_get_answer(p, n, &a2, err), -1);
	assert_non_null(strstr(err, "headers"));
	chan_reader_release(&r);
	buf_release(&b);
}

/* A frame longer than the bound, or empty, ends the stream. */
static void
test_frame_bounds(void **state)
{
	struct chan_reader r;
	const unsigned char *p;
	size_t n;
	int type;
	char err[ERR_LEN] = "";
	static const unsigned char big[4] = { 0x00, 0x01, 0x00, 0x01 };	/* 64 KiB + 1 */
	static const unsigned char empty[4] = { 0, 0, 0, 0 };
	static unsigned char flood[CHAN_MAX_TO_PARENT];

	chan_reader_init(&r, CHAN_MAX_TO_PARENT);
	assert_int_equal(chan_feed(&r, big, 4), 0);
	assert_int_equal(chan_next(&r, &type, &p, &n, err), -1);
	assert_non_null(strstr(err, "65537"));
	chan_reader_release(&r);
	chan_reader_init(&r, CHAN_MAX_TO_PARENT);
	assert_int_equal(chan_feed(&r, empty, 4), 0);
	assert_int_equal(chan_next(&r, &type, &p, &n, err), -1);
	chan_reader_release(&r);
	/* the reader's buffer is bounded too */
	chan_reader_init(&r, 16);
	assert_int_equal(chan_feed(&r, flood, sizeof(flood)), 0);
	assert_int_equal(chan_feed(&r, flood, sizeof(flood)), -1);
	chan_reader_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_frame_bounds),
	};

	return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}
