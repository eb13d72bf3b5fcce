/*
 * http_response: an HTTP/1.1 response parser fed in pieces; see
 * http_response.h. Only what an HTTP/1.1 server may send is taken (RFC 9112):
 * a malformed status line or header, conflicting lengths, a transfer coding
 * other than chunked, or a head past its bound ends the response with a
 * message instead of a guess.
 */
#include "http_response.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHUNK_LINE_MAX 4096	/* a chunk-size line with its extensions */
#define LENGTH_MAX (1ULL << 52)	/* larger than any answer we would buffer */

enum {
	S_HEAD,		/* status line and headers, up to the empty line */
	S_LENGTH,	/* Content-Length bytes of body */
	S_CHUNK_SIZE,	/* a chunk-size line */
	S_CHUNK_DATA,	/* the chunk's bytes */
	S_CHUNK_END,	/* the CRLF after them */
	S_TRAILER,	/* trailer lines after the last chunk, up to an empty one */
	S_TO_CLOSE,	/* the body runs to the connection's close */
	S_DONE,
};

static int
bad(struct http_response *r, const char *why)
{
	snprintf(r->err, sizeof(r->err), "%s", why);
	return -1;
}

void
http_response_init(struct http_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->head, HTTP_RESPONSE_HEAD_MAX);
	r->length = -1;
}

void
http_response_release(struct http_response *r)
{
	buf_release(&r->head);
}

void
http_response_reset(struct http_response *r)
{
	int no_body = r->no_body;

	http_response_release(r);
	http_response_init(r);
	r->no_body = no_body;
}

int
http_response_has_head(const struct http_response *r)
{
	return r->state != S_HEAD;
}

int
http_response_eof(const struct http_response *r)
{
	return r->state == S_TO_CLOSE || r->state == S_DONE;
}

/* A comma-separated header value holds token (case-insensitive). */
static int
has_token(const char *v, size_t n, const char *token)
{
	size_t t = strlen(token);

	while (n) {
		size_t k = 0, e;

		while (n && (*v == ' ' || *v == '\t' || *v == ',')) {
			v++;
			n--;
		}
		while (k < n && v[k] != ',')
			k++;
		e = k;
		while (e && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e == t && strncasecmp(v, token, t) == 0)
			return 1;
		v += k;
		n -= k;
	}
	return 0;
}

/* Content-Length: digits only; a second one must say the same. */
static int
take_length(struct http_response *r, const char *v, size_t n)
{
	unsigned long long x = 0;

	if (!n)
		return bad(r, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return bad(r, "Content-Length is not a number");
		x = x * 10 + (unsigned)(v[i] - '0');
		if (x > LENGTH_MAX)
			return bad(r, "Content-Length too large");
	}
	if (r->length >= 0 && (unsigned long long)r->length != x)
		return bad(r, "conflicting Content-Length headers");
	r->length = (long long)x;
	return 0;
}

/* Transfer-Encoding: chunked, and nothing else (no compression was asked). */
static int
take_coding(struct http_response *r, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n != 7 || strncasecmp(v, "chunked", 7) != 0)
		return bad(r, "unsupported Transfer-Encoding (only chunked is read)");
	r->chunked = 1;
	return 0;
}

static void
take_api(struct http_response *r, const char *v, size_t n)
{
	size_t k = 0;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	for (; k < n && k < sizeof(r->api) - 1 && (isdigit((unsigned char)v[k]) || v[k] == '.');
	    k++)
		r->api[k] = v[k];
	r->api[k] = '\0';
}

/* One header line (without its line end). */
static int
take_header(struct http_response *r, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);
	size_t name, vn;
	const char *v;

	if (!colon || colon == p)
		return bad(r, "malformed header line");
	name = (size_t)(colon - p);
	for (size_t i = 0; i < name; i++)
		if (!isgraph((unsigned char)p[i]))
			return bad(r, "malformed header name");
	v = colon + 1;
	vn = n - name - 1;
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	for (size_t i = 0; i < vn; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return bad(r, "control character in a header value");
	if (name == 14 && strncasecmp(p, "Content-Length", 14) == 0)
		return take_length(r, v, vn);
	if (name == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0)
		return take_coding(r, v, vn);
	if (name == 10 && strncasecmp(p, "Connection", 10) == 0) {
		if (has_token(v, vn, "close"))
			r->keep_alive = 0;
		else if (has_token(v, vn, "keep-alive"))
			r->keep_alive = 1;
	} else if (name == 11 && strncasecmp(p, "Api-Version", 11) == 0) {
		take_api(r, v, vn);
	}
	return 0;
}

/* "HTTP/1.x SSS reason" */
static int
take_status(struct http_response *r, const char *p, size_t n)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || !isdigit((unsigned char)p[9]) || !isdigit((unsigned char)p[10]) ||
	    !isdigit((unsigned char)p[11]) || (n > 12 && p[12] != ' '))
		return bad(r, "not an HTTP/1.x status line");
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100)
		return bad(r, "not an HTTP/1.x status line");
	r->keep_alive = p[7] == '1';
	return 0;
}

/* The head in r->head (its empty line included): status, headers, then how
 * the body is framed. 1 when it was an interim (1xx) answer to skip. */
static int
parse_head(struct http_response *r)
{
	const char *p = r->head.data, *end = p + r->head.len;
	int first = 1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n && p[n - 1] == '\r')
			n--;
		if (!n)
			break;	/* the empty line */
		if (memchr(p, '\0', n))
			return bad(r, "NUL byte in the response head");
		if (first ? take_status(r, p, n) < 0 : take_header(r, p, n) < 0)
			return -1;
		first = 0;
		p = nl ? nl + 1 : end;
	}
	if (r->status >= 100 && r->status < 200) {
		if (r->status == 101)
			return bad(r, "unexpected 101 Switching Protocols");
		return 1;
	}
	if (r->no_body || r->status == 204 || r->status == 304) {
		r->state = S_DONE;
	} else if (r->chunked) {
		r->state = S_CHUNK_SIZE;
	} else if (r->length >= 0) {
		r->left = (unsigned long long)r->length;
		r->state = r->left ? S_LENGTH : S_DONE;
	} else {
		r->state = S_TO_CLOSE;
		r->keep_alive = 0;
	}
	buf_reset(&r->head);
	return 0;
}

/* Where the head's empty line ends in r->head, searched from `from`; 0 none. */
static size_t
head_end(const struct buf *h, size_t from)
{
	for (size_t i = from; i < h->len; i++) {
		if (h->data[i] != '\n')
			continue;
		if (i >= 1 && h->data[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && h->data[i - 1] == '\r' && h->data[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* Takes head bytes; *took says how many of p were the head's. */
static int
feed_head(struct http_response *r, const char *p, size_t n, size_t *took)
{
	size_t before = r->head.len, end, from = before > 3 ? before - 3 : 0;
	size_t k = n < HTTP_RESPONSE_HEAD_MAX - before ? n : HTTP_RESPONSE_HEAD_MAX - before;
	int rc;

	buf_add(&r->head, p, k);	/* within the bound: cannot fail */
	if ((end = head_end(&r->head, from)) == 0) {
		if (r->head.len == HTTP_RESPONSE_HEAD_MAX)
			return bad(r, "response head larger than 64 KiB");
		*took = n;
		return 0;
	}
	*took = end - before;
	r->head.len = end;
	if ((rc = parse_head(r)) < 0)
		return -1;
	if (rc == 1) {	/* 1xx: the real answer follows */
		int no_body = r->no_body;

		buf_reset(&r->head);
		r->status = 0;
		r->length = -1;
		r->chunked = 0;
		r->api[0] = '\0';
		r->no_body = no_body;
	}
	return 0;
}

/* A chunk-size line, a chunk's CRLF or a trailer line: bytes up to '\n'.
 * 1 with the line (without CR LF) in r->head once whole, 0 for more. */
static int
feed_line(struct http_response *r, const char *p, size_t n, size_t *took, size_t max)
{
	const char *nl = memchr(p, '\n', n);
	size_t k = nl ? (size_t)(nl - p) + 1 : n;

	*took = k;
	if (r->head.len + k > max || buf_add(&r->head, p, k) < 0)
		return bad(r, r->state == S_TRAILER ? "trailer line too long" :
		    "chunk-size line too long");
	if (!nl)
		return 0;
	r->head.len--;	/* the '\n' */
	if (r->head.len && r->head.data[r->head.len - 1] == '\r')
		r->head.len--;
	r->head.data[r->head.len] = '\0';
	return 1;
}

static int
take_chunk_size(struct http_response *r)
{
	const char *s = r->head.data;
	unsigned long long x = 0;
	size_t i = 0;

	for (; i < r->head.len && isxdigit((unsigned char)s[i]); i++) {
		x = x * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0' :
		    tolower((unsigned char)s[i]) - 'a' + 10);
		if (x > LENGTH_MAX)
			return bad(r, "chunk size too large");
	}
	if (i == 0 || (i < r->head.len && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return bad(r, "malformed chunk size");
	buf_reset(&r->head);
	r->left = x;
	r->state = x ? S_CHUNK_DATA : S_TRAILER;
	return 0;
}

/* Framing bytes (a head, a chunk line, a trailer): *took of p taken. */
static int
feed_frame(struct http_response *r, const char *p, size_t n, size_t *took)
{
	int rc;

	switch (r->state) {
	case S_HEAD:
		return feed_head(r, p, n, took);
	case S_CHUNK_SIZE:
		if ((rc = feed_line(r, p, n, took, CHUNK_LINE_MAX)) <= 0)
			return rc;
		return take_chunk_size(r);
	case S_CHUNK_END:
		if ((rc = feed_line(r, p, n, took, CHUNK_LINE_MAX)) <= 0)
			return rc;
		if (r->head.len)
			return bad(r, "chunk not followed by CRLF");
		r->state = S_CHUNK_SIZE;
		return 0;
	default:	/* S_TRAILER */
		if ((rc = feed_line(r, p, n, took, HTTP_RESPONSE_HEAD_MAX)) <= 0)
			return rc;
		r->extra += r->head.len + 2;
		if (r->extra > HTTP_RESPONSE_HEAD_MAX)
			return bad(r, "trailers larger than 64 KiB");
		if (!r->head.len)
			r->state = S_DONE;
		buf_reset(&r->head);
		return 0;
	}
}

int
http_response_feed(struct http_response *r, const char *p, size_t n, size_t *used,
    http_body_cb cb, void *payload)
{
	size_t off = 0;

	*used = 0;
	while (off < n && r->state != S_DONE) {
		size_t take = n - off;

		if (r->state == S_LENGTH || r->state == S_CHUNK_DATA || r->state == S_TO_CLOSE) {
			if (r->state != S_TO_CLOSE && take > r->left)
				take = (size_t)r->left;
			if (cb && cb(p + off, take, payload) != 0) {
				*used = off + take;
				return -2;
			}
			if (r->state != S_TO_CLOSE && (r->left -= take) == 0)
				r->state = r->state == S_LENGTH ? S_DONE : S_CHUNK_END;
		} else if (feed_frame(r, p + off, n - off, &take) < 0) {
			*used = off;
			return -1;
		}
		off += take;
	}
	*used = off;
	return r->state == S_DONE ? 1 : 0;
}
