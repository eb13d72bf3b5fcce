/*
 * containers: the standalone-container backend (backend.h), one container
 * per service, named "<project>-<service>" and labelled with its spec.
 *
 * Start-first (no host port): the new container is created as "<name>-next"
 * beside the old one, on the same networks but without the service's
 * aliases, and must pass its gate. Then it takes the aliases, the dependents
 * are reloaded, the old one is renamed "<name>-old" and the new one
 * "<name>" (it serves), and the old one leaves the networks. Stop-first
 * (host ports): the new container is created (not started) first, under the
 * aliases, then the old one is stopped but kept, the new one started and
 * gated; on failure it is removed and the old one started again; on success
 * the same two renames. Either way the old container is stopped and removed
 * after the new one serves, by converge (the leftover), so neither the
 * service nor the services waiting for it wait for that. Every step is
 * idempotent against what a crash can leave behind: the next cycle's diff
 * sees it and acts.
 */
#include "backend.h"
#include "gate.h"
#include "log.h"
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The engine's container list decoded into plain data. */
static int
decode(struct actual *a, json_t *containers, json_t *networks, json_t *volumes, char *err)
{
	size_t i;
	json_t *it;

	memset(a, 0, sizeof(*a));
	if (!json_is_array(containers))
		return errf(err, "engine: the container list is not a JSON array");
	json_array_foreach(containers, i, it) {
		struct docker_container dc;
		struct actual_ctr c = { 0 };

		if (docker_container_from_json(&dc, it, err) < 0) {
			docker_container_release(&dc);
			actual_release(a);
			return -1;
		}
		c.id = dc.id;
		c.name = dc.name;
		c.image = dc.image;
		c.image_id = dc.image_id;
		c.state = dc.state;
		c.status = dc.status;
		c.health = dc.health;
		c.created = dc.created;
		c.labels = dc.labels;
		actual_add(a, &c, it);
	}
	a->networks = actual_name_set(networks, NULL);
	a->volumes = actual_name_set(volumes, "Volumes");
	return 0;
}

/* A task container of a Swarm service of this project: the project runs on
 * the swarm backend here, and standalone containers beside it would be a
 * second copy of every service. */
static int
swarm_tasks_refused(const struct actual *a, const char *project, char *err)
{
	for (size_t i = 0; i < a->ncontainers; i++) {
		const struct actual_container *ac = &a->containers[i];
		const char *svc = json_string_value(json_object_get(ac->c.labels,
		    "com.docker.swarm.service.name"));

		/* an exited one may be left of a service removed since */
		if (svc && ac->project && strcmp(ac->project, project) == 0 &&
		    strcmp(ac->c.state, "running") == 0)
			return errf(err, "project '%s' runs as Swarm services on this engine "
			    "(container %s is a task of service %s): set backend: swarm, or remove "
			    "them with docker service rm; nothing was touched", project, ac->c.name,
			    svc);
	}
	return 0;
}

/* The three GETs a list makes: the containers whose name starts with
 * "<project>-" (every container of the project, and any foreign one holding
 * a name the project needs), the networks and the volumes (all of them: an
 * external one the manifest names must be seen). paths[0] is the caller's to
 * free. */
static void
list_paths(const char *project, const char *paths[3])
{
	json_t *f;
	char *filters, *esc;

	/* Project names are [a-z0-9_-]: nothing in them is special to the
	 * engine's name regex. The filter is applied by the engine, so a host
	 * full of other containers costs nothing here. */
	f = json_pack("{s:[o]}", "name", json_sprintf("^/?%s-", project));
	filters = json_dumps(f, JSON_COMPACT);
	esc = docker_escape(filters);
	paths[0] = xasprintf("/containers/json?all=1&filters=%s", esc);
	paths[1] = "/networks";
	paths[2] = "/volumes";
	free(esc);
	free(filters);
	json_decref(f);
}

static void
list_ahead(struct docker *d, const char *project)
{
	const char *paths[3];
	char err[ERR_LEN];

	list_paths(project, paths);
	docker_get_all_send(d, paths, 3, err);	/* list says what went wrong */
	free((char *)paths[0]);
}

/* Three calls at once, each on its own connection (the engine answers them
 * in parallel, so the list costs what the containers' costs), or the
 * answers to those list_ahead sent. */
static int
list(struct docker *d, const char *project, struct actual *a, char *err)
{
	json_t *got[3] = { NULL, NULL, NULL };
	const char *paths[3];
	int rc = -1;

	memset(a, 0, sizeof(*a));
	list_paths(project, paths);
	if (docker_get_all(d, paths, 3, got, err) < 0)
		goto out;
	if ((rc = decode(a, got[0], got[1], got[2], err)) == 0 &&
	    (rc = swarm_tasks_refused(a, project, err)) < 0)
		actual_release(a);
out:
	free((char *)paths[0]);
	for (size_t i = 0; i < 3; i++)
		json_decref(got[i]);
	return rc;
}

/* A removed service's container, a duplicate, or (c->cs set) the old
 * container a replace left. */
static int
stop_and_remove(const struct deploy_ctx *c, const char *id, const struct mf_service *s,
    char *err)
{
	int grace = s ? (int)((s->stop_grace + 999) / 1000) : 10;

	if (docker_container_stop(c->d, id, grace, err) < 0)
		return -1;
	deploy_step(c, STEP_OLD_STOPPED);
	if (c->cs)
		deploy_crash_point(c->o, "old-stopped");
	if (docker_container_remove(c->d, id, 0, err) < 0)
		return -1;
	deploy_step(c, STEP_OLD_REMOVED);
	return 0;
}

static int
create_container(const struct deploy_ctx *c, const struct desired_service *dsv,
    const char *name, int gated, char **id, char *err)
{
	json_t *cfg = NULL, *eps, *ep;
	const char *net;
	int rc;

	if (docker_image_pull(c->d, dsv->svc->image, err) < 0)
		return -1;
	deploy_step(c, STEP_PULLED);
	if (spec_container_config(c->ds->m, dsv->svc, c->sec, c->o->revision, ROLE_PRIMARY, &cfg,
	    err) < 0)
		return -1;
	/* A container under its gate beside the serving one is on the networks
	 * (it may need to reach its dependencies) but not under the service's
	 * aliases: no client is sent to a version that has not proven itself. */
	if (gated) {
		eps = json_object_get(json_object_get(cfg, "NetworkingConfig"), "EndpointsConfig");
		json_object_foreach(eps, net, ep)
			json_object_del(ep, "Aliases");
	}
	rc = docker_container_create(c->d, name, cfg, id, err);
	json_decref(cfg);
	if (rc == 0)
		deploy_step(c, STEP_CREATED);
	return rc;
}

/* After the gate: the new container takes the service's aliases (a network
 * endpoint's aliases are fixed, so it leaves and rejoins each network). */
static int
take_aliases(const struct deploy_ctx *c, const struct desired_service *dsv, const char *id,
    char *err)
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
run_hooks(const struct deploy_ctx *c, const struct desired_service *dsv, char *err)
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
notify_dependents(const struct deploy_ctx *c, const char *service)
{
	const struct manifest *m = c->ds->m;

	for (size_t i = 0; i < m->nservices; i++) {
		const struct mf_service *s = &m->services[i];
		char *name = spec_container_name(m, s);
		char err[ERR_LEN];

		for (size_t k = 0; !c->ds->services[i].elsewhere && k < s->non_dep; k++) {
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
gate_or_fail(const struct deploy_ctx *c, const char *id, const struct mf_service *s, char *err)
{
	log_info("gate", "service=%s waiting for the health gate", s->name);
	deploy_crash_point(c->o, "gating");
	if (gate_wait(c->d, id, s, err) < 0)
		return -1;
	if (s->probe.set && gate_probe(c->d, id, &s->probe, err) < 0)
		return -1;
	deploy_step(c, STEP_HEALTHY);
	return 0;
}

/* After the gate, off the serving path: when the container's first health
 * check ended, by the engine's clock (the oldest of the last checks it
 * keeps, so only while it keeps them all). */
static void
note_first_check(const struct deploy_ctx *c, const char *id)
{
	json_t *info = NULL, *logs;
	long long t;
	char e[ERR_LEN];

	if (!c->cs || docker_container_inspect(c->d, id, &info, e) != 0)
		goto out;
	logs = json_object_get(json_object_get(json_object_get(info, "State"), "Health"), "Log");
	if (json_array_size(logs) > 0 && json_array_size(logs) < 5 &&
	    docker_parse_time_ms(json_string_value(json_object_get(json_array_get(logs, 0),
	    "End")), &t) == 0)
		c->cs->steps[STEP_FIRST_CHECK] = t;
out:
	json_decref(info);
}

/* 1 when the container no longer exists (a stop or remove that failed with
 * 404 found nothing to do). */
static int
gone(const struct deploy_ctx *c, const char *id)
{
	json_t *info = NULL;
	char e[ERR_LEN];
	int rc = docker_container_inspect(c->d, id, &info, e);

	json_decref(info);
	return rc == 1;
}

/* Starts a container; a failure says what happened to it: removed under the
 * start (404, or 409 "marked for removal"), or the engine's reason. */
static int
start_container(const struct deploy_ctx *c, const char *id, char *err)
{
	char e[ERR_LEN];

	if (docker_container_start(c->d, id, e) == 0) {
		deploy_step(c, STEP_STARTED);
		return 0;
	}
	if (strstr(e, "marked for removal") || gone(c, id))
		return errf(err, "the container was removed before it could start (not by the "
		    "reconciler): %s", e);
	return errf(err, "start failed: %s", e);
}

static void
disconnect_all(const struct deploy_ctx *c, const char *id)
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
do_create(const struct deploy_ctx *c, const struct desired_service *dsv, char *err)
{
	char *id = NULL, e2[ERR_LEN];
	int rc = -1;

	if (run_hooks(c, dsv, err) < 0)
		return -1;
	if (create_container(c, dsv, dsv->name, 0, &id, err) < 0)
		return -1;
	deploy_crash_point(c->o, "created");
	if (start_container(c, id, err) < 0)
		goto fail;
	deploy_crash_point(c->o, "started");
	if (gate_or_fail(c, id, dsv->svc, err) < 0)
		goto fail;
	note_first_check(c, id);
	free(id);
	return 0;
fail:
	/* No old version to keep: remove the failed one so the next try is clean. */
	docker_container_stop(c->d, id, 1, e2);
	docker_container_remove(c->d, id, 1, e2);
	free(id);
	return rc;
}

/* A replacement that failed: the new container goes, and the old one, if
 * it was stopped for it (stop-first), is started and gated again. */
static void
rollback(const struct deploy_ctx *c, const struct mf_service *s, const struct plan_service *ps,
    const char *id, int old_stopped, const char *why)
{
	char e2[ERR_LEN];

	log_warn("rollback", "service=%s reason=\"%s\"", s->name, why);
	if (id) {
		docker_container_stop(c->d, id, 1, e2);
		docker_container_remove(c->d, id, 1, e2);
	}
	if (old_stopped) {
		if (docker_container_start(c->d, ps->id, e2) < 0)
			log_error("rollback", "service=%s cannot restart the old container: %s",
			    s->name, e2);
		else if (gate_wait(c->d, ps->id, s, e2) < 0)
			log_error("rollback", "service=%s the old container is not healthy either: %s",
			    s->name, e2);
	}
}

/* The old container, once the new one passed its gate: renamed out of the
 * new one's way and out of the networks; the new one holds the service's
 * name and serves. What is left of the old one (stop, remove) is converge's
 * (cs->leftover). A crash between two steps leaves what plan_one knows: a
 * "-old" beside the service's container, or a "-old" and a "-next" (the
 * healthy "-next" is kept, the "-old" goes). */
static int
cut_over(const struct deploy_ctx *c, const struct desired_service *dsv,
    const struct plan_service *ps, const char *id, int stop_first, char *err)
{
	char *old = xasprintf("%s-old", dsv->name);
	int rc = -1;

	if (!stop_first) {
		if (take_aliases(c, dsv, id, err) < 0)
			goto out;
		deploy_step(c, STEP_ALIASES);
	}
	notify_dependents(c, dsv->svc->name);
	/* (a "-old" may be what a crash left serving: it has the name already) */
	if ((!ps->container || strcmp(ps->container, old) != 0) &&
	    docker_container_rename(c->d, ps->id, old, err) < 0 && !gone(c, ps->id))
		goto out;
	deploy_crash_point(c->o, "renaming");
	if (docker_container_rename(c->d, id, dsv->name, err) < 0) {
		char e2[ERR_LEN];

		/* the roll back keeps the old one: under its name again */
		docker_container_rename(c->d, ps->id, dsv->name, e2);
		goto out;
	}
	deploy_step(c, STEP_RENAMED);
	if (!stop_first) {
		/* Out of the networks: its alias stops resolving to it at once,
		 * while stopping takes a while during which it would still be named. */
		disconnect_all(c, ps->id);
		deploy_step(c, STEP_CUT_OVER);
	}
	if (c->cs)
		c->cs->leftover = xstrdup(ps->id);
	else if (stop_and_remove(c, ps->id, dsv->svc, err) < 0 && !gone(c, ps->id))
		goto out;
	rc = 0;
out:
	free(old);
	return rc;
}

static int
do_recreate(const struct deploy_ctx *c, const struct desired_service *dsv,
    const struct plan_service *ps, char *err)
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
	/* Stop-first: the old one is stopped before the new one starts, so the
	 * new one may be created under the aliases (a stopped container has no
	 * name on the network; its host ports expose the new one from its start
	 * anyway), which saves leaving and joining each network after the gate. */
	if (create_container(c, dsv, next, !stop_first, &id, err) < 0)
		goto out;
	deploy_crash_point(c->o, "created");
	if (stop_first) {
		if (docker_container_stop(c->d, ps->id, (int)((s->stop_grace + 999) / 1000),
		    err) < 0)
			goto rollback;
		old_stopped = 1;
		deploy_step(c, STEP_OLD_STOPPED);
		deploy_crash_point(c->o, "old-stopped");
	}
	if (start_container(c, id, err) < 0)
		goto rollback;
	deploy_crash_point(c->o, "started");
	if (gate_or_fail(c, id, s, err) < 0)
		goto rollback;
	if (cut_over(c, dsv, ps, id, stop_first, err) < 0)
		goto rollback;
	note_first_check(c, id);
	rc = 0;
	goto out;
rollback:
	rollback(c, s, ps, id, old_stopped, err);
out:
	free(next);
	free(id);
	return rc;
}

static int
do_start(const struct deploy_ctx *c, const struct desired_service *dsv,
    const struct plan_service *ps, char *err)
{
	/* An adopted "-next" may have been cut short before it took the aliases. */
	if (strcmp(ps->container, dsv->name) != 0 &&
	    (take_aliases(c, dsv, ps->id, err) < 0 ||
	    docker_container_rename(c->d, ps->id, dsv->name, err) < 0))
		return -1;
	if (start_container(c, ps->id, err) < 0) {
		if (!gone(c, ps->id))
			return -1;
		/* removed since the list (docker rm -f): its spec, which is the
		 * desired one, is created again, in the same heal */
		log_info("rollout", "service=%s container %.12s is gone: created again",
		    dsv->svc->name, ps->id);
		return do_create(c, dsv, err);
	}
	return gate_or_fail(c, ps->id, dsv->svc, err);
}

/* 1 when the plan has name among the resources to create: the others were
 * in the engine's list the plan came from, and are not asked for again. */
static int
to_create(const struct plan_resource *r, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return 1;
	return 0;
}

static int
ensure_resources(const struct deploy_ctx *c, const struct plan *p, char *err)
{
	const struct manifest *m = c->ds->m;

	for (size_t i = 0; i < m->nnetworks; i++) {
		const struct mf_network *n = &m->networks[i];
		json_t *body;
		int rc;

		if (n->external || !desired_uses_network(c->ds, n->key) ||
		    !to_create(p->networks, p->nnetworks, n->name))
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

		if (v->external || !desired_uses_volume(c->ds, v->key) ||
		    !to_create(p->volumes, p->nvolumes, v->name))
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

const struct backend_ops backend_containers = {
	.name = "containers",
	.target = SPEC_CONTAINERS,
	.list = list,
	.list_ahead = list_ahead,
	.prepare = ensure_resources,
	.create = do_create,
	.replace = do_recreate,
	.start = do_start,
	.remove = stop_and_remove,
};
