/* Unit tests: the health gate's judgement of one inspect (gate_judge) and
 * when it looks again with no event (gate_next_look). The messages are the
 * ones users and the e2e tests read: each is checked word for word. */
#include "helpers.h"
#include "durations.h"
#include "gate.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>

#define T0 1000000LL	/* the gate's start, in now_ms() time */

/* An inspect: State.Status, the health status (NULL: no Health), the
 * RestartCount and the exit code. */
static json_t *
inspect(const char *status, const char *health, int restarts, int exit_code)
{
	json_t *info = json_pack("{s:{s:s,s:i},s:i,s:{}}", "State", "Status", status,
	    "ExitCode", exit_code, "RestartCount", restarts, "Config");

	if (health) {
		json_t *h = json_pack("{s:s,s:[{s:i,s:s}]}", "Status", health, "Log",
		    "ExitCode", 0, "Output", "ok");

		json_object_set_new(json_object_get(info, "State"), "Health", h);
		json_object_set_new(json_object_get(info, "Config"), "Healthcheck",
		    json_pack("{s:[s,s]}", "Test", "CMD", "true"));
	}
	return info;
}

/* judge INFO (stolen) at T0 + at; the verdict. */
static enum gate_verdict
judge(struct gate_state *g, json_t *info, long long at, char *err)
{
	enum gate_verdict v;

	err[0] = '\0';
	v = gate_judge(g, info, T0 + at, err);
	json_decref(info);
	return v;
}

static void
service(struct mf_service *s, enum mf_health_kind kind, long long timeout, long long min_ready)
{
	memset(s, 0, sizeof(*s));
	s->health.kind = kind;
	s->update.timeout = timeout;
	s->update.min_ready = min_ready;
}

/* starting, then healthy: the gate passes; the deadline is update.timeout */
static void
test_healthy(void **state)
{
	struct mf_service s;
	struct gate_state g;
	char err[ERR_LEN];

	(void)state;
	service(&s, MF_HEALTH_IMAGE, 60000, 0);
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 10, err), GATE_WAIT);
	assert_int_equal(g.deadline, T0 + 60000);
	assert_true(g.has_health);
	assert_string_equal(g.status, "running");
	assert_string_equal(g.health, "starting");
	/* nothing but an event or the deadline wakes a gate with a healthcheck */
	assert_int_equal(gate_next_look(&g, T0 + 10), 60000 - 10 + 1);
	assert_int_equal(judge(&g, inspect("running", "healthy", 0, 0), 1500, err), GATE_PASS);
}

/* unhealthy: the last check's exit code and output, on one line, trimmed */
static void
test_unhealthy(void **state)
{
	struct mf_service s;
	struct gate_state g;
	char err[ERR_LEN];
	json_t *info = inspect("running", "unhealthy", 0, 0);
	json_t *last = json_array_get(json_object_get(json_object_get(json_object_get(info,
	    "State"), "Health"), "Log"), 0);

	(void)state;
	json_object_set_new(last, "ExitCode", json_integer(1));
	json_object_set_new(last, "Output", json_string("refused\n  port 80\t\n"));
	service(&s, MF_HEALTH_CMD, 60000, 0);
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, info, 0, err), GATE_FAIL);
	assert_string_equal(err, "the container is unhealthy (last check: exit 1, refused   "
	    "port 80)");

	/* unhealthy because it stopped under its check: it stopped, unless it is
	 * being removed (the caller asks the engine) */
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("paused", "unhealthy", 0, 0), 0, err), GATE_STOPPED);
	assert_string_equal(err, "the container stopped during its health gate (state paused)");
}

/* exited, restarted, being removed: each says so */
static void
test_stopped(void **state)
{
	struct mf_service s;
	struct gate_state g;
	char err[ERR_LEN];

	(void)state;
	service(&s, MF_HEALTH_IMAGE, 60000, 0);
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("exited", "unhealthy", 0, 3), 0, err), GATE_STOPPED);
	assert_string_equal(err, "the container exited with status 3 during its health gate");
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("dead", NULL, 0, 137), 0, err), GATE_STOPPED);
	assert_string_equal(err, "the container exited with status 137 during its health gate");

	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("restarting", "starting", 1, 0), 0, err), GATE_FAIL);
	assert_string_equal(err, "the container restarted during its health gate");
	/* restarted between two looks: the count moved */
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("running", "starting", 2, 0), 0, err), GATE_WAIT);
	assert_int_equal(judge(&g, inspect("running", "starting", 3, 0), 900, err), GATE_FAIL);
	assert_string_equal(err, "the container restarted during its health gate");

	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("removing", "healthy", 0, 0), 0, err), GATE_FAIL);
	assert_string_equal(err, "the container was removed during its health gate (not by the "
	    "reconciler)");
}

/* no healthcheck: running for min_ready passes; the next look is due then */
static void
test_min_ready(void **state)
{
	struct mf_service s;
	struct gate_state g;
	char err[ERR_LEN];
	json_t *none;

	(void)state;
	service(&s, MF_HEALTH_NONE, 0, 5000);
	gate_state_init(&g, &s, T0);
	/* the manifest turned the image's healthcheck off */
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 1000, err), GATE_WAIT);
	assert_false(g.has_health);
	assert_int_equal(g.deadline, T0 + 5000 + DURATIONS_GATE_SLACK);
	assert_int_equal(gate_next_look(&g, T0 + 1000), 5000);
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 5999, err), GATE_WAIT);
	assert_int_equal(gate_next_look(&g, T0 + 5999), 1);
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 6000, err), GATE_PASS);

	/* an image whose healthcheck is NONE has none */
	service(&s, MF_HEALTH_IMAGE, 0, 0);
	gate_state_init(&g, &s, T0);
	none = inspect("running", "starting", 0, 0);
	json_object_set_new(json_object_get(none, "Config"), "Healthcheck",
	    json_pack("{s:[s]}", "Test", "NONE"));
	assert_int_equal(judge(&g, none, 0, err), GATE_PASS);

	/* not running yet (or paused once min_ready has passed): an event or
	 * the deadline, nothing else, wakes the gate */
	service(&s, MF_HEALTH_NONE, 0, 5000);
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("created", NULL, 0, 0), 0, err), GATE_WAIT);
	assert_int_equal(gate_next_look(&g, T0), 5000 + DURATIONS_GATE_SLACK + 1);
	assert_int_equal(judge(&g, inspect("running", NULL, 0, 0), 100, err), GATE_WAIT);
	assert_int_equal(gate_next_look(&g, T0 + 100), 5000);
	assert_int_equal(judge(&g, inspect("paused", NULL, 0, 0), 5200, err), GATE_WAIT);
	assert_int_equal(gate_next_look(&g, T0 + 5200), 5000 + DURATIONS_GATE_SLACK + 1 - 5200);
	assert_int_equal(judge(&g, inspect("running", NULL, 0, 0), 7000, err), GATE_PASS);
}

/* past the deadline: timed out, with the state and health last seen */
static void
test_timeout(void **state)
{
	struct mf_service s;
	struct gate_state g;
	char err[ERR_LEN];

	(void)state;
	service(&s, MF_HEALTH_IMAGE, 3000, 0);
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 0, err), GATE_WAIT);
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 3000, err), GATE_WAIT);
	assert_int_equal(judge(&g, inspect("running", "starting", 0, 0), 3001, err), GATE_FAIL);
	assert_string_equal(err, "health gate timed out after 3s (state running, health starting)");
	/* a look is always due at least 1 ms on */
	assert_int_equal(gate_next_look(&g, T0 + 3001), 1);

	service(&s, MF_HEALTH_NONE, 2000, 60000);
	gate_state_init(&g, &s, T0);
	assert_int_equal(judge(&g, inspect("created", NULL, 0, 0), 2500, err), GATE_FAIL);
	assert_string_equal(err, "health gate timed out after 2s (state created)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_unhealthy),
		cmocka_unit_test(test_stopped),
		cmocka_unit_test(test_min_ready),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
