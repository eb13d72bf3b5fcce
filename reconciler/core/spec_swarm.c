/*
 * spec_swarm: a service's spec as a Swarm ServiceSpec (see spec.h), and the
 * deploy settings in the canonical spec. Pure: the IDs of Swarm secrets come
 * in from the caller; nothing here talks to the engine.
 *
 * What the canonical spec holds on swarm, beyond a container's: mode and
 * replicas, placement, resources, and the update and rollback settings, which
 * Swarm keeps in the service (a change to them is an update of the service,
 * which restarts no task unless the task template changed).
 */
#include "spec_int.h"
#include "digest.h"
#include "durations.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *
order_name(enum mf_strategy s)
{
	return s == MF_STOP_FIRST ? "stop-first" : "start-first";
}

/* The order of an update: stop-first when the manifest says so, else
 * start-first (Swarm's ingress lets two tasks publish one port). */
static enum mf_strategy
update_order(const struct mf_service *s)
{
	return s->update.strategy_explicit ? s->update.strategy : MF_START_FIRST;
}

static json_t *
resources_json(const struct mf_resources *r, int pids)
{
	json_t *o = json_object();

	if (r->nano_cpus)
		json_object_set_new(o, "nano_cpus", json_integer(r->nano_cpus));
	if (r->memory)
		json_object_set_new(o, "memory", json_integer(r->memory));
	if (pids && r->pids)
		json_object_set_new(o, "pids", json_integer(r->pids));
	return o;
}

json_t *
spec__resources_canonical(const struct mf_deploy *dp)
{
	json_t *lim, *res;

	lim = resources_json(&dp->limits, 1);
	res = resources_json(&dp->reservations, 0);
	if (!json_object_size(lim) && !json_object_size(res)) {
		json_decref(lim);
		json_decref(res);
		return NULL;
	}
	return json_pack("{s:o,s:o}", "limits", lim, "reservations", res);
}

void
spec__container_resources(json_t *host, const struct mf_deploy *dp)
{
	if (dp->limits.nano_cpus)
		json_object_set_new(host, "NanoCpus", json_integer(dp->limits.nano_cpus));
	if (dp->limits.memory)
		json_object_set_new(host, "Memory", json_integer(dp->limits.memory));
	if (dp->limits.pids)
		json_object_set_new(host, "PidsLimit", json_integer(dp->limits.pids));
	if (dp->reservations.memory)
		json_object_set_new(host, "MemoryReservation", json_integer(dp->reservations.memory));
}

static json_t *
strings_json(char **v, size_t n, int sorted)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	if (sorted && n > 1) {
		/* a set: the order of constraints changes nothing */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0; j--) {
				json_t *x = json_array_get(a, j - 1), *y = json_array_get(a, j);

				if (strcmp(json_string_value(x), json_string_value(y)) <= 0)
					break;
				json_incref(x);
				json_array_set(a, j - 1, y);
				json_array_set_new(a, j, x);
			}
	}
	return a;
}

json_t *
spec__swarm_canonical(const struct mf_service *s)
{
	const struct mf_deploy *dp = &s->deploy;
	const struct mf_rollback *rb = &dp->rollback;
	json_t *o = json_object();

	json_object_set_new(o, "mode", json_string(dp->mode == MF_GLOBAL ? "global" :
	    "replicated"));
	if (dp->mode != MF_GLOBAL)
		json_object_set_new(o, "replicas", json_integer(dp->replicas < 0 ? 1 : dp->replicas));
	if (dp->dnsrr)
		json_object_set_new(o, "endpoint_mode", json_string("dnsrr"));
	json_object_set_new(o, "constraints", strings_json(dp->constraints, dp->nconstraints, 1));
	json_object_set_new(o, "spread", strings_json(dp->spread, dp->nspread, 0));
	json_object_set_new(o, "max_per_node", json_integer(dp->max_per_node));
	json_object_set_new(o, "limits", resources_json(&dp->limits, 1));
	json_object_set_new(o, "reservations", resources_json(&dp->reservations, 0));
	json_object_set_new(o, "update", json_pack("{s:s,s:i,s:I,s:I}", "order",
	    order_name(update_order(s)), "parallelism", s->update.parallelism ?
	    s->update.parallelism : 1, "delay", (json_int_t)s->update.delay, "monitor",
	    (json_int_t)s->update.min_ready));
	json_object_set_new(o, "rollback", json_pack("{s:s,s:i,s:I,s:I,s:s}", "order",
	    order_name(rb->order_explicit ? rb->order : update_order(s)), "parallelism",
	    rb->parallelism ? rb->parallelism : 1, "delay", (json_int_t)rb->delay, "monitor",
	    (json_int_t)(rb->monitor ? rb->monitor : s->update.min_ready), "failure_action",
	    rb->failure_action == MF_FAIL_CONTINUE ? "continue" : "pause"));
	return o;
}

char *
spec_swarm_secret_name(const struct manifest *m, const struct mf_service *s, const char *source,
    const char *value, size_t len)
{
	unsigned char md[DIGEST_SHA256_LEN];
	char hex[65];

	digest_sha256(value, len, md);
	hex_encode(md, sizeof(md), hex);
	hex[12] = '\0';
	return xasprintf("%s-%s-%s-%s", m->project, s->name, source, hex);
}

/* Nanoseconds of a duration the manifest bounds (it always fits). */
static json_t *
nanos(int64_t ms)
{
	int64_t ns = 0;

	durations_ns(ms, &ns);
	return json_integer((json_int_t)ns);
}

static json_t *
update_config(const struct mf_service *s, enum mf_strategy order, int parallelism, int64_t delay,
    int64_t monitor, const char *failure)
{
	return json_pack("{s:i,s:o,s:s,s:o,s:f,s:s}", "Parallelism", parallelism ? parallelism : 1,
	    "Delay", nanos(delay), "FailureAction", failure, "Monitor", nanos(monitor ? monitor :
	    s->update.min_ready), "MaxFailureRatio", 0.0, "Order", order_name(order));
}

static json_t *
restart_policy(const char *restart)
{
	if (!restart || strcmp(restart, "no") == 0)
		return json_pack("{s:s}", "Condition", "none");
	if (strncmp(restart, "on-failure", 10) == 0)
		return json_pack("{s:s,s:i}", "Condition", "on-failure", "MaxAttempts",
		    restart[10] == ':' ? (int)strtol(restart + 11, NULL, 10) : 0);
	return json_pack("{s:s}", "Condition", "any");
}

static json_t *
placement(const struct mf_deploy *dp)
{
	json_t *prefs = json_array(), *p;

	for (size_t i = 0; i < dp->nspread; i++)
		json_array_append_new(prefs, json_pack("{s:{s:s}}", "Spread", "SpreadDescriptor",
		    dp->spread[i]));
	p = json_pack("{s:o,s:o}", "Constraints", strings_json(dp->constraints, dp->nconstraints,
	    1), "Preferences", prefs);
	if (dp->max_per_node)
		json_object_set_new(p, "MaxReplicas", json_integer(dp->max_per_node));
	return p;
}

static json_t *
resources_engine(const struct mf_deploy *dp)
{
	json_t *lim = json_object(), *res = json_object();

	if (dp->limits.nano_cpus)
		json_object_set_new(lim, "NanoCPUs", json_integer(dp->limits.nano_cpus));
	if (dp->limits.memory)
		json_object_set_new(lim, "MemoryBytes", json_integer(dp->limits.memory));
	if (dp->limits.pids)
		json_object_set_new(lim, "Pids", json_integer(dp->limits.pids));
	if (dp->reservations.nano_cpus)
		json_object_set_new(res, "NanoCPUs", json_integer(dp->reservations.nano_cpus));
	if (dp->reservations.memory)
		json_object_set_new(res, "MemoryBytes", json_integer(dp->reservations.memory));
	return json_pack("{s:o,s:o}", "Limits", lim, "Reservations", res);
}

/* Mounts (volumes and binds) and the Swarm secrets as files. */
static int
container_files(json_t *cs, const struct manifest *m, const struct mf_service *s,
    const json_t *secrets, char *err)
{
	json_t *mounts = json_array(), *files = json_array();

	json_object_set_new(cs, "Mounts", mounts);
	json_object_set_new(cs, "Secrets", files);
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct mf_mount *mt = &s->mounts[i];
		const struct mf_volume *v = mt->bind ? NULL : manifest_volume(m, mt->source);

		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type",
		    mt->bind ? "bind" : "volume", "Source", v ? v->name : mt->source, "Target",
		    mt->target, "ReadOnly", mt->ro));
	}
	for (size_t i = 0; i < s->nsecrets; i++) {
		const struct mf_secret *se = &s->secrets[i];
		json_t *ref = json_object_get(secrets, se->source);
		const char *id = json_string_value(json_object_get(ref, "id"));
		const char *name = json_string_value(json_object_get(ref, "name"));

		if (!id || !name)
			return errf(err, "service '%s': secret '%s' has no Swarm secret", s->name,
			    se->source);
		json_array_append_new(files, json_pack("{s:{s:s,s:s,s:s,s:i},s:s,s:s}", "File",
		    "Name", se->target, "UID", "0", "GID", "0", "Mode", se->mode ? se->mode : 0444,
		    "SecretID", id, "SecretName", name));
	}
	return 0;
}

/* TaskTemplate.ContainerSpec: image, command, env (real values), user,
 * directory, labels, healthcheck, stop grace, files. */
static int
container_spec(json_t **out, const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, const char *revision, const json_t *secrets, char *err)
{
	json_t *values = json_object(), *spec = NULL, *cs = json_object(), *env, *j, *labels;
	const char *key;
	int rc = -1;

	if (spec__build(m, s, sec, SPEC_SWARM, &spec, values, err) < 0)
		goto out;
	json_object_set_new(cs, "Image", json_string(s->image));
	if (json_is_array(j = json_object_get(spec, "entrypoint")))
		json_object_set(cs, "Command", j);
	if (json_is_array(j = json_object_get(spec, "command")))
		json_object_set(cs, "Args", j);
	env = json_array();
	json_object_foreach(values, key, j)
		json_array_append_new(env, json_sprintf("%s=%s", key, json_string_value(j)));
	json_object_set_new(cs, "Env", env);
	if (s->user)
		json_object_set_new(cs, "User", json_string(s->user));
	if (s->working_dir)
		json_object_set_new(cs, "Dir", json_string(s->working_dir));
	/* a task's container carries who it is, not the whole spec: the
	 * service holds that */
	labels = spec__labels(m, s, spec, revision, ROLE_PRIMARY);
	json_object_del(labels, LABEL_SPEC);
	json_object_del(labels, LABEL_HASH);
	json_object_set_new(cs, "Labels", labels);
	json_object_set_new(cs, "StopGracePeriod", nanos(s->stop_grace));
	if (spec__health(cs, s, spec, err) < 0 || container_files(cs, m, s, secrets, err) < 0)
		goto out;
	*out = cs;
	cs = NULL;
	rc = 0;
out:
	json_decref(cs);
	json_decref(spec);
	json_decref(values);
	return rc;
}

static json_t *
task_networks(const struct manifest *m, const struct mf_service *s)
{
	json_t *nets = json_array();

	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct mf_netref *r = &s->networks[i];
		const struct mf_network *net = manifest_network(m, r->name);
		json_t *al = json_array();

		json_array_append_new(al, json_string(s->name));
		for (size_t k = 0; k < r->naliases; k++)
			if (strcmp(r->aliases[k], s->name) != 0)
				json_array_append_new(al, json_string(r->aliases[k]));
		json_array_append_new(nets, json_pack("{s:s,s:o}", "Target",
		    net ? net->name : r->name, "Aliases", al));
	}
	return nets;
}

/* vip: one virtual address, ports on Swarm's ingress (every node). dnsrr: the
 * name resolves to the tasks' own addresses, and a port is published on the
 * node that runs the task (Swarm allows no ingress without a virtual IP). */
static json_t *
endpoint_spec(const struct mf_service *s)
{
	json_t *ports = json_array();
	int dnsrr = s->deploy.dnsrr;

	for (size_t i = 0; i < s->nports; i++)
		json_array_append_new(ports, json_pack("{s:s,s:i,s:i,s:s}", "Protocol",
		    s->ports[i].proto, "TargetPort", s->ports[i].container_port, "PublishedPort",
		    s->ports[i].host_port, "PublishMode", dnsrr ? "host" : "ingress"));
	return json_pack("{s:s,s:o}", "Mode", dnsrr ? "dnsrr" : "vip", "Ports", ports);
}

int
spec_swarm_service(const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, const char *revision, const json_t *secrets, json_t **out,
    char *err)
{
	const struct mf_deploy *dp = &s->deploy;
	const struct mf_rollback *rb = &dp->rollback;
	json_t *cs = NULL, *spec = NULL, *svc, *tt, *logopts, *mode;

	*out = NULL;
	if (container_spec(&cs, m, s, sec, revision, secrets, err) < 0 ||
	    spec__build(m, s, sec, SPEC_SWARM, &spec, NULL, err) < 0) {
		json_decref(cs);
		return -1;
	}
	logopts = json_object();
	for (size_t i = 0; i < s->nlog_opts; i++)
		json_object_set_new(logopts, s->log_opts[i].key, json_string(s->log_opts[i].value));
	tt = json_pack("{s:o,s:o,s:o,s:o,s:o,s:{s:s,s:o}}", "ContainerSpec", cs, "Resources",
	    resources_engine(dp), "RestartPolicy", restart_policy(s->restart), "Placement",
	    placement(dp), "Networks", task_networks(m, s), "LogDriver", "Name", s->log_driver,
	    "Options", logopts);
	if (dp->mode == MF_GLOBAL)
		mode = json_pack("{s:{}}", "Global");
	else
		mode = json_pack("{s:{s:i}}", "Replicated", "Replicas", dp->replicas < 0 ? 1 :
		    dp->replicas);
	svc = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "Name", json_sprintf("%s-%s",
	    m->project, s->name), "Labels", spec__labels(m, s, spec, revision, ROLE_PRIMARY),
	    "TaskTemplate", tt, "Mode", mode, "UpdateConfig", update_config(s, update_order(s),
	    s->update.parallelism, s->update.delay, s->update.min_ready, "rollback"),
	    "RollbackConfig", update_config(s, rb->order_explicit ? rb->order : update_order(s),
	    rb->parallelism, rb->delay, rb->monitor, rb->failure_action == MF_FAIL_CONTINUE ?
	    "continue" : "pause"), "EndpointSpec", endpoint_spec(s));
	json_decref(spec);
	*out = svc;
	return 0;
}

int
spec_swarm_hook(const struct manifest *m, const struct mf_service *s, const struct mf_hook *h,
    const struct secretmap *sec, const char *revision, const json_t *secrets, json_t **out,
    char *err)
{
	json_t *svc, *tt, *cs, *cmd;

	if (spec_swarm_service(m, s, sec, revision, secrets, &svc, err) < 0)
		return -1;
	tt = json_object_get(svc, "TaskTemplate");
	cs = json_object_get(tt, "ContainerSpec");
	if (h->image)
		json_object_set_new(cs, "Image", json_string(h->image));
	cmd = json_array();
	if (h->command.shell) {
		json_array_append_new(cmd, json_string("/bin/sh"));
		json_array_append_new(cmd, json_string("-c"));
	}
	for (size_t i = 0; i < h->command.argc; i++)
		json_array_append_new(cmd, json_string(h->command.argv[i]));
	json_object_set_new(cs, "Command", cmd);
	json_object_del(cs, "Args");
	json_object_del(cs, "Healthcheck");
	json_object_set_new(json_object_get(cs, "Labels"), LABEL_ROLE, json_string(ROLE_HOOK));
	json_object_set_new(json_object_get(svc, "Labels"), LABEL_ROLE, json_string(ROLE_HOOK));
	json_object_set_new(tt, "RestartPolicy", json_pack("{s:s}", "Condition", "none"));
	json_object_set_new(svc, "Name", json_sprintf("%s-%s-hook-%s", m->project, s->name,
	    h->name));
	json_object_set_new(svc, "Mode", json_pack("{s:{s:i,s:i}}", "ReplicatedJob",
	    "MaxConcurrent", 1, "TotalCompletions", 1));
	json_object_del(svc, "UpdateConfig");
	json_object_del(svc, "RollbackConfig");
	json_object_set_new(svc, "EndpointSpec", json_pack("{s:s}", "Mode", "vip"));
	*out = svc;
	return 0;
}
