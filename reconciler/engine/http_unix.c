/*
 * http_unix: see http_unix.h.
 */
#include "http_unix.h"
#include "http_response.h"
#include "sockio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
body_add(const char *p, size_t n, void *payload)
{
	return buf_add(payload, p, n) < 0;
}

/* Reads the answer into r and body until it is whole (or closed). */
static int
read_answer(int fd, struct http_response *r, struct buf *body, long long deadline, char *err)
{
	char chunk[16384];

	for (;;) {
		ssize_t n;
		size_t used;
		int rc;

		if ((n = fd_recv(fd, chunk, sizeof(chunk), deadline)) < 0)
			return errf(err, "%s", errno == ETIMEDOUT ? "no answer in time" :
			    strerror(errno));
		if (n == 0)
			return http_response_eof(r) ? 0 :
			    errf(err, "connection closed before the answer was complete");
		rc = http_response_feed(r, chunk, (size_t)n, &used, body_add, body);
		if (rc == 1)
			return 0;
		if (rc == -2)
			return errf(err, "answer larger than %zu bytes", body->max);
		if (rc < 0)
			return errf(err, "malformed answer: %s", r->err);
	}
}

long
http_unix_call(const char *sock, const char *method, const char *path, long timeout_ms,
    size_t max, struct buf *body, char *err)
{
	long long deadline = now_ms() + timeout_ms;
	struct http_response r;
	struct buf req;
	long status = -1;
	int fd;

	buf_init(body, max);
	if (unix_connect(sock, timeout_ms, &fd) < 0)
		return errf(err, "cannot connect to '%s': %s", sock, strerror(errno));
	buf_init(&req, 0);
	buf_addf(&req, "%s %s HTTP/1.1\r\nHost: reconcilerd\r\nUser-Agent: reconciler/%s\r\n"
	    "Connection: close\r\n%s\r\n", method, path, RECONCILER_VERSION,
	    strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ? "Content-Length: 0\r\n" :
	    "");
	http_response_init(&r);
	r.no_body = strcmp(method, "HEAD") == 0;
	if (fd_send_all(fd, req.data, req.len, deadline) < 0)
		errf(err, "sending the request: %s", strerror(errno));
	else if (read_answer(fd, &r, body, deadline, err) == 0)
		status = r.status;
	http_response_release(&r);
	buf_release(&req);
	close(fd);
	return status;
}
