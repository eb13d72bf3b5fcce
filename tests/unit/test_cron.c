/* cron: parsing, next run in UTC and in IANA zones across month ends, leap
 * years and daylight saving changes; tz offsets against the C library's. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helpers.h"

#include "cron.h"
#include "tz.h"
#include "util.h"

/* "2026-03-29T01:00" in UTC */
static time_t
iso(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(s, "%d-%d-%dT%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min), 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void
show(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (t < 0) {
		snprintf(out, n, "none");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M", &tm);
}

/* Asserts the next run of expr in zone after `after` is `want` (UTC),
 * printing both when not. */
static void
check_next(const char *zone, const char *expr, const char *after, const char *want)
{
	struct cron c;
	struct tz *z = NULL;
	char err[ERR_LEN], got[32];
	time_t t;

	if (cron_parse(&c, expr, err) < 0)
		fail_msg("%s: %s", expr, err);
	if (tz_load(&z, zone, err) < 0)
		fail_msg("%s", err);
	t = cron_next_tz(&c, z, iso(after));
	show(t, got, sizeof(got));
	if (t != iso(want))
		fail_msg("%s '%s' after %sZ: got %sZ, want %sZ", zone, expr, after, got, want);
	tz_free(z);
}

static void
test_parse_errors(void **state)
{
	struct cron c;
	char err[ERR_LEN];

	assert_int_equal(cron_parse(&c, "0 3 * * 0", err), 0);
	assert_int_equal(cron_parse(&c, "@weekly", err), 0);
	assert_int_equal(cron_parse(&c, "0 3 * *", err), -1);
	assert_non_null(strstr(err, "has 4 fields"));
	assert_int_equal(cron_parse(&c, "60 * * * *", err), -1);
	assert_int_equal(cron_parse(&c, "5/15 * * * *", err), -1);
	assert_int_equal(cron_parse(&c, "@sometimes", err), -1);
}

static void
test_utc_month_ends(void **state)
{
	/* the 31st skips the months without one */
	check_next("UTC", "0 0 31 * *", "2026-02-01T00:00", "2026-03-31T00:00");
	check_next("UTC", "0 0 31 * *", "2026-03-31T00:00", "2026-05-31T00:00");
	check_next("UTC", "59 23 31 12 *", "2026-12-31T23:58", "2026-12-31T23:59");
	check_next("UTC", "0 0 1 * *", "2026-12-31T23:59", "2027-01-01T00:00");
	/* the 30th and a weekday: either matches (Vixie cron) */
	check_next("UTC", "0 12 30 * 1", "2026-02-01T00:00", "2026-02-02T12:00");
	check_next("UTC", "0 3 * * 0", "2026-11-24T09:00", "2026-11-29T03:00");
}

static void
test_utc_leap_years(void **state)
{
	check_next("UTC", "0 12 29 2 *", "2025-03-01T00:00", "2028-02-29T12:00");
	check_next("UTC", "0 12 29 2 *", "2028-02-29T12:00", "2032-02-29T12:00");
	/* 2100 is not a leap year */
	check_next("UTC", "0 0 29 2 *", "2099-03-01T00:00", "2104-02-29T00:00");
}

static void
test_paris_spring_forward(void **state)
{
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z) */
	check_next("Europe/Paris", "30 2 * * *", "2026-03-28T00:00", "2026-03-28T01:30");
	check_next("Europe/Paris", "30 2 * * *", "2026-03-28T01:30", "2026-03-29T01:00");
	check_next("Europe/Paris", "30 2 * * *", "2026-03-29T01:00", "2026-03-30T00:30");
	/* several minutes in the gap still run once, at its end */
	check_next("Europe/Paris", "*/15 2 * * *", "2026-03-29T00:50", "2026-03-29T01:00");
	check_next("Europe/Paris", "*/15 2 * * *", "2026-03-29T01:00", "2026-03-30T00:00");
	/* an untouched time keeps its wall-clock hour */
	check_next("Europe/Paris", "0 3 * * *", "2026-03-28T12:00", "2026-03-29T01:00");
	check_next("Europe/Paris", "0 3 * * *", "2026-03-29T01:00", "2026-03-30T01:00");
}

static void
test_paris_fall_back(void **state)
{
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 happens twice */
	check_next("Europe/Paris", "30 2 * * *", "2026-10-24T12:00", "2026-10-25T00:30");
	check_next("Europe/Paris", "30 2 * * *", "2026-10-25T00:30", "2026-10-26T01:30");
	/* started between the two 02:30s: the repeated one does not run */
	check_next("Europe/Paris", "30 2 * * *", "2026-10-25T01:10", "2026-10-26T01:30");
	/* hourly: 02:00 runs once, then 03:00 CET */
	check_next("Europe/Paris", "0 * * * *", "2026-10-25T00:00", "2026-10-25T02:00");
}

static void
test_new_york(void **state)
{
	/* 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z) */
	check_next("America/New_York", "30 2 * * *", "2026-03-07T12:00", "2026-03-08T07:00");
	check_next("America/New_York", "30 2 * * *", "2026-03-08T07:00", "2026-03-09T06:30");
	/* 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:30 happens twice */
	check_next("America/New_York", "30 1 * * *", "2026-10-31T12:00", "2026-11-01T05:30");
	check_next("America/New_York", "30 1 * * *", "2026-11-01T05:30", "2026-11-02T06:30");
	/* Sunday 03:00 local, a weekly dump */
	check_next("America/New_York", "0 3 * * 0", "2026-11-24T09:00", "2026-11-29T08:00");
}

static void
test_footer_rule(void **state)
{
	/* past the transitions a zone file lists, its POSIX rule applies:
	 * 2040-03-25 is the last Sunday of March */
	check_next("Europe/Paris", "30 2 * * *", "2040-03-24T12:00", "2040-03-25T01:00");
	check_next("Europe/Paris", "0 12 * * *", "2040-07-01T00:00", "2040-07-01T10:00");
	/* southern hemisphere: daylight time spans the new year */
	check_next("Australia/Sydney", "0 12 * * *", "2041-01-10T00:00", "2041-01-10T01:00");
	check_next("Australia/Sydney", "0 12 * * *", "2041-06-10T00:00", "2041-06-10T02:00");
}

/* Every 6 hours (and around each hour of the change days) from 1990 to 2060,
 * tz_offset agrees with localtime_r. Single-threaded test: TZ may be set. */
static void
test_offsets_match_libc(void **state)
{
	static const char *const zones[] = {
		"Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
		"America/Sao_Paulo", "Europe/London", "Pacific/Auckland", "Asia/Tehran",
	};
	char err[ERR_LEN];

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct tz *z = NULL;

		if (tz_load(&z, zones[i], err) < 0)
			fail_msg("%s", err);
		setenv("TZ", zones[i], 1);
		tzset();
		for (time_t t = iso("1990-01-01T00:00"); t < iso("2060-01-01T00:00");
		    t += 6 * 3600 + 60 * 17) {
			struct tm tm;

			localtime_r(&t, &tm);
			if (tz_offset(z, t) != tm.tm_gmtoff)
				fail_msg("%s at %lld: %ld, libc says %ld", zones[i], (long long)t,
				    tz_offset(z, t), (long)tm.tm_gmtoff);
		}
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static void
test_tz_errors(void **state)
{
	struct tz *z = NULL;
	char err[ERR_LEN];
	static const unsigned char junk[] = "TZif2 not really";

	assert_int_equal(tz_load(&z, "Mars/Olympus_Mons", err), -1);
	assert_non_null(strstr(err, "Mars/Olympus_Mons"));
	assert_int_equal(tz_load(&z, "../etc/passwd", err), -1);
	assert_int_equal(tz_parse(&z, "x", junk, sizeof(junk), err), -1);
	assert_null(z);
	assert_int_equal(tz_load(&z, "UTC", err), 0);
	assert_int_equal(tz_offset(z, 1700000000), 0);
	tz_free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_utc_month_ends),
		cmocka_unit_test(test_utc_leap_years),
		cmocka_unit_test(test_paris_spring_forward),
		cmocka_unit_test(test_paris_fall_back),
		cmocka_unit_test(test_new_york),
		cmocka_unit_test(test_footer_rule),
		cmocka_unit_test(test_offsets_match_libc),
		cmocka_unit_test(test_tz_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
