/*
 * docker_test: what the Engine client's unit tests share: the engine's socket,
 * assert_contains, an output capture for exec and demux callbacks, and a
 * frame writer for the multiplexed stream. Included by test_docker*.c only.
 */
#ifndef TESTS_DOCKER_TEST_H
#define TESTS_DOCKER_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "docker.h"
#include "docker_int.h"
#include "util.h"

#define SOCK "/var/run/docker.sock"
#define IMAGES_ENV "/var/tmp/reconciler-test/images.env"

/* The engine's socket: $DOCKER_HOST's when it is a unix one, as docker_open. */
static inline const char *
sock_path(void)
{
	const char *h = getenv("DOCKER_HOST");

	return h && strncmp(h, "unix://", 7) == 0 ? h + 7 : SOCK;
}

#define assert_contains(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (!h_ || !strstr(h_, n_)) \
		fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_); \
} while (0)

/* ---------------------------------------------------------------- helpers */

struct capture {
	struct buf out, err;
	int calls;
	int abort_after;	/* > 0: fail on that call */
};

static inline void
capture_init(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->out, 0);
	buf_init(&c->err, 0);
	buf_add(&c->out, "", 0);
	buf_add(&c->err, "", 0);
}

static inline void
capture_release(struct capture *c)
{
	buf_release(&c->out);
	buf_release(&c->err);
}

static inline int
capture_cb(int stream, const char *data, size_t len, void *payload)
{
	struct capture *c = payload;

	c->calls++;
	if (c->abort_after && c->calls >= c->abort_after)
		return 1;
	if (stream == 1)
		buf_add(&c->out, data, len);
	else if (stream == 2)
		buf_add(&c->err, data, len);
	else
		fail_msg("unexpected stream %d", stream);
	return 0;
}

static inline void
frame(struct buf *b, int stream, const char *data, uint32_t len)
{
	unsigned char h[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24),
		(unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len };

	buf_add(b, h, 8);
	buf_add(b, data, len);
}


/* A listening unix socket at /tmp/rt-<tag>-<pid>.sock (its path in path,
 * size bytes), for a fake engine: the descriptor. */
static inline int
test_listen(char *path, size_t size, const char *tag)
{
	struct sockaddr_un sa;
	int fd;

	snprintf(path, size, "/tmp/rt-%s-%ld.sock", tag, (long)getpid());
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

#endif
