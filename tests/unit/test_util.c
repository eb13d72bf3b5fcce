/* Unit tests: util's parsers of numbers and durations take whole values only. */
#include "helpers.h"
#include "digest.h"
#include "util.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>

static void
test_int_parse(void **state)
{
	long v = -7;

	assert_int_equal(int_parse("42", 1, 64, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(int_parse("-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(int_parse("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	v = -7;
	/* what atoi took as a prefix, or as 0 */
	assert_int_equal(int_parse("4x", 1, 64, &v), -1);
	assert_int_equal(int_parse("x", 0, 64, &v), -1);
	assert_int_equal(int_parse("", 0, 64, &v), -1);
	assert_int_equal(int_parse(" 4", 1, 64, &v), -1);
	assert_int_equal(int_parse("4\n", 1, 64, &v), -1);
	assert_int_equal(int_parse(NULL, 1, 64, &v), -1);
	/* the range, and overflow */
	assert_int_equal(int_parse("0", 1, 64, &v), -1);
	assert_int_equal(int_parse("65", 1, 64, &v), -1);
	assert_int_equal(int_parse("99999999999999999999999", 1, LONG_MAX, &v), -1);
	assert_int_equal(v, -7);
}

static void
test_duration_parse(void **state)
{
	int64_t ms;

	assert_int_equal(duration_parse("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(duration_parse("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(duration_parse("10", &ms), -1);
	assert_int_equal(duration_parse("5x", &ms), -1);
}

static void
redacts(const char *url, const char *want)
{
	char *got = url_redact(url);

	assert_string_equal(got, want);
	free(got);
}

/* A repository URL shown in the status, the page and the log keeps no token. */
static void
test_url_redact(void **state)
{
	/* http(s): the user information goes whole (a token may be the user) */
	redacts("https://user:s3cret@git.example.com/infra.git", "https://git.example.com/infra.git");
	redacts("https://ghp_t0ken@github.com/o/r.git", "https://github.com/o/r.git");
	redacts("HTTP://u:p@h:8080/r", "HTTP://h:8080/r");
	redacts("https://x:y@h", "https://h");
	/* the last '@' of the authority ends it; one in the path is not it */
	redacts("https://u:p@ss@h/r", "https://h/r");
	redacts("https://h/a@b", "https://h/a@b");
	redacts("https://h?x=a@b", "https://h?x=a@b");
	/* other schemes keep the user, lose the password */
	redacts("ssh://git:pw@h:22/r.git", "ssh://git@h:22/r.git");
	redacts("ssh://git@h/r.git", "ssh://git@h/r.git");
	/* scp-like, local and odd input stay as they are */
	redacts("git@github.com:o/r.git", "git@github.com:o/r.git");
	redacts("file:///srv/git/r.git", "file:///srv/git/r.git");
	redacts("/srv/git/r.git", "/srv/git/r.git");
	redacts("", "");
	redacts("://u:p@h", "://u:p@h");
	redacts("git@h:p://x:y@z", "git@h:p://x:y@z");

	assert_int_equal(url_has_password("https://u:p@h/r"), 1);
	assert_int_equal(url_has_password("ssh://git:pw@h/r"), 1);
	assert_int_equal(url_has_password("https://ghp_t0ken@h/r"), 0);
	assert_int_equal(url_has_password("https://h/r:x@y"), 0);
	assert_int_equal(url_has_password("git@h:r.git"), 0);
	assert_int_equal(url_has_password("file:///r"), 0);
}

/* reconcilerctl sync proves the pid file's process is the daemon by the
 * lock it holds: the holder is named, and nobody once it is gone. */
static void
test_dir_lock_holder(void **state)
{
	char dir[] = "/tmp/test-util.XXXXXX", err[ERR_LEN], c, *p;
	int ready[2], fd;
	pid_t child, holder = 1;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(dir_lock_holder(dir, &holder, err), 0);
	assert_int_equal(holder, 0);	/* no lock file yet */
	assert_int_equal(pipe(ready), 0);
	if ((child = fork()) == 0) {
		close(ready[0]);
		if (dir_lock(dir, &fd, err) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(dir_lock_holder(dir, &holder, err), 0);
	assert_int_equal(holder, child);
	assert_int_equal(dir_lock(dir, &fd, err), -1);
	assert_non_null(strstr(err, "another reconcilerd is using"));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(dir_lock_holder(dir, &holder, err), 0);
	assert_int_equal(holder, 0);
	/* and the lock is free for the next one */
	assert_int_equal(dir_lock(dir, &fd, err), 0);
	close(fd);
	p = xasprintf("%s/lock", dir);
	unlink(p);
	free(p);
	assert_int_equal(rmdir(dir), 0);
}

static void
hex_of(const unsigned char *md, char out[65])
{
	for (size_t i = 0; i < DIGEST_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Known answers: FIPS 180-2's "abc", RFC 4231's test cases 1 and 6 (a key
 * longer than a block). */
static void
test_digest_known_answers(void **state)
{
	unsigned char md[DIGEST_SHA256_LEN], key[131];
	char hex[65];

	(void)state;
	digest_sha256("abc", 3, md);
	hex_of(md, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	memset(key, 0x0b, 20);
	digest_hmac_sha256(key, 20, "Hi There", 8, md);
	hex_of(md, hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	memset(key, 0xaa, sizeof(key));
	digest_hmac_sha256(key, sizeof(key), "Test Using Larger Than Block-Size Key - Hash Key First",
	    54, md);
	hex_of(md, hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* FIPS 180-2's two-block message and its million 'a's (fed in uneven
 * pieces), then libcrypto's SHA-256 for every length across four blocks
 * and each padding edge, fed at once and a byte at a time. */
static void
test_digest_against_libcrypto(void **state)
{
	unsigned char md[DIGEST_SHA256_LEN], ref[DIGEST_SHA256_LEN], data[300];
	struct digest_sha256_ctx c;
	static char a[1000];
	char hex[65];

	(void)state;
	digest_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, md);
	hex_of(md, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(a, 'a', sizeof(a));
	digest_sha256_init(&c);
	for (size_t done = 0, k = 1; done < 1000000; done += k, k = k % 997 + 1)
		digest_sha256_update(&c, a, done + k > 1000000 ? 1000000 - done : k);
	digest_sha256_final(&c, md);
	hex_of(md, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof(data); n++) {
		SHA256(data, n, ref);
		digest_sha256(data, n, md);
		assert_memory_equal(md, ref, sizeof(md));
		digest_sha256_init(&c);
		for (size_t i = 0; i < n; i++)
			digest_sha256_update(&c, data + i, 1);
		digest_sha256_final(&c, md);
		assert_memory_equal(md, ref, sizeof(md));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_parse),
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_dir_lock_holder),
		cmocka_unit_test(test_digest_known_answers),
		cmocka_unit_test(test_digest_against_libcrypto),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
