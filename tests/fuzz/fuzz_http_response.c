/* libFuzzer target: the HTTP/1.1 response parser the Engine API client reads
 * every answer with (outside input: the engine, or a socket proxy in front of
 * it). The input is fed at once and again in pieces (the first byte sets
 * their size), as answers arrive: both must agree on the outcome, the head
 * and the body's bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct body {
	struct buf b;
	size_t stop_at;		/* stop the body after this many bytes; 0 never */
};

static int
body_cb(const char *p, size_t n, void *payload)
{
	struct body *o = payload;

	buf_add(&o->b, p, n);
	return o->stop_at && o->b.len >= o->stop_at;
}

/* The whole input through r in pieces of step bytes; the outcome, with
 * *eaten the bytes the response took. */
static int
run(struct http_response *r, const uint8_t *data, size_t size, size_t step, struct body *o,
    size_t *eaten)
{
	size_t off = 0, used;
	int rc = 0;

	*eaten = 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		rc = http_response_feed(r, (const char *)data + off, n, &used, body_cb, o);
		if (used > n)
			abort();
		*eaten += used;
		if (rc != 0)
			return rc;
		off += n;
	}
	return http_response_eof(r) ? 2 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response a, b;
	struct body oa, ob;
	size_t step = size ? 1 + data[0] % 61 : 1, ea, eb;
	int ra, rb;

	memset(&oa, 0, sizeof(oa));
	memset(&ob, 0, sizeof(ob));
	buf_init(&oa.b, 0);
	buf_init(&ob.b, 0);
	http_response_init(&a);
	http_response_init(&b);
	a.no_body = b.no_body = size > 1 && data[1] == 'H';
	ra = run(&a, data, size, size ? size : 1, &oa, &ea);
	rb = run(&b, data, size, step, &ob, &eb);
	if (ra != rb || a.status != b.status || a.keep_alive != b.keep_alive ||
	    strcmp(a.api, b.api) != 0 || oa.b.len != ob.b.len ||
	    (oa.b.len && memcmp(oa.b.data, ob.b.data, oa.b.len) != 0))
		abort();
	if (ra == 1 && ea != eb)
		abort();
	if (ra == 1 && !http_response_has_head(&a))
		abort();
	/* a body callback that stops: the feed says so, whatever the pieces */
	http_response_reset(&a);
	buf_reset(&oa.b);
	oa.stop_at = 1;
	ra = run(&a, data, size, step, &oa, &ea);
	if (oa.b.len && ra != -2)
		abort();
	http_response_release(&a);
	http_response_release(&b);
	buf_release(&oa.b);
	buf_release(&ob.b);
	return 0;
}
