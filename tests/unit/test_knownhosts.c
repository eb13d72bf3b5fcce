/* Unit tests: the known_hosts matcher pins a host key for a host and its port,
 * as OpenSSH reads the file; and the port of an ssh URL. */
#include "helpers.h"
#include "knownhosts.h"

#define KEY "AAAAC3NzaC1lZDI1NTE5AAAAIHcvb3Zk1FeE2n8sXQbm3TRf0yUvZ6c0l1VrEwVNQP7n"
#define OTHER "AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOtherOth"

static enum knownhosts_result
check(const char *text, const char *host, int port, const char *key)
{
	return knownhosts_check(text, strlen(text), host, port, key);
}

static void
test_plain_and_port(void **state)
{
	const char *plain = "git.example.com ssh-ed25519 " KEY "\n";
	const char *ported = "[git.example.com]:2222 ssh-ed25519 " KEY " comment\n";

	assert_int_equal(check(plain, "git.example.com", 22, KEY), KNOWNHOSTS_PINNED);
	/* a plain entry is for port 22 only, as ssh reads it */
	assert_int_equal(check(plain, "git.example.com", 2222, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(ported, "git.example.com", 2222, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(ported, "git.example.com", 2223, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(ported, "git.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	/* another key, another host */
	assert_int_equal(check(plain, "git.example.com", 22, OTHER), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(plain, "evil.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	/* host names compare without case */
	assert_int_equal(check(plain, "GIT.example.COM", 22, KEY), KNOWNHOSTS_PINNED);
}

static void
test_lists_wildcards_negation(void **state)
{
	const char *list = "a.example.com,[git.example.com]:2222,10.0.0.1 ssh-ed25519 " KEY "\n";
	const char *wild = "*.example.com,!bad.example.com ssh-ed25519 " KEY "\n"
	    "[192.168.1.?]:2222 ssh-ed25519 " KEY "\n";

	assert_int_equal(check(list, "git.example.com", 2222, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(list, "10.0.0.1", 22, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(list, "10.0.0.1", 2222, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(wild, "git.example.com", 22, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(wild, "bad.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(wild, "example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(wild, "192.168.1.7", 2222, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(wild, "192.168.1.17", 2222, KEY), KNOWNHOSTS_UNKNOWN);
}

static void
test_markers(void **state)
{
	const char *revoked = "[git.example.com]:2222 ssh-ed25519 " KEY "\n"
	    "@revoked [git.example.com]:2222 ssh-ed25519 " KEY "\n";
	const char *revoked_any = "@revoked * ssh-ed25519 " KEY "\n"
	    "git.example.com ssh-ed25519 " KEY "\n";
	const char *other_revoked = "@revoked * ssh-ed25519 " OTHER "\n"
	    "git.example.com ssh-ed25519 " KEY "\n";
	const char *ca = "@cert-authority *.example.com ssh-ed25519 " KEY "\n";

	/* a revoked key is refused whatever line pins it, before or after */
	assert_int_equal(check(revoked, "git.example.com", 2222, KEY), KNOWNHOSTS_REVOKED);
	assert_int_equal(check(revoked_any, "git.example.com", 22, KEY), KNOWNHOSTS_REVOKED);
	/* for the hosts its line names */
	assert_int_equal(check(revoked, "git.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(other_revoked, "git.example.com", 22, KEY), KNOWNHOSTS_PINNED);
	/* a CA key is not a host key */
	assert_int_equal(check(ca, "git.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
}

static void
test_hashed_and_format(void **state)
{
	/* ssh-keygen -H: HMAC-SHA1 of the name under the salt */
	const char *hashed = "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|5DHGyoq+K/vX4lJK0U2p7IteoFw= "
	    "ssh-ed25519 " KEY "\n"
	    "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|iB8ji+G7JiWchxZqOjryGAnIiTo= ssh-ed25519 " KEY;
	const char *odd = "# comment\n\n   \t\r\n@unknown git.example.com ssh-ed25519 " KEY "\n"
	    "git.example.com\n"
	    "git.example.com ssh-ed25519\n"
	    "  git.example.com\tssh-ed25519\t" KEY "\r\n";

	assert_int_equal(check(hashed, "git.example.com", 22, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(hashed, "git.example.com", 2222, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check(hashed, "git.example.com", 2223, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check(hashed, "other.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	assert_int_equal(check("|1|bad|bad ssh-ed25519 " KEY, "git.example.com", 22, KEY),
	    KNOWNHOSTS_UNKNOWN);
	/* comments, blank and short lines, an unknown marker, tabs and CRLF */
	assert_int_equal(check(odd, "git.example.com", 22, KEY), KNOWNHOSTS_PINNED);
	assert_int_equal(check("", "git.example.com", 22, KEY), KNOWNHOSTS_UNKNOWN);
	/* a long run of wildcards against a long name stays cheap */
	assert_int_equal(check("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b ssh-ed25519 " KEY,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 22, KEY),
	    KNOWNHOSTS_UNKNOWN);
}

static void
test_url_port(void **state)
{
	assert_int_equal(knownhosts_url_port("ssh://git@git.example.com:2222/org/repo.git"), 2222);
	assert_int_equal(knownhosts_url_port("ssh://git.example.com/org/repo.git"), 22);
	assert_int_equal(knownhosts_url_port("ssh://u@h@git.example.com:7/r"), 7);
	assert_int_equal(knownhosts_url_port("ssh://[::1]:2200/r.git"), 2200);
	assert_int_equal(knownhosts_url_port("ssh://[::1]/r.git"), 22);
	assert_int_equal(knownhosts_url_port("git+ssh://h:29418/r"), 29418);
	assert_int_equal(knownhosts_url_port("ssh+git://h:29418/r"), 29418);
	assert_int_equal(knownhosts_url_port("git@git.example.com:org/repo.git"), 22);
	assert_int_equal(knownhosts_url_port("ssh://h:99999/r"), 22);
	assert_int_equal(knownhosts_url_port("ssh://h:/r"), 22);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_port),
		cmocka_unit_test(test_lists_wildcards_negation),
		cmocka_unit_test(test_markers),
		cmocka_unit_test(test_hashed_and_format),
		cmocka_unit_test(test_url_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
