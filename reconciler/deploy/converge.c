/*
 * converge: see converge.h.
 *
 * Start-first (no host port): the new container is created as "<name>-next"
 * beside the old one, on the same networks under the same aliases, and must
 * pass its gate; then the dependents are reloaded, the old one is stopped and
 * removed and the new one renamed. Stop-first (host ports): the new container
 * is created (not started) first, then the old one is stopped but kept, the new
 * one started and gated; on failure it is removed and the old one started
 * again. Every step is idempotent against what a crash can leave behind: the
 * next cycle's diff sees it and acts.
 */
#include "converge.h"
#include "backup.h"
#include "log.h"
#include "spec.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
crash_point(const struct converge_options *o, const char *step)
{
	if (o->crash_at && strcmp(o->crash_at, step) == 0) {
		log_warn("crash", "step=%s (test hook RECONCILER_CRASH_AT)", step);
		kill(getpid(), SIGKILL);
	}
}

const char *
converge_outcome_name(enum converge_outcome o)
{
	switch (o) {
	case CONVERGE_SKIPPED: return "skipped";
	case CONVERGE_OK: return "ok";
	case CONVERGE_FAILED: return "failed";
	case CONVERGE_BLOCKED: return "blocked";
	}
	return "?";
}

/* Health gate ----------------------------------------------------------- */

static long long
gate_timeout(const struct mf_service *s, int has_health, json_t *image_hc)
{
	long long interval = 30000, timeout = 30000, start = 0, retries = 3;

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
		return s->update.min_ready + 30000;
	return start + (interval + timeout) * retries + 30000;
}

int
converge_gate(struct docker *d, const char *id, const struct mf_service *s, char *err)
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

static int
probe_gate(struct docker *d, const char *id, const struct mf_probe *pr, char *err)
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

/* Steps ------------------------------------------------------------------ */

struct ctx {
	struct docker *d;
	const struct desired *ds;
	const struct secrets *sec;
	const struct converge_options *o;
};

static int
stop_and_remove(struct ctx *c, const char *id, const struct mf_service *s, char *err)
{
	int grace = s ? (int)((s->stop_grace + 999) / 1000) : 10;

	if (docker_container_stop(c->d, id, grace, err) < 0)
		return -1;
	return docker_container_remove(c->d, id, 0, err);
}

static int
create_container(struct ctx *c, const struct desired_service *dsv, const char *name,
    int gated, char **id, char *err)
{
	json_t *cfg = NULL, *eps, *ep;
	const char *net;
	int rc;

	if (docker_image_pull(c->d, dsv->svc->image, err) < 0)
		return -1;
	if (spec_container_config(c->ds->m, dsv->svc, c->sec, c->o->revision, ROLE_PRIMARY, &cfg,
	    err) < 0)
		return -1;
	/* A container under its gate is on the networks (it may need to reach
	 * its dependencies) but not under the service's aliases: no client is
	 * sent to a version that has not proven itself. */
	if (gated) {
		eps = json_object_get(json_object_get(cfg, "NetworkingConfig"), "EndpointsConfig");
		json_object_foreach(eps, net, ep)
			json_object_del(ep, "Aliases");
	}
	rc = docker_container_create(c->d, name, cfg, id, err);
	json_decref(cfg);
	return rc;
}

/* After the gate: the new container takes the service's aliases (a network
 * endpoint's aliases are fixed, so it leaves and rejoins each network). */
static int
take_aliases(struct ctx *c, const struct desired_service *dsv, const char *id, char *err)
{
	json_t *nets = json_object_get(dsv->spec, "networks"), *aliases;
	const char *net;

	json_object_foreach(nets, net, aliases) {
		json_t *body = json_pack("{s:s,s:b}", "Container", id, "Force", 1);
		json_t *ep = json_pack("{s:O}", "Aliases", aliases);
		char *path = xasprintf("/networks/%s/disconnect", net);
		int rc = docker_call(c->d, "POST", path, body, NULL, NULL, err) < 0 ||
		    docker_network_connect(c->d, net, id, ep, err) < 0 ? -1 : 0;

		free(path);
		json_decref(body);
		json_decref(ep);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Pre-deploy hooks: one-off containers of the new image (or the hook's own)
 * that must exit 0. Their output goes to the log, their container away. */
static int
run_hooks(struct ctx *c, const struct desired_service *dsv, char *err)
{
	const struct mf_service *s = dsv->svc;

	for (size_t i = 0; i < s->nhooks; i++) {
		const struct mf_hook *h = &s->hooks[i];
		json_t *cfg = NULL, *cmd;
		char *id = NULL, *name, e2[ERR_LEN];
		int code = -1, rc = -1;

		if (spec_container_config(c->ds->m, s, c->sec, c->o->revision, ROLE_HOOK, &cfg,
		    err) < 0)
			return -1;
		if (h->image)
			json_object_set_new(cfg, "Image", json_string(h->image));
		cmd = json_array();
		if (h->command.shell) {
			json_array_append_new(cmd, json_string("/bin/sh"));
			json_array_append_new(cmd, json_string("-c"));
		}
		for (size_t k = 0; k < h->command.argc; k++)
			json_array_append_new(cmd, json_string(h->command.argv[k]));
		json_object_set_new(cfg, "Cmd", cmd);
		json_object_del(cfg, "Healthcheck");
		json_object_set_new(json_object_get(cfg, "HostConfig"), "PortBindings", json_object());
		json_object_set_new(json_object_get(cfg, "HostConfig"), "RestartPolicy",
		    json_pack("{s:s}", "Name", "no"));
		name = xasprintf("%s-hook-%s", dsv->name, h->name);
		docker_container_remove(c->d, name, 1, err);
		err[0] = '\0';
		log_info("hook", "service=%s hook=%s starting", s->name, h->name);
		if (docker_image_pull(c->d, h->image ? h->image : s->image, err) < 0 ||
		    docker_container_create(c->d, name, cfg, &id, err) < 0 ||
		    docker_container_start(c->d, id, err) < 0 ||
		    docker_container_wait(c->d, id, h->timeout, &code, err) < 0) {
			goto next;
		}
		if (code != 0) {
			errf(err, "pre-deploy hook '%s' exited with status %d", h->name, code);
			goto next;
		}
		rc = 0;
next:
		/* The container stays (exited) until this hook runs again, so its
		 * output is there for `docker logs`. */
		log_msg(rc == 0 ? LOG_INFO : LOG_WARN, "hook", "service=%s hook=%s %s (output: "
		    "docker logs %s)", s->name, h->name, rc == 0 ? "ok" : err, name);
		if (id && rc < 0 && code < 0)
			docker_container_kill(c->d, id, NULL, e2);
		free(id);
		free(name);
		json_decref(cfg);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* After a dependency's cut-over and before its old container goes: tell the
 * services that cache its address (nginx) to look again. */
static void
notify_dependents(struct ctx *c, const char *service)
{
	const struct manifest *m = c->ds->m;

	for (size_t i = 0; i < m->nservices; i++) {
		const struct mf_service *s = &m->services[i];
		char *name = spec_container_name(m, s);
		char err[ERR_LEN];

		for (size_t k = 0; k < s->non_dep; k++) {
			const struct mf_depaction *a = &s->on_dep[k];
			int code = 0, rc;

			if (!a->service || strcmp(a->service, service) != 0)
				continue;
			if (a->signal) {
				rc = docker_container_kill(c->d, name, a->signal, err);
			} else {
				struct docker_exec_options eo = DOCKER_EXEC_OPTIONS_INIT;
				const char **argv = xcalloc(a->exec.argc + 3, sizeof(*argv));
				size_t n = 0;

				if (a->exec.shell) {
					argv[n++] = "/bin/sh";
					argv[n++] = "-c";
				}
				for (size_t j = 0; j < a->exec.argc; j++)
					argv[n++] = a->exec.argv[j];
				eo.argv = argv;
				rc = docker_exec(c->d, name, &eo, &code, err);
				if (rc == 0 && code != 0)
					rc = errf(err, "exited with status %d", code);
				free(argv);
			}
			log_msg(rc == 0 ? LOG_INFO : LOG_WARN, "dependent-reload",
			    "service=%s after=%s %s%s", s->name, service, rc == 0 ? "ok" : "failed: ",
			    rc == 0 ? "" : err);
		}
		free(name);
	}
}

static int
gate_or_fail(struct ctx *c, const char *id, const struct mf_service *s, char *err)
{
	log_info("gate", "service=%s waiting for the health gate", s->name);
	crash_point(c->o, "gating");
	if (converge_gate(c->d, id, s, err) < 0)
		return -1;
	if (s->probe.set && probe_gate(c->d, id, &s->probe, err) < 0)
		return -1;
	return 0;
}

/* 1 when the container no longer exists (a stop or remove that failed with
 * 404 found nothing to do). */
static int
gone(struct ctx *c, const char *id)
{
	json_t *info = NULL;
	char e[ERR_LEN];
	int rc = docker_container_inspect(c->d, id, &info, e);

	json_decref(info);
	return rc == 1;
}

static void
disconnect_all(struct ctx *c, const char *id)
{
	json_t *info = NULL, *nets, *v;
	const char *name;
	char e[ERR_LEN];

	if (docker_container_inspect(c->d, id, &info, e) != 0)
		return;
	nets = json_object_get(json_object_get(info, "NetworkSettings"), "Networks");
	json_object_foreach(nets, name, v) {
		json_t *body = json_pack("{s:s,s:b}", "Container", id, "Force", 1);
		char *path = xasprintf("/networks/%s/disconnect", name);

		if (docker_call(c->d, "POST", path, body, NULL, NULL, e) < 0)
			log_warn("cutover", "disconnect %.12s from %s: %s", id, name, e);
		free(path);
		json_decref(body);
	}
	json_decref(info);
}

static int
do_create(struct ctx *c, const struct desired_service *dsv, char *err)
{
	char *id = NULL, e2[ERR_LEN];
	int rc = -1;

	if (run_hooks(c, dsv, err) < 0)
		return -1;
	if (create_container(c, dsv, dsv->name, 0, &id, err) < 0)
		return -1;
	crash_point(c->o, "created");
	if (docker_container_start(c->d, id, err) < 0)
		goto fail;
	crash_point(c->o, "started");
	if (gate_or_fail(c, id, dsv->svc, err) < 0)
		goto fail;
	free(id);
	return 0;
fail:
	/* No old version to keep: remove the failed one so the next try is clean. */
	docker_container_stop(c->d, id, 1, e2);
	docker_container_remove(c->d, id, 1, e2);
	free(id);
	return rc;
}

static int
do_recreate(struct ctx *c, const struct desired_service *dsv, const struct plan_service *ps,
    char *err)
{
	const struct mf_service *s = dsv->svc;
	char *next = xasprintf("%s-next", dsv->name), *id = NULL, e2[ERR_LEN];
	int stop_first = s->update.strategy == MF_STOP_FIRST, old_stopped = 0, rc = -1;

	if (run_hooks(c, dsv, err) < 0)
		goto out;
	/* The serving container may itself be a "-next" adopted after a crash:
	 * give it the service's name first, so the new one can take "-next". */
	if (ps->container && strcmp(ps->container, next) == 0) {
		if (docker_container_rename(c->d, ps->id, dsv->name, err) < 0)
			goto out;
		log_info("adopt", "service=%s renamed %s to %s", s->name, next, dsv->name);
	} else {
		docker_container_remove(c->d, next, 1, e2);
	}
	if (create_container(c, dsv, next, 1, &id, err) < 0)
		goto out;
	crash_point(c->o, "created");
	if (stop_first) {
		if (docker_container_stop(c->d, ps->id, (int)((s->stop_grace + 999) / 1000),
		    err) < 0)
			goto rollback;
		old_stopped = 1;
		crash_point(c->o, "old-stopped");
	}
	if (docker_container_start(c->d, id, err) < 0)
		goto rollback;
	crash_point(c->o, "started");
	if (gate_or_fail(c, id, s, err) < 0)
		goto rollback;
	if (take_aliases(c, dsv, id, err) < 0)
		goto rollback;
	notify_dependents(c, s->name);
	if (!stop_first) {
		/* Out of the network first: its alias stops resolving to it at once,
		 * while stopping takes a while during which it would still be named. */
		disconnect_all(c, ps->id);
		if (docker_container_stop(c->d, ps->id, (int)((s->stop_grace + 999) / 1000),
		    err) < 0 && !gone(c, ps->id))
			goto rollback;
		crash_point(c->o, "old-stopped");
	}
	if (docker_container_remove(c->d, ps->id, 0, err) < 0 && !gone(c, ps->id))
		goto out;
	crash_point(c->o, "renaming");
	if (docker_container_rename(c->d, id, dsv->name, err) < 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	log_warn("rollback", "service=%s reason=\"%s\"", s->name, err);
	if (id) {
		docker_container_stop(c->d, id, 1, e2);
		docker_container_remove(c->d, id, 1, e2);
	}
	if (old_stopped) {
		if (docker_container_start(c->d, ps->id, e2) < 0)
			log_error("rollback", "service=%s cannot restart the old container: %s",
			    s->name, e2);
		else if (converge_gate(c->d, ps->id, s, e2) < 0)
			log_error("rollback", "service=%s the old container is not healthy either: %s",
			    s->name, e2);
	}
out:
	free(next);
	free(id);
	return rc;
}

static int
do_start(struct ctx *c, const struct desired_service *dsv, const struct plan_service *ps,
    char *err)
{
	/* An adopted "-next" may have been cut short before it took the aliases. */
	if (strcmp(ps->container, dsv->name) != 0 &&
	    (take_aliases(c, dsv, ps->id, err) < 0 ||
	    docker_container_rename(c->d, ps->id, dsv->name, err) < 0))
		return -1;
	if (docker_container_start(c->d, ps->id, err) < 0)
		return -1;
	return gate_or_fail(c, ps->id, dsv->svc, err);
}

static int
ensure_resources(struct ctx *c, const struct plan *p, char *err)
{
	const struct manifest *m = c->ds->m;

	for (size_t i = 0; i < m->nnetworks; i++) {
		const struct mf_network *n = &m->networks[i];
		json_t *body;
		int rc;

		if (n->external)
			continue;
		body = json_pack("{s:s,s:b,s:{s:s}}", "Driver", n->driver, "Internal", n->internal,
		    "Labels", LABEL_PROJECT, m->project);
		rc = docker_network_ensure(c->d, n->name, body, err);
		json_decref(body);
		if (rc < 0)
			return -1;
		if (rc == 1)
			log_info("network", "name=%s created", n->name);
	}
	for (size_t i = 0; i < m->nvolumes; i++) {
		const struct mf_volume *v = &m->volumes[i];
		json_t *body, *opts;
		int rc;

		if (v->external)
			continue;
		opts = json_object();
		for (size_t k = 0; k < v->nopts; k++)
			json_object_set_new(opts, v->opts[k].key, json_string(v->opts[k].value));
		body = json_pack("{s:s,s:o,s:{s:s}}", "Driver", v->driver, "DriverOpts", opts,
		    "Labels", LABEL_PROJECT, m->project);
		rc = docker_volume_ensure(c->d, v->name, body, err);
		json_decref(body);
		if (rc < 0)
			return -1;
		if (rc == 1)
			log_info("volume", "name=%s created", v->name);
	}
	for (size_t i = 0; i < p->nnetworks; i++)
		if (p->networks[i].external)
			return errf(err, "external network '%s' does not exist", p->networks[i].name);
	for (size_t i = 0; i < p->nvolumes; i++)
		if (p->volumes[i].external)
			return errf(err, "external volume '%s' does not exist", p->volumes[i].name);
	return 0;
}

static const struct plan_service *
plan_for(const struct plan *p, const char *service)
{
	for (size_t i = 0; i < p->nservices; i++)
		if (strcmp(p->services[i].service, service) == 0 &&
		    p->services[i].action != PLAN_REMOVE)
			return &p->services[i];
	return NULL;
}

/* The backup a service asks for before it is replaced: the old container
 * keeps serving when it fails, and this service's rollout does not start. */
static int
backup_before(struct ctx *c, const struct mf_service *s, char *err)
{
	const struct mf_backup *b;
	char e[ERR_LEN];
	int rc;

	if (!s->backup_before_deploy)
		return 0;
	if (!(b = manifest_backup(c->ds->m, s->backup_before_deploy)))
		return errf(err, "backup '%s' before deploy: not in the manifest",
		    s->backup_before_deploy);
	log_info("rollout", "service=%s backup=%s before deploy", s->name, b->name);
	if (c->o->backup) {
		rc = c->o->backup(b, c->d, e, c->o->backup_payload);
	} else {
		struct backup_options bo = BACKUP_OPTIONS_INIT;
		struct backup_result res;

		bo.trigger = "before-deploy";
		if ((rc = backup_run(c->d, c->ds->m, b, &bo, &res, e)) == 0)
			backup_result_release(&res);
	}
	if (rc < 0) {
		char *prefix = xasprintf("backup '%s': ", b->name);
		size_t n = strlen(prefix);

		errf(err, "backup '%s' before deploy failed, old container kept: %s (fix that and "
		    "run reconcilerctl sync --retry, or roll out without the backup: remove "
		    "services.%s.backup_before_deploy in a commit)", b->name,
		    strncmp(e, prefix, n) == 0 ? e + n : e, s->name);
		free(prefix);
		return -1;
	}
	return 0;
}

/* One service's rollout; runs in a worker with its own engine handle. */
static void
run_service(struct ctx *c, const struct plan *p, size_t i, const int *failed,
    struct converge_service *cs)
{
	const struct manifest *m = c->ds->m;
	const struct desired_service *dsv = &c->ds->services[i];
	const struct plan_service *ps = plan_for(p, dsv->svc->name);
	char e[ERR_LEN] = "";
	long long t0 = now_ms();
	size_t j;
	json_t *x;
	int rc = 0;

	cs->service = xstrdup(dsv->svc->name);
	cs->action = ps ? ps->action : PLAN_IN_SYNC;
	if (!ps)
		return;
	/* Duplicates and rollout leftovers go first, whatever else happens. */
	json_array_foreach(ps->extra_ids, j, x) {
		if (stop_and_remove(c, json_string_value(x), dsv->svc, e) < 0)
			log_warn("cleanup", "service=%s %s", dsv->svc->name, e);
		else {
			cs->extras++;
			log_info("cleanup", "service=%s removed extra container %.12s",
			    dsv->svc->name, json_string_value(x));
		}
	}
	if (ps->action == PLAN_IN_SYNC)
		return;
	if (c->o->stop && *c->o->stop) {
		cs->outcome = CONVERGE_SKIPPED;
		cs->reason = xstrdup("shutting down");
		return;
	}
	for (size_t dj = 0; dj < dsv->svc->ndepends_on; dj++) {
		const struct mf_service *dep = manifest_service(m, dsv->svc->depends_on[dj]);

		if (dep && failed[dep - m->services]) {
			rc = errf(e, "dependency '%s' failed", dep->name);
			cs->outcome = CONVERGE_BLOCKED;
		}
	}
	if (rc == 0) {
		log_info("rollout", "service=%s action=%s", dsv->svc->name,
		    plan_action_name(ps->action));
		switch (ps->action) {
		case PLAN_CREATE:
			rc = do_create(c, dsv, e);
			break;
		case PLAN_RECREATE:
			if ((rc = backup_before(c, dsv->svc, e)) < 0) {
				cs->outcome = CONVERGE_BLOCKED;
				break;
			}
			rc = do_recreate(c, dsv, ps, e);
			break;
		case PLAN_START:
			rc = do_start(c, dsv, ps, e);
			break;
		case PLAN_BLOCKED:
			rc = errf(e, "a container not managed by this project holds the name %s",
			    dsv->name);
			cs->outcome = CONVERGE_BLOCKED;
			break;
		default:
			break;
		}
	}
	cs->ms = now_ms() - t0;
	if (rc < 0) {
		if (cs->outcome != CONVERGE_BLOCKED)
			cs->outcome = CONVERGE_FAILED;
		cs->reason = xstrdup(e);
		log_error("rollout", "service=%s outcome=%s reason=\"%s\"", dsv->svc->name,
		    converge_outcome_name(cs->outcome), e);
	} else {
		cs->outcome = CONVERGE_OK;
		log_info("rollout", "service=%s outcome=ok ms=%lld", dsv->svc->name, cs->ms);
	}
}

/* The scheduler: services start in dependency order, as soon as everything
 * they depend on is done, at most `concurrency` at once. */
struct sched {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ctx *base;
	const struct plan *p;
	size_t *order;
	int *state;		/* 0 waiting, 1 running, 2 done */
	int *failed;
	struct converge_service *slots;
	size_t n;
};

static int
ready(struct sched *sc, size_t i)
{
	const struct manifest *m = sc->base->ds->m;
	const struct mf_service *s = &m->services[i];

	for (size_t d = 0; d < s->ndepends_on; d++) {
		const struct mf_service *dep = manifest_service(m, s->depends_on[d]);

		if (dep && dep != s && sc->state[dep - m->services] != 2)
			return 0;
	}
	return 1;
}

struct worker_arg {
	struct sched *sc;
	int own_handle;
};

static void *
worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct sched *sc = wa->sc;
	struct ctx c = *sc->base;
	struct docker *own = NULL;
	char err[ERR_LEN];

	/* An engine handle is one thread's at a time: extra workers open theirs;
	 * one that cannot simply takes no work (the others carry on). */
	if (wa->own_handle) {
		if (docker_open(&own, c.o->docker, err) < 0) {
			log_warn("rollout", "worker: %s", err);
			return NULL;
		}
		c.d = own;
	}
	pthread_mutex_lock(&sc->mu);
	for (;;) {
		size_t pick = (size_t)-1, left = 0;

		for (size_t k = 0; k < sc->n; k++) {
			size_t i = sc->order[k];

			if (sc->state[i] != 2)
				left++;
			if (sc->state[i] == 0 && pick == (size_t)-1 && ready(sc, i))
				pick = i;
		}
		if (!left)
			break;
		if (pick == (size_t)-1) {
			pthread_cond_wait(&sc->cv, &sc->mu);
			continue;
		}
		sc->state[pick] = 1;
		pthread_mutex_unlock(&sc->mu);
		run_service(&c, sc->p, pick, sc->failed, &sc->slots[pick]);
		pthread_mutex_lock(&sc->mu);
		if (sc->slots[pick].outcome == CONVERGE_FAILED ||
		    sc->slots[pick].outcome == CONVERGE_BLOCKED)
			sc->failed[pick] = 1;
		sc->state[pick] = 2;
		pthread_cond_broadcast(&sc->cv);
	}
	pthread_mutex_unlock(&sc->mu);
	docker_free(own);
	return NULL;
}

int
converge_apply(struct docker *d, const struct desired *ds, const struct plan *p,
    const struct secrets *sec, const struct converge_options *o, struct converge_report *rep,
    char *err)
{
	struct ctx c = { d, ds, sec, o };
	const struct manifest *m = ds->m;
	struct sched sc;
	pthread_t tids[64];
	struct worker_arg main_arg, extra_arg;
	size_t nthreads = 0, want;

	memset(rep, 0, sizeof(*rep));
	rep->services = xcalloc(p->nservices + m->nservices + 1, sizeof(*rep->services));
	if (ensure_resources(&c, p, err) < 0)
		return -1;
	memset(&sc, 0, sizeof(sc));
	pthread_mutex_init(&sc.mu, NULL);
	pthread_cond_init(&sc.cv, NULL);
	sc.base = &c;
	sc.p = p;
	sc.n = m->nservices;
	sc.order = manifest_topo_order(m);
	sc.state = xcalloc(sc.n + 1, sizeof(*sc.state));
	sc.failed = xcalloc(sc.n + 1, sizeof(*sc.failed));
	sc.slots = xcalloc(sc.n + 1, sizeof(*sc.slots));
	want = o->concurrency > 1 && o->docker ? (size_t)o->concurrency : 1;
	if (want > sc.n)
		want = sc.n ? sc.n : 1;
	if (want > sizeof(tids) / sizeof(tids[0]))
		want = sizeof(tids) / sizeof(tids[0]);
	/* The calling thread is a worker too, with the caller's handle. */
	main_arg.sc = extra_arg.sc = &sc;
	main_arg.own_handle = 0;
	extra_arg.own_handle = 1;
	for (size_t t = 1; t < want; t++)
		if (pthread_create(&tids[nthreads], NULL, worker, &extra_arg) == 0)
			nthreads++;
	worker(&main_arg);
	for (size_t t = 0; t < nthreads; t++)
		pthread_join(tids[t], NULL);
	for (size_t k = 0; k < sc.n; k++) {
		size_t i = sc.order[k];

		if (!sc.slots[i].service)
			continue;
		rep->services[rep->nservices++] = sc.slots[i];
		if (sc.slots[i].outcome == CONVERGE_FAILED || sc.slots[i].outcome == CONVERGE_BLOCKED)
			rep->failed++;
		if ((sc.slots[i].action != PLAN_IN_SYNC && sc.slots[i].outcome != CONVERGE_SKIPPED) ||
		    sc.slots[i].extras)
			rep->changed++;
	}
	free(sc.slots);
	free(sc.state);
	free(sc.failed);
	free(sc.order);
	pthread_mutex_destroy(&sc.mu);
	pthread_cond_destroy(&sc.cv);

	/* Services no longer in the manifest: containers go, volumes stay. */
	for (size_t i = 0; i < p->nservices; i++) {
		const struct plan_service *ps = &p->services[i];
		struct converge_service *cs;
		char e[ERR_LEN];
		size_t j;
		json_t *x;

		if (ps->action != PLAN_REMOVE || (o->stop && *o->stop))
			continue;
		cs = &rep->services[rep->nservices++];
		cs->service = xstrdup(ps->service);
		cs->action = PLAN_REMOVE;
		cs->outcome = CONVERGE_OK;
		rep->changed++;
		if (stop_and_remove(&c, ps->id, NULL, e) < 0) {
			cs->outcome = CONVERGE_FAILED;
			cs->reason = xstrdup(e);
			rep->failed++;
		}
		json_array_foreach(ps->extra_ids, j, x)
			stop_and_remove(&c, json_string_value(x), NULL, e);
		log_info("remove", "service=%s container=%s outcome=%s (volumes kept)", ps->service,
		    ps->container, converge_outcome_name(cs->outcome));
	}
	return 0;
}

void
converge_report_release(struct converge_report *rep)
{
	for (size_t i = 0; i < rep->nservices; i++) {
		free(rep->services[i].service);
		free(rep->services[i].reason);
	}
	free(rep->services);
	memset(rep, 0, sizeof(*rep));
}
