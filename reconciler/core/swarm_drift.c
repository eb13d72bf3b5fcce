/*
 * swarm_drift: a Swarm service changed by hand (`docker service update`,
 * `docker service scale`) keeps the labels of the spec it was made from, so
 * its hash says nothing. What the reconciler sent is built again and both
 * sides are reduced to the fields the reconciler sets, each absent field read
 * as its zero (the engine leaves zeros out), then compared field by field.
 * Pure: the network names of the actual side come from the caller.
 */
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static json_t *
get(json_t *j, const char *path)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
		j = json_object_get(j, tok);
	return j;
}

static json_t *
str0(json_t *j, const char *path)
{
	const char *s = json_string_value(get(j, path));

	return json_string(s ? s : "");
}

static json_t *
int0(json_t *j, const char *path)
{
	return json_integer(json_integer_value(get(j, path)));
}

static int
cmp_dump(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list as a sorted array of the compact text of its items (a set), each
 * item reduced to keys when keys is given. */
static json_t *
set_of(json_t *arr, const char *const *keys)
{
	size_t n = json_array_size(arr), i;
	char **v = xcalloc(n + 1, sizeof(*v));
	json_t *out = json_array(), *it;

	json_array_foreach(arr, i, it) {
		json_t *r = it;

		if (keys) {
			r = json_object();
			for (const char *const *k = keys; *k; k++) {
				json_t *x = get(it, *k);

				if (x && !json_is_null(x) && !(json_is_integer(x) && !json_integer_value(x)) &&
				    !(json_is_false(x)))
					json_object_set(r, *k, x);
			}
		}
		v[i] = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		if (keys)
			json_decref(r);
	}
	qsort(v, n, sizeof(*v), cmp_dump);
	for (i = 0; i < n; i++) {
		json_array_append_new(out, json_string(v[i]));
		free(v[i]);
	}
	free(v);
	return out;
}

static json_t *
obj0(json_t *j, const char *path)
{
	json_t *o = get(j, path);

	return json_is_object(o) && json_object_size(o) ? json_incref(o) : json_object();
}

/* Labels but the io.reconciler.* ones, which name the revision that made
 * the service: a newer revision that leaves it alone is no drift. */
static json_t *
own_labels(json_t *labels)
{
	json_t *o = json_object(), *v;
	const char *k;

	json_object_foreach(labels, k, v)
		if (strncmp(k, "io.reconciler.", 14) != 0)
			json_object_set(o, k, v);
	return o;
}

static json_t *
update_of(json_t *u)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "parallelism", int0(u, "Parallelism"), "delay",
	    int0(u, "Delay"), "failure_action", str0(u, "FailureAction"), "monitor",
	    int0(u, "Monitor"), "order", str0(u, "Order"));
}

/* The fields the reconciler sets, each under the name a user knows. nets is
 * the service's networks as names (the engine keeps IDs). */
static json_t *
reduce(json_t *spec, json_t *nets)	/* takes nets */
{
	static const char *const mount_keys[] = { "Type", "Source", "Target", "ReadOnly", NULL };
	static const char *const secret_keys[] = { "SecretName", "File.Name", "File.Mode", NULL };
	static const char *const port_keys[] = { "Protocol", "TargetPort", "PublishedPort",
		"PublishMode", NULL };
	json_t *tt = get(spec, "TaskTemplate"), *cs = get(tt, "ContainerSpec");
	json_t *r = json_object(), *mode = get(spec, "Mode");

	json_object_set_new(r, "image", str0(cs, "Image"));
	json_object_set_new(r, "entrypoint", json_deep_copy(get(cs, "Command") ?
	    get(cs, "Command") : json_null()));
	json_object_set_new(r, "command", json_deep_copy(get(cs, "Args") ? get(cs, "Args") :
	    json_null()));
	json_object_set_new(r, "env", set_of(get(cs, "Env"), NULL));
	json_object_set_new(r, "labels", own_labels(get(cs, "Labels")));
	json_object_set_new(r, "user", str0(cs, "User"));
	json_object_set_new(r, "working_dir", str0(cs, "Dir"));
	json_object_set_new(r, "volumes", set_of(get(cs, "Mounts"), mount_keys));
	json_object_set_new(r, "secrets", set_of(get(cs, "Secrets"), secret_keys));
	json_object_set_new(r, "healthcheck", json_pack("{s:O?,s:o,s:o,s:o,s:o}", "test",
	    get(cs, "Healthcheck.Test"), "interval", int0(cs, "Healthcheck.Interval"), "timeout",
	    int0(cs, "Healthcheck.Timeout"), "start_period", int0(cs, "Healthcheck.StartPeriod"),
	    "retries", int0(cs, "Healthcheck.Retries")));
	json_object_set_new(r, "stop_grace_period", int0(cs, "StopGracePeriod"));
	json_object_set_new(r, "resources", json_pack("{s:o,s:o,s:o,s:o,s:o}", "cpus",
	    int0(tt, "Resources.Limits.NanoCPUs"), "memory", int0(tt, "Resources.Limits.MemoryBytes"),
	    "pids", int0(tt, "Resources.Limits.Pids"), "reserved_cpus",
	    int0(tt, "Resources.Reservations.NanoCPUs"), "reserved_memory",
	    int0(tt, "Resources.Reservations.MemoryBytes")));
	json_object_set_new(r, "restart", json_pack("{s:o,s:o}", "condition",
	    str0(tt, "RestartPolicy.Condition"), "max_attempts", int0(tt,
	    "RestartPolicy.MaxAttempts")));
	json_object_set_new(r, "placement", json_pack("{s:o,s:o,s:o}", "constraints",
	    set_of(get(tt, "Placement.Constraints"), NULL), "preferences",
	    json_array_size(get(tt, "Placement.Preferences")) ?
	    json_deep_copy(get(tt, "Placement.Preferences")) : json_array(), "max_replicas",
	    int0(tt, "Placement.MaxReplicas")));
	json_object_set_new(r, "networks", nets);
	json_object_set_new(r, "logging", json_pack("{s:o,s:o}", "driver", str0(tt,
	    "LogDriver.Name"), "options", obj0(tt, "LogDriver.Options")));
	json_object_set_new(r, "replicas", get(mode, "Global") ? json_string("global") :
	    int0(mode, "Replicated.Replicas"));
	json_object_set_new(r, "update", update_of(get(spec, "UpdateConfig")));
	json_object_set_new(r, "rollback", update_of(get(spec, "RollbackConfig")));
	json_object_set_new(r, "ports", set_of(get(spec, "EndpointSpec.Ports"), port_keys));
	json_object_set_new(r, "endpoint_mode", str0(spec, "EndpointSpec.Mode"));
	return r;
}

/* A service's networks as a set of "name alias,alias" (aliases sorted);
 * id_names maps the engine's network IDs to names (NULL: Target is a name). */
static json_t *
network_set(json_t *networks, json_t *id_names)
{
	json_t *out = json_array(), *n, *set;
	size_t i;

	json_array_foreach(networks, i, n) {
		const char *target = json_string_value(json_object_get(n, "Target"));
		const char *name = id_names ? json_string_value(json_object_get(id_names,
		    target ? target : "")) : NULL;
		json_t *al = set_of(json_object_get(n, "Aliases"), NULL), *a;
		struct buf b;
		size_t k;

		buf_init(&b, 0);
		buf_adds(&b, name ? name : target ? target : "");
		json_array_foreach(al, k, a) {
			buf_adds(&b, k ? "," : " ");
			buf_adds(&b, json_string_value(a));
		}
		json_array_append_new(out, json_string(b.data));
		buf_release(&b);
		json_decref(al);
	}
	set = set_of(out, NULL);
	json_decref(out);
	return set;
}

int
spec_swarm_drift(json_t *body, json_t *actual, json_t *id_names, char **out)
{
	json_t *want, *have, *v;
	const char *key;
	struct buf b;

	*out = NULL;
	want = reduce(body, network_set(get(body, "TaskTemplate.Networks"), NULL));
	have = reduce(actual, network_set(get(actual, "TaskTemplate.Networks"), id_names));
	buf_init(&b, 0);
	json_object_foreach(want, key, v)
		if (!json_equal(v, json_object_get(have, key)))
			buf_addf(&b, "%s%s", b.len ? ", " : "", key);
	json_decref(want);
	json_decref(have);
	if (b.len)
		*out = buf_detach(&b, NULL);
	buf_release(&b);
	return *out ? 1 : 0;
}
