/* Unit tests: changes are logged, repetitions are not. The log's holds (what
 * a cycle logs waits until it knows whether it repeats the cycle before),
 * and the verdict and signature of reconcilerd's repeat.c. */
#include "helpers.h"
#include "converge.h"
#include "daemon_int.h"
#include "diff.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* stderr, where the log writes, goes to a file while a test reads it. */
struct capture {
	char path[64];
	int saved;
};

static void
capture_start(struct capture *c)
{
	int fd;

	snprintf(c->path, sizeof(c->path), "/tmp/test-repeat.XXXXXX");
	assert_true((fd = mkstemp(c->path)) >= 0);
	c->saved = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* What was written since capture_start; the caller frees it. */
static char *
capture_end(struct capture *c)
{
	char err[ERR_LEN], *data = NULL;
	size_t len;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	assert_int_equal(file_read(c->path, 1 << 20, &data, &len, err), 0);
	unlink(c->path);
	return data;
}

static size_t
count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void *
worker(void *arg)
{
	log_hold_enter(arg);
	log_warn("rollout", "service=other outcome=blocked");
	log_hold_enter(NULL);
	return NULL;
}

/* A hold keeps the lines of the threads in it until it is released: quiet,
 * they are written at debug (below the minimum: not at all); otherwise at
 * their level, in order. Other threads' lines are not held. */
static void
test_hold(void **state)
{
	struct capture cap;
	struct log_hold *h;
	pthread_t t;
	char *out;

	log_setup(LOG_TEXT, LOG_INFO);
	capture_start(&cap);
	h = log_hold_new();
	log_hold_enter(h);
	assert_ptr_equal(log_hold_current(), h);
	log_info("git", "head=abc");
	assert_int_equal(pthread_create(&t, NULL, worker, h), 0);
	pthread_join(t, NULL);
	log_warn("cycle", "trigger=poll outcome=degraded");
	log_hold_enter(NULL);
	log_info("other", "not held");
	log_hold_enter(h);
	log_hold_release(h, 1);
	log_hold_enter(NULL);
	log_hold_free(h);
	out = capture_end(&cap);
	assert_int_equal(count(out, "head=abc"), 0);
	assert_int_equal(count(out, "outcome=blocked"), 0);
	assert_int_equal(count(out, "outcome=degraded"), 0);
	assert_int_equal(count(out, "not held"), 1);
	free(out);

	/* released loud: every line, at its level, in order; later ones at once */
	capture_start(&cap);
	h = log_hold_new();
	log_hold_enter(h);
	log_info("git", "head=abc");
	log_warn("cycle", "outcome=degraded");
	log_hold_release(h, 0);
	log_info("rollout", "after the release");
	log_hold_enter(NULL);
	log_hold_free(h);
	out = capture_end(&cap);
	assert_non_null(strstr(out, " info  git head=abc\n"));
	assert_non_null(strstr(out, " warn  cycle outcome=degraded\n"));
	assert_true(strstr(out, "head=abc") < strstr(out, "outcome=degraded"));
	assert_true(strstr(out, "outcome=degraded") < strstr(out, "after the release"));
	free(out);
}

/* A hold that fills up writes what it has and holds no more. */
static void
test_hold_bounded(void **state)
{
	struct capture cap;
	struct log_hold *h;
	char *out;

	capture_start(&cap);
	h = log_hold_new();
	log_hold_enter(h);
	for (int i = 0; i < LOG_HOLD_MAX + 5; i++)
		log_info("manifest", "line %d", i);
	log_hold_release(h, 1);
	log_hold_enter(NULL);
	log_hold_free(h);
	out = capture_end(&cap);
	assert_int_equal(count(out, " manifest line "), LOG_HOLD_MAX + 5);
	free(out);
}

/* Repeating is the same signature with nothing done; a warning or an error
 * is told again after REPEAT_REMIND_MS; a cycle someone asked for is told. */
static void
test_verdict(void **state)
{
	struct cycle_memo m = { 0 };
	long long t = 1000000;

	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "poll", CYCLE_IN_SYNC, t),
	    REPEAT_NEW);
	m.sig = xstrdup("a");
	m.since = m.loud = t;
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "poll", CYCLE_IN_SYNC, t + 1000),
	    REPEAT_QUIET);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "event", CYCLE_IN_SYNC, t + 1000),
	    REPEAT_QUIET);
	assert_int_equal(daemon__repeat_verdict(&m, "b", 0, "poll", CYCLE_IN_SYNC, t + 1000),
	    REPEAT_NEW);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 1, "poll", CYCLE_IN_SYNC, t + 1000),
	    REPEAT_NEW);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "api", CYCLE_IN_SYNC, t + 1000),
	    REPEAT_ASKED);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "webhook", CYCLE_FAILED, t + 1000),
	    REPEAT_ASKED);
	/* in sync is never reminded; a degraded or error state is, now and then */
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "poll", CYCLE_IN_SYNC,
	    t + REPEAT_REMIND_MS), REPEAT_QUIET);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "poll", CYCLE_FAILED,
	    t + REPEAT_REMIND_MS - 1), REPEAT_QUIET);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "poll", CYCLE_FAILED,
	    t + REPEAT_REMIND_MS), REPEAT_REMIND);
	assert_int_equal(daemon__repeat_verdict(&m, "a", 0, "poll", CYCLE_ERROR,
	    t + REPEAT_REMIND_MS), REPEAT_REMIND);
	free(m.sig);
}

/* The signature: what a cycle came to, without what varies between polls
 * (an anomaly's text); a blocked service's reason is in it. */
static void
test_signature(void **state)
{
	char web[] = "web", why[] = "a container not managed by this project holds the name "
	    "rt-web";
	struct plan_service ps = { .service = web, .action = PLAN_BLOCKED };
	struct plan p = { .services = &ps, .nservices = 1 };
	struct converge_service cs = { .service = web, .action = PLAN_BLOCKED,
	    .outcome = CONVERGE_BLOCKED, .reason = why };
	struct converge_report rep = { .services = &cs, .nservices = 1, .failed = 1 };
	struct status st = { .errors = json_array(), .quarantined = json_array() };
	struct cycle_seen seen = { "poll", "abc", CYCLE_FAILED, &st, &p, &rep, 7 };
	char *a, *b;

	ps.anomalies = json_pack("[{s:s,s:s}]", "kind", "restarting", "message",
	    "rt-web is restarting in a loop (Restarting (1) 2 seconds ago)");
	a = daemon__repeat_signature(&seen);
	json_decref(ps.anomalies);
	ps.anomalies = json_pack("[{s:s,s:s}]", "kind", "restarting", "message",
	    "rt-web is restarting in a loop (Restarting (1) 9 seconds ago)");
	b = daemon__repeat_signature(&seen);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "revision=abc\n"));
	assert_non_null(strstr(a, "outcome=degraded\n"));
	assert_non_null(strstr(a, "rollout web blocked blocked a container not managed"));
	free(b);

	/* another error, another signature */
	json_array_append_new(st.errors, json_string("engine: down"));
	b = daemon__repeat_signature(&seen);
	assert_string_not_equal(a, b);
	free(b);
	json_array_clear(st.errors);
	/* the head held back by wait_for (the revision kept is the same) */
	st.o = json_pack("{s:{s:s,s:s,s:b}}", "waiting", "revision", "f00", "reason",
	    "web1 unreachable", "failed", 0);
	b = daemon__repeat_signature(&seen);
	assert_string_not_equal(a, b);
	free(b);
	json_decref(st.o);
	st.o = NULL;
	seen.rev = "def";
	b = daemon__repeat_signature(&seen);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	json_decref(ps.anomalies);
	json_decref(st.errors);
	json_decref(st.quarantined);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_hold_bounded),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_signature),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
