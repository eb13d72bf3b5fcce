/* Unit tests: peer keys (IPv6 by /64) and loopback addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "netaddr.h"

static void
test_peer_key(void **state)
{
	static const char *const cases[][2] = {
		{ "192.0.2.1", "192.0.2.1" },
		{ "2001:db8:1:2::1", "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64" },
		{ "::ffff:10.1.2.3", "10.1.2.3" },
		{ "::1", "::/64" },
		{ "unix", "unix" },
		{ "", "" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		netaddr_peer_key(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void
test_loopback(void **state)
{
	assert_true(netaddr_is_loopback("127.0.0.1"));
	assert_true(netaddr_is_loopback("127.3.4.5"));
	assert_true(netaddr_is_loopback("::1"));
	assert_true(netaddr_is_loopback("[::1]"));
	assert_true(netaddr_is_loopback("::ffff:127.0.0.1"));
	assert_false(netaddr_is_loopback("0.0.0.0"));
	assert_false(netaddr_is_loopback("::"));
	assert_false(netaddr_is_loopback("[::]"));
	assert_false(netaddr_is_loopback("192.0.2.1"));
	assert_false(netaddr_is_loopback("128.0.0.1"));
	assert_false(netaddr_is_loopback("localhost"));
	assert_false(netaddr_is_loopback(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_key),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
