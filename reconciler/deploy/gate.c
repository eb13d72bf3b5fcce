/*
 * gate: see gate.h.
 */
#include "gate.h"
#include "durations.h"
#include "events.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long the gate waits: update.timeout, or as long as the healthcheck may
 * take to fail. The manifest bounds its own durations (durations.h), but an
 * image's healthcheck comes from the engine's JSON, whatever it says: the sum
 * is checked and capped at DURATIONS_MAX_WAIT. */
static long long
gate_timeout(const struct mf_service *s, int has_health, json_t *image_hc)
{
	int64_t interval = 30000, timeout = 30000, start = 0, retries = 3, wait;

	if (s->update.timeout)
		return s->update.timeout;
	if (s->health.kind == MF_HEALTH_CMD) {
		interval = s->health.interval;
		timeout = s->health.timeout;
		start = s->health.start_period;
		retries = s->health.retries ? s->health.retries : 3;
	} else if (image_hc) {
		json_int_t v;

		if ((v = json_integer_value(json_object_get(image_hc, "Interval"))) > 0)
			interval = v / 1000000;
		if ((v = json_integer_value(json_object_get(image_hc, "Timeout"))) > 0)
			timeout = v / 1000000;
		if ((v = json_integer_value(json_object_get(image_hc, "StartPeriod"))) > 0)
			start = v / 1000000;
		if ((v = json_integer_value(json_object_get(image_hc, "Retries"))) > 0)
			retries = v;
	}
	if (!has_health)
		return s->update.min_ready + DURATIONS_GATE_SLACK;
	if (durations_gate_wait(start, interval, timeout, retries, &wait) < 0 ||
	    wait > DURATIONS_MAX_WAIT)
		wait = DURATIONS_MAX_WAIT;
	return wait;
}

#define REMOVED "the container was removed during its health gate (not by the reconciler)"

/* 1 when the container is gone or being removed: someone removed it while
 * it gated (docker rm -f kills it first, so it is seen exited, or unhealthy
 * with its last check passed, a moment before it goes). */
static int
removed(struct docker *d, const char *id)
{
	for (int i = 0; i < 3; i++) {
		json_t *info = NULL;
		char e[ERR_LEN];
		int rc = docker_container_inspect(d, id, &info, e);
		const char *status = json_string_value(json_object_get(json_object_get(info,
		    "State"), "Status"));
		int gone = rc == 1 || (rc == 0 && status && strcmp(status, "removing") == 0);

		json_decref(info);
		if (gone || rc < 0)
			return gone;
		sleep_ms(200);
	}
	return 0;
}

/* Why a container whose health went "unhealthy" failed: its last check's
 * output, or, when it is not running any more, what happened to it. */
static enum gate_verdict
unhealthy(const char *status, json_t *health, char *err)
{
	json_t *logs = json_object_get(health, "Log");
	json_t *last = json_array_get(logs, json_array_size(logs) - 1);
	const char *out = json_string_value(json_object_get(last, "Output"));
	char line[121];
	size_t n;

	/* the check did not fail: the container stopped under it */
	if (status && strcmp(status, "running") != 0) {
		errf(err, "the container stopped during its health gate (state %s)", status);
		return GATE_STOPPED;
	}
	/* the check's output on one line, trimmed */
	snprintf(line, sizeof(line), "%s", out ? out : "");
	for (char *q = line; *q; q++)
		if (*q == '\n' || *q == '\r' || *q == '\t')
			*q = ' ';
	n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = '\0';
	errf(err, "the container is unhealthy (last check: exit %lld%s%s)",
	    (long long)json_integer_value(json_object_get(last, "ExitCode")), n ? ", " : "", line);
	return GATE_FAIL;
}

/* 1 when the gate waits on the engine's healthcheck: the container has a
 * health state, the manifest did not turn it off, and its test is not NONE. */
static int
gate_has_health(const struct mf_service *s, json_t *info, json_t **hc)
{
	json_t *health = json_object_get(json_object_get(info, "State"), "Health");
	const char *test;

	*hc = json_object_get(json_object_get(info, "Config"), "Healthcheck");
	test = json_string_value(json_array_get(json_object_get(*hc, "Test"), 0));
	if (test && strcmp(test, "NONE") == 0)
		return 0;
	return health != NULL && s->health.kind != MF_HEALTH_NONE;
}

void
gate_state_init(struct gate_state *g, const struct mf_service *s, long long now)
{
	memset(g, 0, sizeof(*g));
	g->s = s;
	g->start = now;
	g->ready_since = -1;
	g->restarts0 = -1;
}

enum gate_verdict
gate_judge(struct gate_state *g, json_t *info, long long now, char *err)
{
	json_t *st = json_object_get(info, "State"), *health, *hc;
	const char *status = json_string_value(json_object_get(st, "Status")), *hs = NULL;
	long long restarts;

	if (status && strcmp(status, "removing") == 0) {
		errf(err, REMOVED);
		return GATE_FAIL;
	}
	health = json_object_get(st, "Health");
	g->has_health = gate_has_health(g->s, info, &hc);
	if (!g->deadline)
		g->deadline = g->start + gate_timeout(g->s, g->has_health, hc);
	restarts = json_integer_value(json_object_get(info, "RestartCount"));
	if (g->restarts0 < 0)
		g->restarts0 = restarts;
	snprintf(g->status, sizeof(g->status), "%s", status ? status : "?");
	g->health[0] = '\0';
	if (status && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0)) {
		errf(err, "the container exited with status %lld during its health gate",
		    (long long)json_integer_value(json_object_get(st, "ExitCode")));
		return GATE_STOPPED;
	}
	if ((status && strcmp(status, "restarting") == 0) || restarts != g->restarts0) {
		errf(err, "the container restarted during its health gate");
		return GATE_FAIL;
	}
	if (g->has_health) {
		hs = json_string_value(json_object_get(health, "Status"));
		snprintf(g->health, sizeof(g->health), "%s", hs ? hs : "");
		if (hs && strcmp(hs, "healthy") == 0)
			return GATE_PASS;
		if (hs && strcmp(hs, "unhealthy") == 0)
			return unhealthy(status, health, err);
	} else if (status && strcmp(status, "running") == 0) {
		if (g->ready_since < 0)
			g->ready_since = now;
		if (now - g->ready_since >= g->s->update.min_ready)
			return GATE_PASS;
	}
	if (now > g->deadline) {
		errf(err, "health gate timed out after %llds (state %s%s%s)",
		    (now - g->start) / 1000, g->status, hs ? ", health " : "", hs ? hs : "");
		return GATE_FAIL;
	}
	return GATE_WAIT;
}

long long
gate_next_look(const struct gate_state *g, long long now)
{
	long long at = g->deadline + 1;	/* past it: judge says timed out */

	/* without a healthcheck, no event says min_ready has passed */
	if (!g->has_health && g->ready_since >= 0 && strcmp(g->status, "running") == 0 &&
	    g->ready_since + g->s->update.min_ready < at)
		at = g->ready_since + g->s->update.min_ready;
	return at > now ? at - now : 1;
}

/* One look: inspect, then the verdict. A container that stopped is checked
 * for a removal under way, which is what the gate then says. */
static enum gate_verdict
look(struct docker *d, const char *id, struct gate_state *g, char *err)
{
	json_t *info = NULL;
	enum gate_verdict v;

	g->looks++;
	switch (docker_container_inspect(d, id, &info, err)) {
	case 0:
		break;
	case 1:
		errf(err, REMOVED);
		return GATE_FAIL;
	default:
		return GATE_FAIL;	/* the engine's own error */
	}
	v = gate_judge(g, info, now_ms(), err);
	json_decref(info);
	if (v == GATE_STOPPED) {
		if (removed(d, id))
			errf(err, REMOVED);
		v = GATE_FAIL;
	}
	return v;
}

/* The old way, where the engine's events cannot be followed: a look every
 * 200 ms. */
static int
poll_gate(struct docker *d, const char *id, struct gate_state *g, char *err)
{
	enum gate_verdict v;

	while ((v = look(d, id, g, err)) == GATE_WAIT)
		sleep_ms(200);
	return v == GATE_PASS ? 0 : -1;
}

/* What can change a gate's verdict: the health status, a stop, a start, a
 * removal, a pause. */
static const char *const gate_actions[] = {
	"health_status", "die", "destroy", "start", "restart", "pause", "unpause", NULL
};

struct watch {
	struct events_cursor cursor;
	int fresh;	/* events new to this stream */
};

static int
on_event(json_t *event, void *payload)
{
	struct watch *w = payload;

	if (events_cursor_note(&w->cursor, event))
		return 0;	/* seen by the last stream */
	w->fresh++;
	return 1;	/* end the stream: the handle is needed for the look */
}

static long long
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A stream's own slack past its until=, should the engine not end it. */
#define STREAM_SLACK_MS 2000

/* Waits for the container's next event, at most timeout_ms. The stream opens
 * since the last event seen, or since the gate began: the engine replays
 * what came meanwhile, so an event between two streams, or between the
 * first look and the first stream, is not missed. It ends at the engine's
 * until=: a stream the gate leaves at an event, which a socket proxy may
 * hold open towards the engine, is then closed there too. 1 event, 0 none
 * within timeout_ms, -1 the stream failed. */
static int
wait_event(struct docker *d, const char *id, struct watch *w, long long timeout_ms, char *err)
{
	struct docker_events_options o = DOCKER_EVENTS_OPTIONS_INIT;
	char since[48], until[48];
	long long end;

	events_cursor_open(&w->cursor, realtime_ns(), since, sizeof(since));
	/* the engine refuses an until before since */
	end = (realtime_ns() > w->cursor.ns ? realtime_ns() : w->cursor.ns) +
	    timeout_ms * 1000000;
	snprintf(until, sizeof(until), "%lld.%09lld", end / 1000000000, end % 1000000000);
	o.container = id;
	o.actions = gate_actions;
	o.since = since;
	o.until = until;
	o.timeout_ms = (long)timeout_ms + STREAM_SLACK_MS;
	o.event = on_event;
	o.payload = w;
	w->fresh = 0;
	if (docker_events_follow(d, &o, err) < 0)
		return -1;
	return w->fresh ? 1 : 0;
}

int
gate_wait(struct docker *d, const char *id, const struct mf_service *s, char *err)
{
	struct gate_state g;
	struct watch w = { EVENTS_CURSOR_INIT, 0 };
	enum gate_verdict v;
	char since[48], e[ERR_LEN];

	gate_state_init(&g, s, now_ms());
	/* the first stream's since: now, before the first look */
	events_cursor_open(&w.cursor, realtime_ns(), since, sizeof(since));
	if (getenv("RECONCILER_GATE_POLL"))	/* test hook: the old way, to compare */
		return poll_gate(d, id, &g, err);
	while ((v = look(d, id, &g, err)) == GATE_WAIT)
		if (wait_event(d, id, &w, gate_next_look(&g, now_ms()), e) < 0) {
			log_debug("gate", "container=%.12s cannot follow the engine's events, "
			    "polling: %s", id, e);
			return poll_gate(d, id, &g, err);
		}
	log_debug("gate", "container=%.12s %s after %d looks, following events", id,
	    v == GATE_PASS ? "passed" : "failed", g.looks);
	return v == GATE_PASS ? 0 : -1;
}

/*
 * The optional HTTP probe, run inside the container (the reconciler never
 * talks to container addresses) with the image's wget, busybox's or GNU's,
 * and only the options both have. No -T: Debian 12's busybox 1.35 is built
 * without wget's timeout and dies of SIGSEGV when given one. The time limit
 * of an attempt is the reconciler's own, the exec's; the engine cannot stop
 * an exec, so a wget that never gets an answer may linger in the container.
 */
#define PROBE_ATTEMPT_MS 10000
#define PROBE_MIN_ATTEMPT_MS 2000

enum probe_result {
	PROBE_PASSED,
	PROBE_FAILED,	/* this attempt: try again while time is left */
	PROBE_NO_WGET,	/* the image cannot run a probe: no retry helps */
};

struct probe_out {
	struct buf text;
};

static int
probe_collect(int stream, const char *data, size_t len, void *payload)
{
	struct probe_out *po = payload;

	(void)stream;
	buf_add(&po->text, data, len);	/* capped: excess is dropped */
	return 0;
}

static int
probe_status(const char *text)
{
	const char *p = text;
	int status = -1;

	/* the last "HTTP/1.x NNN" seen wins: redirects print several */
	while ((p = strstr(p, "HTTP/"))) {
		const char *sp = strchr(p, ' ');

		if (sp && sp[1] >= '1' && sp[1] <= '5')
			status = (int)strtol(sp + 1, NULL, 10);
		p += 5;
	}
	return status;
}

/* wget's last message (not a header line, which -S indents), on one line,
 * printable, at most n - 1 bytes: what the container said, for the error. */
static void
probe_last_message(const char *text, char *out, size_t n)
{
	const char *p = text, *best = NULL, *best_end = NULL;
	size_t k = 0;

	while (*p) {
		const char *e = strchr(p, '\n');

		if (!e)
			e = p + strlen(p);
		if (e > p && *p != ' ' && *p != '\r') {
			best = p;
			best_end = e;
		}
		p = *e ? e + 1 : e;
	}
	for (p = best; p && p < best_end && k + 1 < n; p++)
		if (*p != '\r')
			out[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	out[k] = '\0';
}

static enum probe_result
probe_once(struct docker *d, const char *id, const struct mf_probe *pr, long limit_ms,
    char *err)
{
	struct docker_exec_options eo = DOCKER_EXEC_OPTIONS_INIT;
	struct probe_out po;
	char *url = xasprintf("http://127.0.0.1:%d%s", pr->port, pr->path);
	const char *argv[] = { "wget", "-S", "-q", "-O", "/dev/null", url, NULL };
	char said[241];
	enum probe_result rc = PROBE_FAILED;
	long long t0 = now_ms();
	int code = -1, status;

	buf_init(&po.text, 16384);
	eo.argv = argv;
	eo.output = probe_collect;
	eo.payload = &po;
	eo.timeout_ms = limit_ms;
	if (docker_exec(d, id, &eo, &code, err) < 0) {
		char why[ERR_LEN];

		snprintf(why, sizeof(why), "%s", err);
		if (now_ms() - t0 >= limit_ms)
			errf(err, "HTTP probe %s: no answer within %ld s (the reconciler's limit "
			    "of one attempt; the image's wget may linger in the container)", url,
			    limit_ms / 1000);
		else
			errf(err, "HTTP probe %s: %s", url, why);
		goto out;
	}
	probe_last_message(po.text.data ? po.text.data : "", said, sizeof(said));
	if (code == 126 || code == 127) {
		errf(err, "the HTTP probe needs wget in the image: running 'wget' in the "
		    "container exited %d%s%s; add busybox's or GNU wget to the image, or remove "
		    "the probe", code, said[0] ? ": " : "", said);
		rc = PROBE_NO_WGET;
		goto out;
	}
	status = probe_status(po.text.data ? po.text.data : "");
	if (status == pr->status)
		rc = PROBE_PASSED;
	else if (status >= 0)
		errf(err, "HTTP probe %s: status %d, expected %d", url, status, pr->status);
	else if (code > 128)
		errf(err, "HTTP probe %s: the image's wget died of signal %d", url, code - 128);
	else
		errf(err, "HTTP probe %s: no answer (wget exited %d%s%s)", url, code,
		    said[0] ? ": " : "", said);
out:
	buf_release(&po.text);
	free(url);
	return rc;
}

int
gate_probe(struct docker *d, const char *id, const struct mf_probe *pr, char *err)
{
	long long deadline = now_ms() + pr->timeout;

	for (;;) {
		long long left = deadline - now_ms();
		long limit = left < PROBE_ATTEMPT_MS ? (long)left : PROBE_ATTEMPT_MS;
		enum probe_result r;

		/* the last attempt gets a fair chance, even past the probe's timeout */
		r = probe_once(d, id, pr, limit > PROBE_MIN_ATTEMPT_MS ? limit :
		    PROBE_MIN_ATTEMPT_MS, err);
		if (r == PROBE_PASSED)
			return 0;
		if (r == PROBE_NO_WGET || now_ms() + pr->interval > deadline)
			return -1;
		sleep_ms(pr->interval);
	}
}
