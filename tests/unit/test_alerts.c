/* Unit tests: reconcilerd's alerts.c (a failure told once, reminded, then
 * recovered; the clock is given) and commitstatus.c's one-line description
 * of a deploy's failure. */
#include "helpers.h"
#include "daemon_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define H (3600LL * 1000)

static void
test_told_once_then_reminded(void **state)
{
	struct alerts a = { 0 };
	long long t = 1000000;

	(void)state;
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 0, t, 4 * H), ALERT_NEW);
	/* the same failure, every cycle: quiet until the interval passed */
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 0, t + 1000, 4 * H),
	    ALERT_QUIET);
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 1, t + 4 * H - 1, 4 * H),
	    ALERT_QUIET);
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 1, t + 4 * H, 4 * H),
	    ALERT_REMIND);
	/* the reminder's clock starts again */
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 1, t + 5 * H, 4 * H),
	    ALERT_QUIET);
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 0, t + 8 * H, 4 * H),
	    ALERT_REMIND);
	/* another service is another failure */
	assert_int_equal(daemon__alert_failing(&a, "r1", "web", "gate", 0, t, 4 * H), ALERT_NEW);
	assert_int_equal(a.n, 2);
	daemon__alerts_release(&a);
	assert_int_equal(a.n, 0);
}

static void
test_new_revision_replaces(void **state)
{
	struct alerts a = { 0 };
	char rev[41], *reason = NULL;

	(void)state;
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 0, 0, H), ALERT_NEW);
	/* the service fails again at a new revision: told, and one alert */
	assert_int_equal(daemon__alert_failing(&a, "r2", "api", "pull", 0, 10, H), ALERT_NEW);
	assert_int_equal(a.n, 1);
	assert_int_equal(daemon__alert_clear(&a, "api", rev, sizeof(rev), &reason), 1);
	assert_string_equal(rev, "r2");
	assert_string_equal(reason, "pull");
	free(reason);
	/* cleared once: recovered is told once */
	assert_int_equal(daemon__alert_clear(&a, "api", rev, sizeof(rev), &reason), 0);
	daemon__alerts_release(&a);
}

static void
test_adopted_after_restart(void **state)
{
	struct alerts a = { 0 };
	char rev[41], *reason = NULL;

	(void)state;
	/* a quarantine found in the journal: told before the restart, not again */
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 1, 0, H), ALERT_QUIET);
	assert_int_equal(daemon__alert_failing(&a, "r1", "api", "gate", 1, H, H), ALERT_REMIND);
	/* its recovery is told all the same */
	assert_int_equal(daemon__alert_clear(&a, "api", rev, sizeof(rev), &reason), 1);
	assert_string_equal(rev, "r1");
	free(reason);
	daemon__alerts_release(&a);
}

static void
test_clear_keeps_the_others(void **state)
{
	struct alerts a = { 0 };
	char rev[41], *reason = NULL;

	(void)state;
	daemon__alert_failing(&a, "r1", "a", "x", 0, 0, H);
	daemon__alert_failing(&a, "r1", "b", "y", 0, 0, H);
	daemon__alert_failing(&a, "r1", "c", "z", 0, 0, H);
	assert_int_equal(daemon__alert_clear(&a, "a", rev, sizeof(rev), &reason), 1);
	free(reason);
	assert_int_equal(a.n, 2);
	assert_int_equal(daemon__alert_failing(&a, "r1", "c", "z", 0, 10, H), ALERT_QUIET);
	assert_int_equal(daemon__alert_failing(&a, "r1", "b", "y", 0, 10, H), ALERT_QUIET);
	daemon__alerts_release(&a);
}

static void
test_describe(void **state)
{
	char out[COMMIT_DESC_MAX + 1];

	(void)state;
	daemon__commit_describe(out, sizeof(out), "api", "health gate failed: exit 1", 0);
	assert_string_equal(out, "api: health gate failed: exit 1");
	daemon__commit_describe(out, sizeof(out), "api", "health gate failed", 2);
	assert_string_equal(out, "api: health gate failed (+2 more)");
	/* one line: a newline or a tab is a space */
	daemon__commit_describe(out, sizeof(out), "db", "line one\nline\ttwo", 0);
	assert_string_equal(out, "db: line one line two");
	daemon__commit_describe(out, sizeof(out), NULL, NULL, 0);
	assert_string_equal(out, "failed");
	daemon__commit_describe(out, sizeof(out), NULL, "in sync", 0);
	assert_string_equal(out, "in sync");
}

static void
test_describe_long(void **state)
{
	char out[COMMIT_DESC_MAX + 1], big[400];
	size_t n;

	(void)state;
	/* "é" is two bytes: a cut never splits one, and "+N more" stays */
	for (n = 0; n + 2 < sizeof(big); n += 2)
		memcpy(big + n, "\xc3\xa9", 2);
	big[n] = '\0';
	daemon__commit_describe(out, sizeof(out), "api", big, 3);
	assert_true(strlen(out) <= COMMIT_DESC_MAX);
	assert_non_null(strstr(out, "\xe2\x80\xa6 (+3 more)"));
	assert_memory_equal(out, "api: \xc3\xa9", 7);
	for (const char *p = out + 5; *p != '\xe2'; p += 2)
		assert_memory_equal(p, "\xc3\xa9", 2);
	/* a small buffer is never overrun */
	daemon__commit_describe(out, 8, "api", big, 0);
	assert_true(strlen(out) <= 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_told_once_then_reminded),
		cmocka_unit_test(test_new_revision_replaces),
		cmocka_unit_test(test_adopted_after_restart),
		cmocka_unit_test(test_clear_keeps_the_others),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_describe_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
