/*
 * swarm_follow: a Swarm service followed to the end of its rollout (see
 * swarm_int.h). Swarm's own update is the gate; what counts here is what it
 * ends in: completed, or rolled back (a failure, whatever the peers call it),
 * and which task failed and why.
 */
#include "backend.h"
#include "durations.h"
#include "log.h"
#include "swarm_int.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define POLL_MS 500

const char *
swarm__str(json_t *j)
{
	const char *s = json_string_value(j);

	return s ? s : "";
}

/* How long one batch of tasks may take: its healthcheck's worst case (or
 * min_ready), then monitor, then the delay before the next batch. */
static long long
batch_ms(const struct mf_service *s)
{
	int64_t wait = s->update.min_ready + DURATIONS_GATE_SLACK;

	if (s->update.timeout)
		wait = s->update.timeout;
	else if (s->health.kind == MF_HEALTH_CMD &&
	    (durations_gate_wait(s->health.start_period, s->health.interval, s->health.timeout,
	    s->health.retries ? s->health.retries : 3, &wait) < 0 || wait > DURATIONS_MAX_WAIT))
		wait = DURATIONS_MAX_WAIT;
	return wait + s->update.min_ready + s->update.delay;
}

/* The whole rollout's limit: every batch, then as long again for a
 * rollback, plus time for pulls on the nodes. */
static long long
limit_ms(const struct mf_service *s)
{
	long long per = s->update.parallelism ? s->update.parallelism : 1;
	long long n = s->deploy.mode == MF_GLOBAL ? 1 : s->deploy.replicas < 0 ? 1 :
	    s->deploy.replicas;
	long long batches = n ? (n + per - 1) / per : 1;

	return 2 * batches * batch_ms(s) + 120000;
}

struct tally {
	int want;		/* tasks Swarm wants running */
	int running_new;	/* of this version, running */
	int desired_old;	/* of an older version, still wanted running */
	int desired_new;	/* of this version, wanted running */
	char failed[ERR_LEN];	/* why the last task of this version failed */
};

static void
task_failure(struct tally *t, json_t *task, const char *state)
{
	json_t *st = json_object_get(task, "Status");
	json_t *code = json_object_get(json_object_get(st, "ContainerStatus"), "ExitCode");
	const char *e = swarm__str(json_object_get(st, "Err"));

	snprintf(t->failed, sizeof(t->failed), "task %.12s (slot %lld) %s: %s, exit status %lld%s",
	    swarm__str(json_object_get(task, "ID")),
	    (long long)json_integer_value(json_object_get(task, "Slot")), state,
	    *e ? e : swarm__str(json_object_get(st, "Message")),
	    (long long)json_integer_value(code), strcmp(state, "complete") == 0 ?
	    " (it ended by itself before it served: does its healthcheck pass?)" : "");
}

static int
count_tasks(struct docker *d, const char *id, const char *th, struct tally *t, char *err)
{
	json_t *tasks = NULL, *task;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (docker_tasks_list(d, id, &tasks, err) < 0)
		return -1;
	json_array_foreach(tasks, i, task) {
		const char *desired = swarm__str(json_object_get(task, "DesiredState"));
		const char *state = swarm__str(json_object_get(json_object_get(task, "Status"),
		    "State"));
		const char *hash = swarm__str(json_object_get(json_object_get(json_object_get(
		    json_object_get(task, "Spec"), "ContainerSpec"), "Labels"),
		    SWARM_LABEL_TASK_HASH));
		int mine = strcmp(hash, th) == 0;

		/* a task of a service that ended by itself (complete: it exited 0,
		 * as an unhealthy one Swarm stopped may) failed its start */
		if (mine && (strcmp(state, "failed") == 0 || strcmp(state, "rejected") == 0 ||
		    strcmp(state, "complete") == 0))
			task_failure(t, task, state);
		if (strcmp(desired, "running") != 0)
			continue;
		t->want++;
		if (!mine)
			t->desired_old++;
		else {
			t->desired_new++;
			t->running_new += strcmp(state, "running") == 0;
		}
	}
	json_decref(tasks);
	return 0;
}

static const char *
update_state(json_t *svc, const char **started, const char **msg)
{
	json_t *us = json_object_get(svc, "UpdateStatus");

	*started = swarm__str(json_object_get(us, "StartedAt"));
	*msg = swarm__str(json_object_get(us, "Message"));
	return json_string_value(json_object_get(us, "State"));
}

/* Past the limit with the update still going: Swarm is asked to roll back. */
static void
give_up(struct docker *d, const char *id, json_t *svc, const struct mf_service *s)
{
	char e[ERR_LEN];

	if (docker_service_rollback(d, id, json_integer_value(json_object_get(json_object_get(svc,
	    "Version"), "Index")), json_object_get(svc, "Spec"), e) < 0)
		log_warn("swarm", "service=%s cannot ask for a rollback: %s", s->name, e);
	else
		log_warn("swarm", "service=%s out of time: rollback asked of Swarm", s->name);
}

/* Swarm's message names the task that failed ("… of task ID"): the message
 * and that task's own error, exit status and last state. */
static void
why_task(struct docker *d, const char *id, const char *msg, char *out, size_t len)
{
	const char *at = strstr(msg, "task ");
	json_t *tasks = NULL, *task;
	char e[ERR_LEN], tid[32] = "";
	size_t i;

	snprintf(out, len, "%s", msg);
	if (!at || sscanf(at + 5, "%31[a-z0-9]", tid) != 1 || docker_tasks_list(d, id, &tasks, e) < 0)
		return;
	json_array_foreach(tasks, i, task) {
		json_t *st = json_object_get(task, "Status");
		json_t *code = json_object_get(json_object_get(st, "ContainerStatus"), "ExitCode");
		const char *err = swarm__str(json_object_get(st, "Err"));

		if (strncmp(swarm__str(json_object_get(task, "ID")), tid, strlen(tid)) != 0)
			continue;
		snprintf(out, len, "%s (task %s: %s%s%s, exit status %lld%s)", msg,
		    swarm__str(json_object_get(st, "State")), swarm__str(json_object_get(st,
		    "Message")), *err ? ": " : "", err, (long long)json_integer_value(code),
		    strcmp(swarm__str(json_object_get(st, "State")), "complete") == 0 ?
		    "; it ended during its start or monitor period: did its healthcheck fail?" :
		    "");
	}
	json_decref(tasks);
}

/* One look: 1 done, 0 not yet, -1 failed (err). rolled is set once Swarm
 * rolls this update back; the wait goes on until the rollback ends. */
static int
look(struct docker *d, const char *id, const struct mf_service *s, const char *th,
    const char *prev, int *rolled, char *first, char *err)
{
	json_t *svc = NULL;
	const char *state, *started, *msg;
	struct tally t;
	int rc = 0, have = docker_service_inspect(d, id, &svc, err);

	if (have != 0) {
		if (have == 1)
			errf(err, "the service was removed during its rollout (not by the reconciler)");
		return -1;
	}
	state = update_state(svc, &started, &msg);
	if (count_tasks(d, id, th, &t, err) < 0) {
		rc = -1;
		goto out;
	}
	if (state && prev && strcmp(started, prev) != 0) {
		if (strncmp(state, "rollback_", 9) == 0 || strcmp(state, "paused") == 0) {
			if (!*rolled) {
				log_warn("swarm", "service=%s update %s: %s", s->name, state, msg);
				/* the first word says which task failed: say why */
				why_task(d, id, msg, first, ERR_LEN);
			}
			*rolled = 1;
			errf(err, "Swarm rolled the update back (%s): %s", state, first);
			if (strcmp(state, "rollback_started") != 0)
				rc = -1;
			goto out;
		}
		if (strcmp(state, "completed") == 0 && !t.desired_old) {
			rc = 1;
			goto out;
		}
	}
	if (!prev && t.failed[0]) {
		errf(err, "%s", t.failed);
		rc = -1;
		goto out;
	}
	/* Every task runs the new version. A rolling update (a new task
	 * template) has its own status by then, and is done only once Swarm says
	 * completed: its last tasks must live through monitor first. A change
	 * Swarm applies without one (replicas) is done here. */
	if (!*rolled && !t.desired_old && t.running_new >= t.desired_new &&
	    t.running_new >= (s->deploy.mode == MF_GLOBAL ? 1 : s->deploy.replicas < 0 ? 1 :
	    s->deploy.replicas) && !(state && prev && strcmp(started, prev) != 0))
		rc = 1;
out:
	json_decref(svc);
	return rc;
}

int
swarm__follow(struct docker *d, const char *id, const struct mf_service *s, const char *th,
    json_t *before, char *err)
{
	const char *prev = NULL, *msg;
	long long t0 = now_ms(), limit = limit_ms(s);
	int rolled = 0, asked = 0, rc;
	char first[ERR_LEN] = "";

	/* an update is this one once its StartedAt differs from the last */
	if (before) {
		update_state(before, &prev, &msg);
		if (!prev)
			prev = "";
	}
	for (;;) {
		if ((rc = look(d, id, s, th, prev, &rolled, first, err)) != 0)
			return rc > 0 ? 0 : -1;
		if (now_ms() - t0 > limit) {
			json_t *svc = NULL;

			if (rolled || asked || !before) {
				if (!rolled)
					errf(err, "the tasks did not all run the new version within %lld s",
					    limit / 1000);
				return -1;
			}
			if (docker_service_inspect(d, id, &svc, err) == 0)
				give_up(d, id, svc, s);
			json_decref(svc);
			asked = 1;
			t0 = now_ms();
		}
		sleep_ms(POLL_MS);
	}
}

/* The job's one task: 1 complete, 0 not yet, -1 failed. */
static int
job_state(struct docker *d, const char *id, char *err)
{
	json_t *tasks = NULL, *task;
	size_t i;
	int rc = 0;

	if (docker_tasks_list(d, id, &tasks, err) < 0)
		return -1;
	json_array_foreach(tasks, i, task) {
		json_t *st = json_object_get(task, "Status");
		const char *state = swarm__str(json_object_get(st, "State"));
		json_t *code = json_object_get(json_object_get(st, "ContainerStatus"), "ExitCode");

		if (strcmp(state, "complete") == 0) {
			rc = 1;
		} else if (strcmp(state, "failed") == 0 || strcmp(state, "rejected") == 0) {
			if (json_is_integer(code) && json_integer_value(code))
				errf(err, "exited with status %lld", (long long)json_integer_value(code));
			else
				errf(err, "%s: %s", state, swarm__str(json_object_get(st, "Err")));
			rc = -1;
		}
	}
	json_decref(tasks);
	return rc;
}

int
swarm__run_job(struct docker *d, const struct mf_service *s, const struct mf_hook *h,
    json_t *body, char *err)
{
	const char *name = swarm__str(json_object_get(body, "Name"));
	char *id = NULL, e2[ERR_LEN];
	long long t0;
	int rc = -1;

	/* the last run's job, kept for its logs, goes first */
	if (docker_service_remove(d, name, e2) < 0)
		log_warn("hook", "service=%s hook=%s removing the last job: %s", s->name, h->name, e2);
	log_info("hook", "service=%s hook=%s starting (a Swarm job)", s->name, h->name);
	if (docker_service_create(d, body, &id, err) < 0)
		goto out;
	for (t0 = now_ms();; sleep_ms(POLL_MS)) {
		if ((rc = job_state(d, id, err)) != 0)
			break;
		if (now_ms() - t0 > h->timeout) {
			errf(err, "did not finish within %lld s", (long long)h->timeout / 1000);
			rc = -1;
			break;
		}
	}
	if (rc < 0) {
		char why[ERR_LEN];

		snprintf(why, sizeof(why), "%s", err);
		errf(err, "pre-deploy hook '%s': %.400s (output: docker service logs %s)", h->name,
		    why, name);
	}
out:
	log_msg(rc > 0 ? LOG_INFO : LOG_WARN, "hook", "service=%s hook=%s %s", s->name, h->name,
	    rc > 0 ? "ok" : err);
	free(id);
	return rc > 0 ? 0 : -1;
}
