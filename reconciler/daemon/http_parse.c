/*
 * http_parse: the HTTP/1.1 request parser of httpd (see httpd.h). Pure: bytes
 * in, a request or a status out. Incremental: the scan for the blank line
 * that ends the header block resumes where the last call stopped, and the
 * header block is parsed once, so a client that sends one byte at a time
 * costs linear work, not quadratic.
 */
#include "httpd.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
token_char(int c)
{
	return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?={}", c);
}

const char *
http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* METHOD SP TARGET SP HTTP/1.x, NUL-terminated in line. */
static int
request_line(char *line, struct http_request *req)
{
	char *sp1, *sp2, *q;
	size_t mlen;

	if (!(sp1 = strchr(line, ' ')) || !(sp2 = strchr(sp1 + 1, ' ')) || strchr(sp2 + 1, ' '))
		return 400;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof(req->method))
		return 400;
	for (size_t i = 0; i < mlen; i++)
		if (!isupper((unsigned char)line[i]))
			return 400;
	memcpy(req->method, line, mlen);
	if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)
		return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	*sp2 = '\0';
	if (sp1[1] != '/')
		return 400;
	for (char *p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127)
			return 400;
	if ((q = strchr(sp1 + 1, '?'))) {
		*q = '\0';
		if (strlen(q + 1) >= sizeof(req->query))
			return 431;
		memcpy(req->query, q + 1, strlen(q + 1) + 1);
	}
	if (strlen(sp1 + 1) >= sizeof(req->path))
		return 431;
	memcpy(req->path, sp1 + 1, strlen(sp1 + 1) + 1);
	return 0;
}

/* Content-Length: digits only, at most HTTP_MAX_BODY. */
static int
content_length(const char *v, size_t *out)
{
	char *ep;
	unsigned long long n;

	if (!isdigit((unsigned char)v[0]))
		return 400;
	errno = 0;
	n = strtoull(v, &ep, 10);
	if (*ep || errno)
		return 400;
	if (n > HTTP_MAX_BODY)
		return 413;
	*out = (size_t)n;
	return 0;
}

/* One "Name: value" line, NUL-terminated, at offset off of buf. */
static int
header_line(char *buf, size_t off, struct http_request *req, struct http_parser *p,
    int *ncl)
{
	char *line = buf + off, *colon, *v, *e;
	int rc;

	if (!(colon = strchr(line, ':')) || colon == line)
		return 400;
	for (char *c = line; c < colon; c++)
		if (!token_char((unsigned char)*c))
			return 400;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (char *c = v; *c; c++)
		if ((unsigned char)*c < 32 && *c != '\t')
			return 400;
	if (req->nheaders == HTTP_MAX_HEADERS)
		return 431;
	if (strcasecmp(line, "Transfer-Encoding") == 0)
		return 501;	/* chunked bodies are not taken: send Content-Length */
	if (strcasecmp(line, "Content-Length") == 0) {
		/* RFC 9112 6.3: more than one is an error, even with one value */
		if (++*ncl > 1)
			return 400;
		if ((rc = content_length(v, &p->body_len)) != 0)
			return rc;
	}
	req->headers[req->nheaders].name_off = off;
	req->headers[req->nheaders].value_off = (size_t)(v - buf);
	req->nheaders++;
	return 0;
}

/* The whole header block, buf[0, hlen), once. */
static int
header_block(struct http_parser *p, char *buf, struct http_request *req)
{
	char *next;
	size_t off;
	int rc, ncl = 0;

	if (memchr(buf, '\0', p->hlen))
		return 400;
	buf[p->hlen - 4] = '\0';
	next = strstr(buf, "\r\n");
	if (next)
		*next = '\0';
	if ((rc = request_line(buf, req)) != 0)
		return rc;
	while (next) {
		off = (size_t)(next + 2 - buf);
		next = strstr(buf + off, "\r\n");
		if (next)
			*next = '\0';
		if ((rc = header_line(buf, off, req, p, &ncl)) != 0)
			return rc;
	}
	return 0;
}

int
http_parse_more(struct http_parser *p, char *buf, size_t len, struct http_request *req)
{
	int rc;

	if (p->status)
		return p->status;
	if (!p->hlen) {
		size_t i = p->scanned >= 3 ? p->scanned - 3 : 0;

		for (; i + 3 < len; i++)
			if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
			    buf[i + 3] == '\n')
				break;
		if (i + 3 >= len) {
			p->scanned = len;
			return len > HTTP_MAX_HEADER ? (p->status = 431) : 0;
		}
		p->hlen = i + 4;
		p->scanned = p->hlen;
		if (p->hlen > HTTP_MAX_HEADER)
			return p->status = 431;
		if ((rc = header_block(p, buf, req)) != 0)
			return p->status = rc;
	}
	if (len - p->hlen < p->body_len)
		return 0;
	/* whole: the pointers into buf, wherever it is now */
	for (size_t i = 0; i < req->nheaders; i++) {
		req->headers[i].name = buf + req->headers[i].name_off;
		req->headers[i].value = buf + req->headers[i].value_off;
	}
	req->body = buf + p->hlen;
	req->body_len = p->body_len;
	return 1;
}

int
http_parse(char *buf, size_t len, struct http_request *req)
{
	struct http_parser p;

	memset(&p, 0, sizeof(p));
	memset(req, 0, sizeof(*req));
	return http_parse_more(&p, buf, len, req);
}
