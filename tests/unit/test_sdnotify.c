/* Unit tests: sdnotify against real datagram sockets, by path and abstract. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "util.h"

/* A receiver bound like systemd's: returns its fd. */
static int
receiver(const char *addr)
{
	struct sockaddr_un sa;
	size_t len = strlen(addr);
	socklen_t salen;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, addr, len);
	if (addr[0] == '@') {
		sa.sun_path[0] = '\0';
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		print_error("bind %s: %s\n", addr, strerror(errno));
		fail();
	}
	return fd;
}

/* One datagram, within a second, as a string. */
static void
expect_datagram(int fd, const char *want)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char got[SDNOTIFY_MAX + 1];
	ssize_t n;

	assert_int_equal(poll(&p, 1, 1000), 1);
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void
test_path(void **state)
{
	char dir[] = "/tmp/rt-sdnotify.XXXXXX", path[128], err[ERR_LEN];
	struct sdnotify *n;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = receiver(path);
	assert_int_equal(sdnotify_open(&n, path, err), 0);
	assert_non_null(n);
	assert_int_equal(sdnotify_send(n, "READY=1\nSTATUS=%s", "in sync at abc"), 0);
	expect_datagram(fd, "READY=1\nSTATUS=in sync at abc");
	assert_int_equal(sdnotify_send(n, "WATCHDOG=1"), 0);
	expect_datagram(fd, "WATCHDOG=1");
	close(fd);
	unlink(path);
	/* no receiver any more: an error to the caller, never a crash or a block */
	assert_int_equal(sdnotify_send(n, "STOPPING=1"), -1);
	assert_int_equal(sdnotify_send(n, "STOPPING=1"), -1);
	sdnotify_free(n);
	rmdir(dir);
}

static void
test_abstract(void **state)
{
	char name[64], err[ERR_LEN];
	struct sdnotify *n;
	int fd;

	snprintf(name, sizeof(name), "@rt-sdnotify-%d", (int)getpid());
	fd = receiver(name);
	assert_int_equal(sdnotify_open(&n, name, err), 0);
	assert_non_null(n);
	assert_int_equal(sdnotify_send(n, "STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	sdnotify_free(n);
}

static void
test_long_message_is_cut(void **state)
{
	char name[64], err[ERR_LEN], big[4 * SDNOTIFY_MAX], want[SDNOTIFY_MAX];
	struct sdnotify *n;
	int fd;

	snprintf(name, sizeof(name), "@rt-sdnotify-long-%d", (int)getpid());
	fd = receiver(name);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(want, "STATUS=", 7);
	memset(want + 7, 'x', sizeof(want) - 8);
	want[sizeof(want) - 1] = '\0';
	assert_int_equal(sdnotify_open(&n, name, err), 0);
	assert_int_equal(sdnotify_send(n, "STATUS=%s", big), 0);
	expect_datagram(fd, want);
	close(fd);
	sdnotify_free(n);
}

static void
test_unset_and_bad(void **state)
{
	char err[ERR_LEN], longname[200];
	struct sdnotify *n = (struct sdnotify *)1;

	assert_int_equal(sdnotify_open(&n, NULL, err), 0);
	assert_null(n);
	assert_int_equal(sdnotify_open(&n, "", err), 0);
	assert_null(n);
	/* NULL: every call is a no-op */
	assert_int_equal(sdnotify_send(NULL, "READY=1"), 0);
	sdnotify_free(NULL);
	assert_int_equal(sdnotify_open(&n, "relative/path", err), -1);
	assert_null(n);
	assert_non_null(strstr(err, "NOTIFY_SOCKET 'relative/path'"));
	assert_int_equal(sdnotify_open(&n, "vsock:2:1234", err), -1);
	assert_int_equal(sdnotify_open(&n, "@", err), -1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sdnotify_open(&n, longname, err), -1);
	assert_non_null(strstr(err, "characters"));
}

static void
test_watchdog_usec(void **state)
{
	assert_int_equal(sdnotify_watchdog_usec(NULL, NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("30000000", NULL, 42), 30000000);
	assert_int_equal(sdnotify_watchdog_usec("30000000", "", 42), 30000000);
	assert_int_equal(sdnotify_watchdog_usec("30000000", "42", 42), 30000000);
	/* meant for another process (a parent that exec'd us keeps it) */
	assert_int_equal(sdnotify_watchdog_usec("30000000", "41", 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("30000000", "x", 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("0", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("-5", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("12s", NULL, 42), 0);
	assert_int_equal(sdnotify_watchdog_usec("99999999999999999999999", NULL, 42), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_long_message_is_cut),
		cmocka_unit_test(test_unset_and_bad),
		cmocka_unit_test(test_watchdog_usec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
