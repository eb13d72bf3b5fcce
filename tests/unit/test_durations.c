/* Unit tests: durations. Every duration of a manifest has a maximum, refused
 * with an error that names the key and the limit; the checked conversions
 * (nanoseconds for the engine, the health gate's wait) refuse what does not
 * fit in 64 bits instead of overflowing; the engine's create body carries the
 * right nanoseconds at the maxima. Run under UBSan, these show no overflow. */
#include "helpers.h"
#include "durations.h"
#include "secretmap.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define SVC MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n"

static const unsigned char zero_key[32];

/* A valid manifest; its only service. */
static struct manifest *
parse_ok(const char *text)
{
	return parse_valid(text, strlen(text));
}

/* duration_parse tells a value too big for 64 bits (ERANGE) from bad syntax. */
static void
test_parse_range(void **state)
{
	int64_t ms = 7;

	errno = 0;
	assert_int_equal(duration_parse("2000000000h", &ms), 0);
	assert_int_equal(ms, 2000000000LL * 3600000);
	errno = 0;
	assert_int_equal(duration_parse("99999999999999999999h", &ms), -1);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(duration_parse("9223372036854775807ms", &ms), -1);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(duration_parse("2562047788015h1ms", &ms), -1);	/* past the margin */
	assert_int_equal(errno, ERANGE);
	/* syntax first: a bad unit after huge digits is not "too big" */
	errno = 0;
	assert_int_equal(duration_parse("99999999999999999999x", &ms), -1);
	assert_true(errno != ERANGE);
	errno = 0;
	assert_int_equal(duration_parse("1m1h", &ms), -1);
	assert_true(errno != ERANGE);
	assert_int_equal(ms, 2000000000LL * 3600000);
}

static void
test_checked_ns(void **state)
{
	int64_t ns = -1;

	assert_int_equal(durations_ns(0, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(durations_ns(DURATIONS_MAX_HEALTH, &ns), 0);
	assert_int_equal(ns, 3600LL * 1000000000);
	assert_int_equal(durations_ns(INT64_MAX / 1000000, &ns), 0);
	assert_int_equal(ns, INT64_MAX / 1000000 * 1000000);
	ns = 5;
	assert_int_equal(durations_ns(INT64_MAX / 1000000 + 1, &ns), -1);
	assert_int_equal(durations_ns(2000000000LL * 3600000, &ns), -1);	/* 2000000000h */
	assert_int_equal(durations_ns(INT64_MAX, &ns), -1);
	assert_int_equal(durations_ns(INT64_MIN, &ns), -1);
	assert_int_equal(ns, 5);
}

static void
test_checked_gate_wait(void **state)
{
	int64_t ms = -1;

	/* start_period + (interval + timeout) * retries + 30s */
	assert_int_equal(durations_gate_wait(1000, 30000, 30000, 3, &ms), 0);
	assert_int_equal(ms, 1000 + 60000 * 3 + 30000);
	assert_int_equal(durations_gate_wait(0, 0, 0, 0, &ms), 0);
	assert_int_equal(ms, 30000);
	/* what an image's healthcheck may say (the engine's JSON): no overflow */
	ms = 9;
	assert_int_equal(durations_gate_wait(0, INT64_MAX / 2, INT64_MAX / 2, 3, &ms), -1);
	assert_int_equal(durations_gate_wait(0, INT64_MAX / 1000000, 1, INT64_MAX, &ms), -1);
	assert_int_equal(durations_gate_wait(INT64_MAX - 10, 0, 0, 1, &ms), -1);
	assert_int_equal(durations_gate_wait(1, 1, 1, INT64_MAX / 2 + 1, &ms), -1);
	assert_int_equal(durations_gate_wait(-1, 1, 1, 1, &ms), -1);
	assert_int_equal(ms, 9);
}

/* Each duration key at its maximum is valid; a millisecond more is refused,
 * at its place, naming the limit. */
static void
test_manifest_bounds(void **state)
{
	static const struct {
		const char *fmt;	/* the manifest, with %s for the duration */
		const char *max, *over, *want;
	} cases[] = {
		{ SVC "    stop_grace_period: %s\n", "24h", "24h1ms",
		    "6:24: services.web.stop_grace_period: duration '24h1ms' is more than the "
		    "limit of 24h" },
		{ SVC "    healthcheck: {test: [CMD, x], interval: %s}\n", "1h", "1h1ms",
		    "6:45: services.web.healthcheck.interval: duration '1h1ms' is more than the "
		    "limit of 1h" },
		{ SVC "    healthcheck: {test: [CMD, x], timeout: %s}\n", "1h", "60m1ms",
		    "6:44: services.web.healthcheck.timeout: duration '60m1ms' is more than the "
		    "limit of 1h" },
		{ SVC "    healthcheck: {test: [CMD, x], start_period: %s}\n", "1h", "3600001ms",
		    "6:49: services.web.healthcheck.start_period: duration '3600001ms' is more "
		    "than the limit of 1h" },
		{ SVC "    probe: {http: {port: 80}, interval: %s}\n", "1h", "1h0m0s1ms",
		    "6:41: services.web.probe.interval: duration '1h0m0s1ms' is more than the "
		    "limit of 1h" },
		{ SVC "    probe: {http: {port: 80}, timeout: %s}\n", "24h", "25h",
		    "6:40: services.web.probe.timeout: duration '25h' is more than the limit of 24h" },
		{ SVC "    update: {min_ready: %s}\n", "24h", "24h1ms",
		    "6:25: services.web.update.min_ready: duration '24h1ms' is more than the "
		    "limit of 24h" },
		{ SVC "    update: {timeout: %s}\n", "24h", "86400001ms",
		    "6:23: services.web.update.timeout: duration '86400001ms' is more than the "
		    "limit of 24h" },
		{ SVC "    hooks: {pre_deploy: [{name: m, command: m, timeout: %s}]}\n", "24h",
		    "24h1ms", "6:57: services.web.hooks.pre_deploy[0].timeout: duration '24h1ms' is "
		    "more than the limit of 24h" },
		{ SVC "backups:\n  b: {service: web, schedule: '@daily', command: d, destination: /b,\n"
		    "      retention: {max_age: %s}}\n", "876000h", "876000h1ms",
		    "8:28: backups.b.retention.max_age: duration '876000h1ms' is more than the "
		    "limit of 876000h" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		struct diag d;

		snprintf(text, sizeof(text), cases[i].fmt, cases[i].max);
		manifest_free(parse_ok(text));
		snprintf(text, sizeof(text), cases[i].fmt, cases[i].over);
		assert_error(text, cases[i].want);
		/* and with too many digits for 64 bits, the same limit */
		snprintf(text, sizeof(text), cases[i].fmt, "99999999999999999999h");
		assert_null(parse_text(text, &d));
		assert_int_equal(d.n, 1);
		assert_non_null(strstr(d.v[0].msg, "is more than the limit of"));
		diag_release(&d);
	}
}

/* The gate a healthcheck implies (start_period + (interval + timeout) *
 * retries + 30s) is bounded like update.timeout, which replaces it. */
static void
test_gate_bound(void **state)
{
	const char *fmt = SVC "    healthcheck: {test: [CMD, x], interval: 1h, timeout: 1h,\n"
	    "      start_period: 1h, retries: %d}\n%s";
	char text[512];
	struct manifest *m;

	snprintf(text, sizeof(text), fmt, 11, "");	/* 23h0m30s */
	manifest_free(parse_ok(text));
	snprintf(text, sizeof(text), fmt, 12, "");	/* 25h0m30s */
	assert_error(text, "6:18: services.web.healthcheck: the health gate would wait up to "
	    "25h30s (start_period + (interval + timeout) * retries + 30s), more than the limit "
	    "of 24h: lower them, or set update.timeout");
	snprintf(text, sizeof(text), fmt, 1000, "    update: {timeout: 24h}\n");
	m = parse_ok(text);
	assert_int_equal(manifest_service(m, "web")->update.timeout, DURATIONS_MAX_WAIT);
	manifest_free(m);
}

/* The engine's create body carries nanoseconds: right at the maxima, and an
 * error, not an overflow, for a value no manifest can hold any more. */
static void
test_engine_nanoseconds(void **state)
{
	const char *text = SVC "    healthcheck: {test: [CMD, x], interval: 1h, timeout: 1h,\n"
	    "      start_period: 1h, retries: 3}\n    stop_grace_period: 24h\n";
	struct manifest *m = parse_ok(text);
	struct mf_service *s = manifest_service(m, "web");
	struct secretmap sec;
	char err[ERR_LEN] = "";
	json_t *cfg = NULL, *hc;

	secretmap_init(&sec, "/nonexistent", zero_key);
	assert_int_equal(spec_container_config(m, s, &sec, "r1", ROLE_PRIMARY, &cfg, err), 0);
	hc = json_object_get(cfg, "Healthcheck");
	assert_int_equal(json_integer_value(json_object_get(hc, "Interval")), 3600LL * 1000000000);
	assert_int_equal(json_integer_value(json_object_get(hc, "Timeout")), 3600LL * 1000000000);
	assert_int_equal(json_integer_value(json_object_get(hc, "StartPeriod")),
	    3600LL * 1000000000);
	assert_int_equal(json_integer_value(json_object_get(cfg, "StopTimeout")), 86400);
	json_decref(cfg);
	cfg = NULL;

	/* what `interval: 2000000000h` gave before it was refused */
	s->health.interval = 2000000000LL * 3600000;
	assert_int_equal(spec_container_config(m, s, &sec, "r1", ROLE_PRIMARY, &cfg, err), -1);
	assert_null(cfg);
	assert_string_equal(err, "service 'web': healthcheck interval 2000000000h does not fit "
	    "in the engine's nanoseconds");
	secretmap_release(&sec);
	manifest_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_checked_ns),
		cmocka_unit_test(test_checked_gate_wait),
		cmocka_unit_test(test_manifest_bounds),
		cmocka_unit_test(test_gate_bound),
		cmocka_unit_test(test_engine_nanoseconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
