/*
 * gate: see gate.h.
 */
#include "gate.h"
#include "durations.h"
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
static int
unhealthy(struct docker *d, const char *id, const char *status, json_t *health, char *err)
{
	json_t *logs = json_object_get(health, "Log");
	json_t *last = json_array_get(logs, json_array_size(logs) - 1);
	const char *out = json_string_value(json_object_get(last, "Output"));
	char line[121];
	size_t n;

	/* the check did not fail: the container stopped under it */
	if (status && strcmp(status, "running") != 0) {
		if (removed(d, id))
			return errf(err, REMOVED);
		return errf(err, "the container stopped during its health gate (state %s)", status);
	}
	/* the check's output on one line, trimmed */
	snprintf(line, sizeof(line), "%s", out ? out : "");
	for (char *q = line; *q; q++)
		if (*q == '\n' || *q == '\r' || *q == '\t')
			*q = ' ';
	n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = '\0';
	return errf(err, "the container is unhealthy (last check: exit %lld%s%s)",
	    (long long)json_integer_value(json_object_get(last, "ExitCode")), n ? ", " : "", line);
}

int
gate_wait(struct docker *d, const char *id, const struct mf_service *s, char *err)
{
	json_t *info = NULL;
	long long start = now_ms(), deadline = 0, ready_since = -1;
	long long restarts0 = -1;
	const char *started0 = NULL;
	char *started_at = NULL;
	int rc = -1;

	for (;;) {
		json_t *st, *health, *hc;
		const char *status, *hs = NULL;
		int has_health;
		long long restarts;

		json_decref(info);
		info = NULL;
		switch (docker_container_inspect(d, id, &info, err)) {
		case 0:
			break;
		case 1:
			errf(err, REMOVED);
			goto out;
		default:
			goto out;	/* the engine's own error */
		}
		st = json_object_get(info, "State");
		status = json_string_value(json_object_get(st, "Status"));
		if (status && strcmp(status, "removing") == 0) {
			errf(err, REMOVED);
			goto out;
		}
		health = json_object_get(st, "Health");
		hc = json_object_get(json_object_get(info, "Config"), "Healthcheck");
		has_health = health != NULL && s->health.kind != MF_HEALTH_NONE;
		if (hc && json_string_value(json_array_get(json_object_get(hc, "Test"), 0)) &&
		    strcmp(json_string_value(json_array_get(json_object_get(hc, "Test"), 0)),
		    "NONE") == 0)
			has_health = 0;
		if (!deadline)
			deadline = start + gate_timeout(s, has_health, hc);
		restarts = json_integer_value(json_object_get(info, "RestartCount"));
		if (restarts0 < 0) {
			restarts0 = restarts;
			started0 = json_string_value(json_object_get(st, "StartedAt"));
			started_at = started0 ? xstrdup(started0) : NULL;
		}
		if (status && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0)) {
			if (removed(d, id))
				errf(err, REMOVED);
			else
				errf(err, "the container exited with status %lld during its health "
				    "gate", (long long)json_integer_value(json_object_get(st,
				    "ExitCode")));
			goto out;
		}
		if ((status && strcmp(status, "restarting") == 0) || restarts != restarts0) {
			errf(err, "the container restarted during its health gate");
			goto out;
		}
		if (has_health) {
			hs = json_string_value(json_object_get(health, "Status"));
			if (hs && strcmp(hs, "healthy") == 0) {
				rc = 0;
				goto out;
			}
			if (hs && strcmp(hs, "unhealthy") == 0) {
				unhealthy(d, id, status, health, err);
				goto out;
			}
		} else if (status && strcmp(status, "running") == 0) {
			if (ready_since < 0)
				ready_since = now_ms();
			if (now_ms() - ready_since >= s->update.min_ready) {
				rc = 0;
				goto out;
			}
		}
		if (now_ms() > deadline) {
			errf(err, "health gate timed out after %llds (state %s%s%s)",
			    (now_ms() - start) / 1000, status ? status : "?", hs ? ", health " : "",
			    hs ? hs : "");
			goto out;
		}
		sleep_ms(200);
	}
out:
	free(started_at);
	json_decref(info);
	return rc;
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
