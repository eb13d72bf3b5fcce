/*
 * sdnotify: see sdnotify.h.
 */
#include "sdnotify.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct sdnotify {
	int fd;
	struct sockaddr_un sa;
	socklen_t salen;
	_Atomic int failing;	/* the last send failed and was logged (any thread sends) */
};

static int
fill_addr(struct sdnotify *n, const char *addr, char *err)
{
	size_t len = strlen(addr);

	memset(&n->sa, 0, sizeof(n->sa));
	n->sa.sun_family = AF_UNIX;
	if (addr[0] != '/' && addr[0] != '@')
		return errf(err, "NOTIFY_SOCKET '%s': expected an absolute path or @name "
		    "(abstract socket); readiness is not reported", addr);
	if (len < 2 || len >= sizeof(n->sa.sun_path))
		return errf(err, "NOTIFY_SOCKET '%s': the name must have 1 to %zu characters; "
		    "readiness is not reported", addr, sizeof(n->sa.sun_path) - 2);
	memcpy(n->sa.sun_path, addr, len);
	if (addr[0] == '@') {
		/* abstract: a leading NUL, and the length says where the name ends */
		n->sa.sun_path[0] = '\0';
		n->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		n->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	return 0;
}

int
sdnotify_open(struct sdnotify **out, const char *addr, char *err)
{
	struct sdnotify *n;

	*out = NULL;
	if (!addr || !*addr)
		return 0;
	n = xcalloc(1, sizeof(*n));
	if (fill_addr(n, addr, err) < 0) {
		free(n);
		return -1;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		errf(err, "NOTIFY_SOCKET: socket: %s; readiness is not reported", strerror(errno));
		free(n);
		return -1;
	}
	*out = n;
	return 0;
}

void
sdnotify_free(struct sdnotify *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}

int
sdnotify_send(struct sdnotify *n, const char *fmt, ...)
{
	char msg[SDNOTIFY_MAX];
	va_list ap;
	int len;
	ssize_t sent;

	if (!n)
		return 0;
	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(msg))
		len = (int)sizeof(msg) - 1;
	do
		sent = sendto(n->fd, msg, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
		    (const struct sockaddr *)&n->sa, n->salen);
	while (sent < 0 && errno == EINTR);
	if (sent < 0) {
		if (!n->failing)
			log_warn("sdnotify", "cannot notify the service manager: %s (not logged "
			    "again until a notification goes through)", strerror(errno));
		n->failing = 1;
		return -1;
	}
	if (n->failing)
		log_info("sdnotify", "notifications to the service manager go through again");
	n->failing = 0;
	return 0;
}

uint64_t
sdnotify_watchdog_usec(const char *usec, const char *pid, pid_t self)
{
	unsigned long long v;
	long p;
	char *end;

	if (!usec || !*usec)
		return 0;
	if (pid && *pid) {
		errno = 0;
		p = strtol(pid, &end, 10);
		if (errno || *end || p <= 0 || p != (long)self)
			return 0;
	}
	if (*usec < '0' || *usec > '9')
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0 || v > UINT64_MAX / 2)
		return 0;
	return (uint64_t)v;
}
