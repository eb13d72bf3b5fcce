/* Unit tests: util's parsers of numbers and durations take whole values only. */
#include "helpers.h"
#include "util.h"

#include <limits.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_parse),
		cmocka_unit_test(test_duration_parse),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
