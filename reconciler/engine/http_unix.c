/*
 * http_unix: see http_unix.h.
 */
#include "http_unix.h"
#include "http_response.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
body_add(const char *p, size_t n, void *payload)
{
	return buf_add(payload, p, n) < 0;
}

static int
send_all(int fd, const char *p, size_t n, long long deadline, char *err)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return errf(err, "sending the request: %s", strerror(errno));
		} else if (fd_wait(fd, POLLOUT, deadline) == 0) {
			return errf(err, "no answer in time");
		}
	}
	return 0;
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

		if (fd_wait(fd, POLLIN, deadline) == 0)
			return errf(err, "no answer in time");
		if ((n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return errf(err, "reading the answer: %s", strerror(errno));
		}
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
	struct sockaddr_un sa;
	struct buf req;
	long status = -1;
	int fd;

	buf_init(body, max);
	if (strlen(sock) >= sizeof(sa.sun_path))
		return errf(err, "socket path '%s' is too long", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errf(err, "socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		errf(err, "cannot connect to '%s': %s", sock, strerror(errno));
		close(fd);
		return -1;
	}
	buf_init(&req, 0);
	buf_addf(&req, "%s %s HTTP/1.1\r\nHost: reconcilerd\r\nUser-Agent: reconciler/%s\r\n"
	    "Connection: close\r\n%s\r\n", method, path, RECONCILER_VERSION,
	    strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ? "Content-Length: 0\r\n" :
	    "");
	http_response_init(&r);
	r.no_body = strcmp(method, "HEAD") == 0;
	if (send_all(fd, req.data, req.len, deadline, err) == 0 &&
	    read_answer(fd, &r, body, deadline, err) == 0)
		status = r.status;
	http_response_release(&r);
	buf_release(&req);
	close(fd);
	return status;
}
