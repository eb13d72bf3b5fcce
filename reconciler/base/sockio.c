/*
 * sockio: see sockio.h.
 */
#include "sockio.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* SO_SNDTIMEO bounds a unix socket's connect when the listener's backlog is
 * full; the socket turns non-blocking once connected. */
int
unix_connect(const char *path, long timeout_ms, int *out)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 }, zero = { 0, 0 };
	struct sockaddr_un sa;
	int fd, e;

	*out = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof(zero)) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		e = errno == EINPROGRESS ? EAGAIN : errno;
		close(fd);
		errno = e;
		return -1;
	}
	*out = fd;
	return 0;
}

int
fd_wait(int fd, short events, long long deadline)
{
	struct pollfd p = { fd, events, 0 };
	long long left = deadline - now_ms();
	int n;

	if (left <= 0)
		return 0;
	n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
	return n < 0 && errno == EINTR ? 1 : n;
}

int
fd_send_all(int fd, const void *data, size_t len, long long deadline)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
		} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
			return -1;
		} else if (errno != EINTR && fd_wait(fd, POLLOUT, deadline) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

ssize_t
fd_recv(int fd, void *buf, size_t len, long long deadline)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (fd_wait(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}
