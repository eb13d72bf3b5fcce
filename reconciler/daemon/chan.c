/*
 * chan: see chan.h.
 */
#include "chan.h"

#include <stdio.h>
#include <string.h>

/* --- writing ---------------------------------------------------------------- */

static void
put_u32(struct buf *out, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };

	buf_add(out, b, 4);
}

static void
put_bytes(struct buf *out, const void *p, size_t n)
{
	put_u32(out, (uint32_t)n);
	buf_add(out, p, n);
}

static void
put_str(struct buf *out, const char *s)
{
	put_bytes(out, s, strlen(s));
}

/* The frame's length, once its fields are in. */
static size_t
frame_begin(struct buf *out, int type)
{
	size_t at = out->len;
	unsigned char t = (unsigned char)type;

	put_u32(out, 0);
	buf_add(out, &t, 1);
	return at;
}

static void
frame_end(struct buf *out, size_t at)
{
	uint32_t n = (uint32_t)(out->len - at - 4);
	unsigned char *p = (unsigned char *)out->data + at;

	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
}

void
chan_put_config(struct buf *out, const struct chan_config *c)
{
	size_t at = frame_begin(out, CHAN_CONFIG);

	put_str(out, c->branch);
	put_str(out, c->control);
	for (int i = 0; i < WEBHOOK_NSOURCES; i++) {
		put_u32(out, (uint32_t)c->hook[i].state);
		put_bytes(out, c->hook[i].text, c->hook[i].len);
	}
	frame_end(out, at);
}

void
chan_put_answer(struct buf *out, const struct chan_answer *a)
{
	size_t at = frame_begin(out, CHAN_ANSWER);

	put_u32(out, a->id);
	put_u32(out, (uint32_t)a->status);
	put_str(out, a->content_type);
	put_str(out, a->headers);
	put_bytes(out, a->body, a->body_len);
	frame_end(out, at);
}

void
chan_put_request(struct buf *out, const struct chan_request *r)
{
	size_t at = frame_begin(out, CHAN_REQUEST);

	put_u32(out, r->id);
	put_str(out, r->path);
	put_str(out, r->query);
	put_str(out, r->peer);
	frame_end(out, at);
}

void
chan_put_trigger(struct buf *out, const struct chan_trigger *t)
{
	size_t at = frame_begin(out, CHAN_TRIGGER);

	put_u32(out, t->id);
	put_u32(out, (uint32_t)t->source);
	put_str(out, t->delivery);
	put_str(out, t->peer);
	put_str(out, t->reason);
	frame_end(out, at);
}

void
chan_put_hook(struct buf *out, const struct chan_hook *h)
{
	size_t at = frame_begin(out, CHAN_HOOK);

	put_u32(out, (uint32_t)h->source);
	put_u32(out, (uint32_t)h->outcome);
	put_u32(out, (uint32_t)h->status);
	put_str(out, h->peer);
	put_str(out, h->reason);
	frame_end(out, at);
}

/* --- reading ---------------------------------------------------------------- */

/* What a string field may hold. */
enum chars {
	ANY,		/* any byte (secrets, bodies) */
	TOKEN,		/* printable ASCII, no space (paths, peers, IDs) */
	TEXT,		/* printable ASCII and spaces (reasons, content types) */
	UTF8,		/* no control character (a message that may name a path) */
};

struct rd {
	const unsigned char *p;
	size_t n;
	char *err;
	int bad;
};

static int
rd_fail(struct rd *r, const char *field, const char *why)
{
	if (!r->bad)
		errf(r->err, "%s: %s", field, why);
	r->bad = 1;
	return -1;
}

static uint32_t
rd_u32(struct rd *r, const char *field)
{
	uint32_t v;

	if (r->bad)
		return 0;
	if (r->n < 4) {
		rd_fail(r, field, "truncated");
		return 0;
	}
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return v;
}

static int
chars_ok(const unsigned char *s, size_t n, enum chars kind)
{
	if (kind == ANY)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (kind == TOKEN && (c <= 32 || c >= 127))
			return 0;
		if (kind == TEXT && (c < 32 || c >= 127))
			return 0;
		if (kind == UTF8 && (c < 32 || c == 127))
			return 0;
	}
	return kind != UTF8 || utf8_invalid_at((const char *)s, n) == (size_t)-1;
}

/* A string field into dst (cap bytes with its NUL); *len its length when
 * len is not NULL (ANY fields may hold NULs). */
static void
rd_str(struct rd *r, const char *field, char *dst, size_t cap, enum chars kind, size_t *len)
{
	uint32_t n = rd_u32(r, field);

	dst[0] = '\0';
	if (r->bad)
		return;
	if (n >= cap || n > r->n) {
		rd_fail(r, field, n > r->n ? "truncated" : "too long");
		return;
	}
	if (!chars_ok(r->p, n, kind)) {
		rd_fail(r, field, "a character that is not allowed there");
		return;
	}
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	if (len)
		*len = n;
	r->p += n;
	r->n -= n;
}

static int
rd_end(struct rd *r)
{
	if (!r->bad && r->n)
		rd_fail(r, "frame", "bytes after the last field");
	return r->bad ? -1 : 0;
}

static void
rd_init(struct rd *r, const unsigned char *p, size_t n, char *err)
{
	r->p = p;
	r->n = n;
	r->err = err;
	r->bad = 0;
}

int
chan_get_config(const unsigned char *p, size_t n, struct chan_config *c, char *err)
{
	struct rd r;

	rd_init(&r, p, n, err);
	memset(c, 0, sizeof(*c));
	rd_str(&r, "branch", c->branch, sizeof(c->branch), TOKEN, NULL);
	rd_str(&r, "control", c->control, sizeof(c->control), UTF8, NULL);
	for (int i = 0; i < WEBHOOK_NSOURCES; i++) {
		uint32_t st = rd_u32(&r, "hook state");

		if (st > CHAN_SECRET_ERROR)
			rd_fail(&r, "hook state", "out of range");
		c->hook[i].state = (int)st;
		rd_str(&r, "hook secret", c->hook[i].text, sizeof(c->hook[i].text),
		    st == CHAN_SECRET_SET ? ANY : UTF8, &c->hook[i].len);
		if (!r.bad && st == CHAN_SECRET_SET && c->hook[i].len == 0)
			rd_fail(&r, "hook secret", "empty");
		if (!r.bad && st == CHAN_SECRET_OFF && c->hook[i].len > 0)
			rd_fail(&r, "hook secret", "given for a hook that is off");
	}
	return rd_end(&r);
}

static int
status_ok(struct rd *r, uint32_t status)
{
	if (status < 100 || status > 599)
		return rd_fail(r, "status", "not an HTTP status");
	return 0;
}

/* "Name: value\r\n" lines: printable, CR only before LF, LF only after CR. */
static int
headers_ok(const char *h)
{
	size_t n = strlen(h);

	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\r' && h[i + 1] != '\n')
			return 0;
		if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r'))
			return 0;
		if (h[i] != '\r' && h[i] != '\n' && ((unsigned char)h[i] < 32 ||
		    (unsigned char)h[i] >= 127))
			return 0;
	}
	return n == 0 || (n >= 2 && h[n - 1] == '\n');
}

int
chan_get_answer(const unsigned char *p, size_t n, struct chan_answer *a, char *err)
{
	struct rd r;
	uint32_t len;

	rd_init(&r, p, n, err);
	memset(a, 0, sizeof(*a));
	a->id = rd_u32(&r, "id");
	a->status = (int)rd_u32(&r, "status");
	if (!r.bad)
		status_ok(&r, (uint32_t)a->status);
	rd_str(&r, "content type", a->content_type, sizeof(a->content_type), TEXT, NULL);
	/* CR and LF pass as ANY here; headers_ok checks the lines */
	rd_str(&r, "headers", a->headers, sizeof(a->headers), ANY, NULL);
	if (!r.bad && !headers_ok(a->headers))
		rd_fail(&r, "headers", "not \"Name: value\\r\\n\" lines");
	len = rd_u32(&r, "body");
	if (!r.bad && len > r.n)
		rd_fail(&r, "body", "truncated");
	if (!r.bad) {
		a->body = (const char *)r.p;
		a->body_len = len;
		r.p += len;
		r.n -= len;
	}
	return rd_end(&r);
}

int
chan_get_request(const unsigned char *p, size_t n, struct chan_request *q, char *err)
{
	struct rd r;

	rd_init(&r, p, n, err);
	memset(q, 0, sizeof(*q));
	q->id = rd_u32(&r, "id");
	rd_str(&r, "path", q->path, sizeof(q->path), TOKEN, NULL);
	rd_str(&r, "query", q->query, sizeof(q->query), TOKEN, NULL);
	rd_str(&r, "peer", q->peer, sizeof(q->peer), TOKEN, NULL);
	if (!r.bad && q->path[0] != '/')
		rd_fail(&r, "path", "does not start with /");
	return rd_end(&r);
}

static void
source_ok(struct rd *r, uint32_t s)
{
	if (!r->bad && s >= WEBHOOK_NSOURCES)
		rd_fail(r, "source", "out of range");
}

int
chan_get_trigger(const unsigned char *p, size_t n, struct chan_trigger *t, char *err)
{
	struct rd r;

	rd_init(&r, p, n, err);
	memset(t, 0, sizeof(*t));
	t->id = rd_u32(&r, "id");
	t->source = (int)rd_u32(&r, "source");
	source_ok(&r, (uint32_t)t->source);
	rd_str(&r, "delivery", t->delivery, sizeof(t->delivery), TOKEN, NULL);
	rd_str(&r, "peer", t->peer, sizeof(t->peer), TOKEN, NULL);
	rd_str(&r, "reason", t->reason, sizeof(t->reason), TEXT, NULL);
	return rd_end(&r);
}

int
chan_get_hook(const unsigned char *p, size_t n, struct chan_hook *h, char *err)
{
	struct rd r;
	uint32_t o;

	rd_init(&r, p, n, err);
	memset(h, 0, sizeof(*h));
	h->source = (int)rd_u32(&r, "source");
	source_ok(&r, (uint32_t)h->source);
	o = rd_u32(&r, "outcome");
	if (!r.bad && (o >= WEBHOOK_NOUTCOMES || o == WEBHOOK_SYNC || o == WEBHOOK_REPLAYED))
		rd_fail(&r, "outcome", "out of range");
	h->outcome = (int)o;
	h->status = (int)rd_u32(&r, "status");
	if (!r.bad)
		status_ok(&r, (uint32_t)h->status);
	rd_str(&r, "peer", h->peer, sizeof(h->peer), TOKEN, NULL);
	rd_str(&r, "reason", h->reason, sizeof(h->reason), TEXT, NULL);
	return rd_end(&r);
}

/* --- framing ---------------------------------------------------------------- */

void
chan_reader_init(struct chan_reader *r, size_t max)
{
	/* at most one frame and one read (64 KiB) beyond it are ever held */
	buf_init(&r->in, max + 4 + (64u << 10));
	r->off = 0;
	r->max = max;
}

void
chan_reader_release(struct chan_reader *r)
{
	buf_release(&r->in);
	r->off = 0;
}

int
chan_feed(struct chan_reader *r, const void *data, size_t n)
{
	if (r->off) {
		memmove(r->in.data, r->in.data + r->off, r->in.len - r->off);
		r->in.len -= r->off;
		r->off = 0;
	}
	return buf_add(&r->in, data, n);
}

int
chan_next(struct chan_reader *r, int *type, const unsigned char **payload, size_t *len,
    char *err)
{
	const unsigned char *p = (const unsigned char *)r->in.data + r->off;
	size_t have = r->in.len - r->off;
	uint32_t n;

	if (have < 4)
		return 0;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (n == 0 || n > r->max)
		return errf(err, "a frame of %u bytes (at most %zu)", n, r->max);
	if (have - 4 < n)
		return 0;
	*type = p[4];
	*payload = p + 5;
	*len = n - 1;
	r->off += 4 + n;
	return 1;
}
