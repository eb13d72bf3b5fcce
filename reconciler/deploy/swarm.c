/*
 * swarm: the Swarm-services backend (backend.h). Each manifest service is one
 * Swarm service named "<project>-<service>", labelled like a container with
 * its spec; Swarm runs its tasks, and its own rolling update is the gate: a
 * task must start (and pass its healthcheck) and run `monitor` without
 * failing, else Swarm rolls the service back, which is a failed rollout here.
 *
 * The engine must be a swarm manager. Networks are overlay networks of the
 * project, secrets are Swarm secrets named by the digest of their value (a
 * Swarm secret cannot change: a new value is a new secret, and the old one is
 * removed once no service of the project uses it). Volumes are never removed.
 */
#include "backend.h"
#include "durations.h"
#include "log.h"
#include "spec.h"
#include "swarm_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_SECRET "io.reconciler.secret"

/* "this node is not a swarm manager": say which engine, what it is and the
 * ways out. */
static int
not_manager(struct docker *d, const char *project, char *err)
{
	struct docker_swarm_info si;
	char e[ERR_LEN];

	if (docker_swarm_info(d, &si, e) < 0)
		return -1;
	if (si.manager)
		return 0;
	return errf(err, "backend swarm: this engine is not a swarm manager (its node is %s%s): run "
	    "`docker swarm init` on it, point docker_host at a manager, or set backend: "
	    "containers; nothing of project '%s' was touched", strcmp(si.state, "active") == 0 ?
	    "a worker" : si.state, strcmp(si.state, "active") == 0 ? "" : " in no swarm",
	    project);
}

/* A service listed with its status into a container-shaped row: the diff
 * sees one "container" per service, its labels the service's. */
static void
add_service(struct actual *a, json_t *svc, json_t *net_names)
{
	json_t *spec = json_object_get(svc, "Spec"), *raw, *mounts = json_array(), *mt;
	json_t *st = json_object_get(svc, "ServiceStatus");
	json_t *us = json_object_get(svc, "UpdateStatus");
	const char *ust = json_string_value(json_object_get(us, "State"));
	struct actual_ctr c;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.id = xstrdup(json_string_value(json_object_get(svc, "ID")));
	c.name = xstrdup(json_string_value(json_object_get(spec, "Name")));
	c.image = xstrdup(swarm__str(json_object_get(json_object_get(json_object_get(spec,
	    "TaskTemplate"), "ContainerSpec"), "Image")));
	c.state = xstrdup("running");
	c.status = xasprintf("tasks %lld/%lld running%s%s",
	    (long long)json_integer_value(json_object_get(st, "RunningTasks")),
	    (long long)json_integer_value(json_object_get(st, "DesiredTasks")),
	    ust ? ", update " : "", ust ? ust : "");
	if (ust && (strcmp(ust, "paused") == 0 || strcmp(ust, "rollback_paused") == 0))
		c.health = xstrdup("unhealthy");
	c.version = json_integer_value(json_object_get(json_object_get(svc, "Version"), "Index"));
	c.labels = json_object_get(spec, "Labels");
	c.labels = json_is_object(c.labels) ? json_deep_copy(c.labels) : json_object();
	/* the diff reads the volumes a removed service kept from Mounts[].Name */
	json_array_foreach(json_object_get(json_object_get(json_object_get(spec, "TaskTemplate"),
	    "ContainerSpec"), "Mounts"), i, mt)
		json_array_append_new(mounts, json_pack("{s:O?,s:O?}", "Type",
		    json_object_get(mt, "Type"), "Name", json_object_get(mt, "Source")));
	raw = json_pack("{s:o,s:O,s:O}", "Mounts", mounts, "Service", svc, "NetworkNames",
	    net_names);
	actual_add(a, &c, raw);
	json_decref(raw);
}

static int
list(struct docker *d, const char *project, struct actual *a, char *err)
{
	json_t *svcs = NULL, *n = NULL, *v = NULL, *it, *names = json_object();
	char *label = xasprintf("%s=%s", LABEL_PROJECT, project);
	int rc = -1;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (docker_services_list(d, label, &svcs, err) < 0) {
		if (strstr(err, "not a swarm manager") || strstr(err, "503"))
			not_manager(d, project, err);
		goto out;
	}
	if (docker_call(d, "GET", "/networks", NULL, &n, NULL, err) < 0 ||
	    docker_call(d, "GET", "/volumes", NULL, &v, NULL, err) < 0)
		goto out;
	json_array_foreach(n, i, it)
		if (json_is_string(json_object_get(it, "Id")) &&
		    json_is_string(json_object_get(it, "Name")))
			json_object_set(names, json_string_value(json_object_get(it, "Id")),
			    json_object_get(it, "Name"));
	json_array_foreach(svcs, i, it) {
		if (!json_is_string(json_object_get(it, "ID")) ||
		    !json_is_string(json_object_get(json_object_get(it, "Spec"), "Name"))) {
			errf(err, "engine: GET /services: an item has no ID or Spec.Name");
			actual_release(a);
			goto out;
		}
		add_service(a, it, names);
	}
	a->networks = actual_name_set(n, NULL);
	a->volumes = actual_name_set(v, "Volumes");
	rc = 0;
out:
	free(label);
	json_decref(names);
	json_decref(svcs);
	json_decref(n);
	json_decref(v);
	return rc;
}

/* Overlay networks (attachable, so a one-off container can join them) and
 * volumes on this node; a volume on another node is made by its engine when
 * a task lands there. */
static int
prepare(const struct deploy_ctx *c, const struct plan *p, char *err)
{
	const struct manifest *m = c->ds->m;

	if (not_manager(c->d, m->project, err) < 0)
		return -1;
	for (size_t i = 0; i < m->nnetworks; i++) {
		const struct mf_network *n = &m->networks[i];
		const char *driver = strcmp(n->driver, "bridge") == 0 ? "overlay" : n->driver;
		json_t *body;
		int rc;

		if (n->external)
			continue;
		body = json_pack("{s:s,s:b,s:b,s:{s:s}}", "Driver", driver, "Internal", n->internal,
		    "Attachable", 1, "Labels", LABEL_PROJECT, m->project);
		rc = docker_network_ensure(c->d, n->name, body, err);
		json_decref(body);
		if (rc < 0)
			return -1;
		if (rc == 1)
			log_info("network", "name=%s driver=%s created", n->name, driver);
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
	}
	for (size_t i = 0; i < p->nnetworks; i++)
		if (p->networks[i].external)
			return errf(err, "external network '%s' does not exist", p->networks[i].name);
	return 0;
}

/* The Swarm secrets the service's secret files need, created when missing:
 * {source: {"id", "name"}} into *out. */
static int
ensure_secrets(const struct deploy_ctx *c, const struct mf_service *s, json_t **out, char *err)
{
	const struct manifest *m = c->ds->m;
	json_t *have = NULL, *map = json_object(), *it;
	char *label = xasprintf("%s=%s", LABEL_PROJECT, m->project);
	int rc = -1;
	size_t i;

	*out = NULL;
	if (s->nsecrets && docker_secrets_list(c->d, label, &have, err) < 0)
		goto out;
	for (size_t k = 0; k < s->nsecrets; k++) {
		const char *raw, *id = NULL;
		size_t len;
		char *name, *newid = NULL;

		if (secretmap_get(c->sec, s->secrets[k].source, 0, &raw, &len, err) < 0)
			goto out;
		name = spec_swarm_secret_name(m, s, s->secrets[k].source, raw, len);
		json_array_foreach(have, i, it)
			if (strcmp(swarm__str(json_object_get(json_object_get(it, "Spec"), "Name")),
			    name) == 0)
				id = json_string_value(json_object_get(it, "ID"));
		if (!id) {
			json_t *labels = json_pack("{s:s,s:s,s:s}", LABEL_PROJECT, m->project,
			    LABEL_SERVICE, s->name, LABEL_SECRET, s->secrets[k].source);

			if (docker_secret_create(c->d, name, raw, len, labels, &newid, err) < 0) {
				json_decref(labels);
				free(name);
				goto out;
			}
			json_decref(labels);
			log_info("secret", "service=%s secret=%s created", s->name, name);
			id = newid;
		}
		json_object_set_new(map, s->secrets[k].source, json_pack("{s:s,s:s}", "id", id,
		    "name", name));
		free(newid);
		free(name);
	}
	*out = map;
	map = NULL;
	rc = 0;
out:
	free(label);
	json_decref(have);
	json_decref(map);
	return rc;
}

/* After a good rollout: the service's Swarm secrets it no longer uses go
 * (one the engine still sees in use stays, and is tried again next time). */
static void
prune_secrets(const struct deploy_ctx *c, const struct mf_service *s, const json_t *keep)
{
	const struct manifest *m = c->ds->m;
	char *label = xasprintf("%s=%s", LABEL_SERVICE, s->name), e[ERR_LEN];
	json_t *have = NULL, *it, *ref;
	const char *src;
	size_t i;

	if (docker_secrets_list(c->d, label, &have, e) < 0)
		goto out;
	json_array_foreach(have, i, it) {
		json_t *labels = json_object_get(json_object_get(it, "Spec"), "Labels");
		const char *name = json_string_value(json_object_get(json_object_get(it, "Spec"),
		    "Name"));
		int used = 0;

		if (!name || strcmp(swarm__str(json_object_get(labels, LABEL_PROJECT)), m->project) != 0)
			continue;
		json_object_foreach((json_t *)keep, src, ref)
			used |= strcmp(json_string_value(json_object_get(ref, "name")), name) == 0;
		if (used)
			continue;
		if (docker_secret_remove(c->d, json_string_value(json_object_get(it, "ID")), e) < 0)
			log_info("secret", "service=%s secret=%s kept: %s", s->name, name, e);
		else
			log_info("secret", "service=%s secret=%s removed (no longer used)", s->name,
			    name);
	}
out:
	free(label);
	json_decref(have);
}

/* The service's ServiceSpec, its task template marked with its own hash so
 * the tasks of this version can be told from the old ones. */
static int
service_body(const struct deploy_ctx *c, const struct mf_service *s, const json_t *secrets,
    json_t **out, char th[65], char *err)
{
	json_t *tt;

	if (spec_swarm_service(c->ds->m, s, c->sec, c->o->revision, secrets, out, err) < 0)
		return -1;
	tt = json_object_get(*out, "TaskTemplate");
	spec_hash(tt, th);
	json_object_set_new(json_object_get(json_object_get(tt, "ContainerSpec"), "Labels"),
	    SWARM_LABEL_TASK_HASH, json_string(th));
	return 0;
}

static int
run_hooks(const struct deploy_ctx *c, const struct mf_service *s, const json_t *secrets,
    char *err)
{
	for (size_t i = 0; i < s->nhooks; i++) {
		json_t *body = NULL;
		int rc;

		if (spec_swarm_hook(c->ds->m, s, &s->hooks[i], c->sec, c->o->revision, secrets, &body,
		    err) < 0)
			return -1;
		rc = swarm__run_job(c->d, s, &s->hooks[i], body, err);
		json_decref(body);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
do_create(const struct deploy_ctx *c, const struct desired_service *dsv, char *err)
{
	const struct mf_service *s = dsv->svc;
	json_t *secrets = NULL, *body = NULL;
	char *id = NULL, th[65], e2[ERR_LEN];
	int rc = -1;

	if (ensure_secrets(c, s, &secrets, err) < 0 || run_hooks(c, s, secrets, err) < 0 ||
	    service_body(c, s, secrets, &body, th, err) < 0)
		goto out;
	if (docker_image_pull(c->d, s->image, err) < 0)
		goto out;
	if (docker_service_create(c->d, body, &id, err) < 0)
		goto out;
	deploy_crash_point(c->o, "created");
	log_info("swarm", "service=%s created %.12s, waiting for its tasks", s->name, id);
	if (swarm__follow(c->d, id, s, th, NULL, err) < 0) {
		/* nothing served before: the failed service goes, so the next try
		 * starts clean */
		if (docker_service_remove(c->d, id, e2) < 0)
			log_warn("swarm", "service=%s cannot remove the failed service: %s", s->name,
			    e2);
		goto out;
	}
	rc = 0;
out:
	free(id);
	json_decref(body);
	json_decref(secrets);
	return rc;
}

static int
do_update(const struct deploy_ctx *c, const struct desired_service *dsv,
    const struct plan_service *ps, char *err)
{
	const struct mf_service *s = dsv->svc;
	json_t *secrets = NULL, *body = NULL, *before = NULL;
	char th[65];
	int rc = -1, have;

	if (ensure_secrets(c, s, &secrets, err) < 0 || run_hooks(c, s, secrets, err) < 0 ||
	    service_body(c, s, secrets, &body, th, err) < 0)
		goto out;
	if (docker_image_pull(c->d, s->image, err) < 0)
		goto out;
	if ((have = docker_service_inspect(c->d, ps->id, &before, err)) < 0)
		goto out;
	if (have == 1) {
		/* removed since it was listed: created anew */
		rc = do_create(c, dsv, err);
		goto out;
	}
	/* the version the plan was made from: a change since (docker service
	 * update by hand) makes the engine refuse, and the next cycle sees it */
	if (docker_service_update(c->d, ps->id, ps->version ? ps->version :
	    json_integer_value(json_object_get(json_object_get(before, "Version"), "Index")),
	    body, err) < 0) {
		if (strstr(err, "changed by someone else"))
			rc = BACKEND_BLOCKED;
		goto out;
	}
	log_info("swarm", "service=%s update sent, following it", s->name);
	if (swarm__follow(c->d, ps->id, s, th, before, err) < 0)
		goto out;
	prune_secrets(c, s, secrets);
	rc = 0;
out:
	json_decref(before);
	json_decref(body);
	json_decref(secrets);
	return rc;
}

/* Each service whose hash matches is built again and compared with what the
 * engine keeps (core/swarm_drift.c): a hand edit is found and put back. */
static int
drift(const struct desired *ds, const struct secretmap *sec, struct actual *a, char *err)
{
	for (size_t i = 0; i < a->ncontainers; i++) {
		struct actual_container *ac = &a->containers[i];
		const struct desired_service *dsv = NULL;
		json_t *names = json_object(), *body = NULL;
		const struct mf_service *s;
		char e[ERR_LEN];

		for (size_t k = 0; k < ds->nservices; k++)
			if (ac->service && strcmp(ds->services[k].svc->name, ac->service) == 0)
				dsv = &ds->services[k];
		if (!dsv || !ac->hash || strcmp(ac->hash, dsv->hash) != 0 ||
		    (ac->role && strcmp(ac->role, ROLE_PRIMARY) != 0)) {
			json_decref(names);
			continue;
		}
		s = dsv->svc;
		/* secrets compare by name (their digest); the IDs are the engine's */
		for (size_t k = 0; k < s->nsecrets; k++) {
			const char *raw;
			size_t len;
			char *name;

			if (secretmap_get(sec, s->secrets[k].source, 0, &raw, &len, e) < 0)
				break;
			name = spec_swarm_secret_name(ds->m, s, s->secrets[k].source, raw, len);
			json_object_set_new(names, s->secrets[k].source, json_pack("{s:s,s:s}", "id",
			    "-", "name", name));
			free(name);
		}
		if (spec_swarm_service(ds->m, s, sec, ac->revision, names, &body, e) == 0)
			spec_swarm_drift(body, json_object_get(json_object_get(ac->raw, "Service"),
			    "Spec"), json_object_get(ac->raw, "NetworkNames"), &ac->drift);
		json_decref(body);
		json_decref(names);
	}
	(void)err;
	return 0;
}

/* A service has no stopped state: Swarm keeps its tasks running. */
static int
do_start(const struct deploy_ctx *c, const struct desired_service *dsv,
    const struct plan_service *ps, char *err)
{
	(void)c;
	(void)dsv;
	(void)ps;
	(void)err;
	return 0;
}

static int
do_remove(const struct deploy_ctx *c, const char *id, const struct mf_service *s, char *err)
{
	(void)s;
	return docker_service_remove(c->d, id, err);
}

const struct backend_ops backend_swarm = {
	.name = "swarm",
	.target = SPEC_SWARM,
	.list = list,
	.drift = drift,
	.prepare = prepare,
	.create = do_create,
	.replace = do_update,
	.start = do_start,
	.remove = do_remove,
};
