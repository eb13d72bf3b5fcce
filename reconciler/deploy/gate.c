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
		if (docker_container_inspect(d, id, &info, err) != 0) {
			if (!info)
				errf(err, "the container disappeared during its health gate");
			goto out;
		}
		st = json_object_get(info, "State");
		status = json_string_value(json_object_get(st, "Status"));
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
			errf(err, "the container exited with status %lld during its health gate",
			    (long long)json_integer_value(json_object_get(st, "ExitCode")));
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
				json_t *logs = json_object_get(health, "Log");
				json_t *last = json_array_get(logs, json_array_size(logs) - 1);
				const char *out = json_string_value(json_object_get(last, "Output"));
				char line[121];
				size_t n;

				/* the check's output on one line, trimmed */
				snprintf(line, sizeof(line), "%s", out ? out : "");
				for (char *q = line; *q; q++)
					if (*q == '\n' || *q == '\r' || *q == '\t')
						*q = ' ';
				n = strlen(line);
				while (n && line[n - 1] == ' ')
					line[--n] = '\0';
				errf(err, "the container is unhealthy (last check: exit %lld%s%s)",
				    (long long)json_integer_value(json_object_get(last, "ExitCode")),
				    n ? ", " : "", line);
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

/* The optional HTTP probe, run inside the container (the reconciler never
 * talks to container addresses): busybox or GNU wget, status from its output. */
struct probe_out {
	struct buf text;
};

static int
probe_collect(int stream, const char *data, size_t len, void *payload)
{
	struct probe_out *po = payload;

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

static int
probe_once(struct docker *d, const char *id, const struct mf_probe *pr, char *err)
{
	struct docker_exec_options eo = DOCKER_EXEC_OPTIONS_INIT;
	struct probe_out po;
	char *url = xasprintf("http://127.0.0.1:%d%s", pr->port, pr->path);
	const char *argv[] = { "wget", "-S", "-q", "-O", "/dev/null", "-T", "5", url, NULL };
	int code = -1, status, rc = -1;

	buf_init(&po.text, 16384);
	eo.argv = argv;
	eo.output = probe_collect;
	eo.payload = &po;
	eo.timeout_ms = 10000;
	if (docker_exec(d, id, &eo, &code, err) < 0)
		goto out;
	if (code == 126 || code == 127) {
		errf(err, "the HTTP probe needs wget in the image (exec exited %d)", code);
		goto out;
	}
	status = probe_status(po.text.data ? po.text.data : "");
	if (status == pr->status) {
		rc = 0;
	} else if (status < 0) {
		errf(err, "HTTP probe %s: no answer (wget exited %d)", url, code);
	} else {
		errf(err, "HTTP probe %s: status %d, expected %d", url, status, pr->status);
	}
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
		if (probe_once(d, id, pr, err) == 0)
			return 0;
		if (strstr(err, "needs wget") || now_ms() + pr->interval > deadline)
			return -1;
		sleep_ms(pr->interval);
	}
}
