/*
 * diff: the plan's documented JSON form (docs/diff-json.md) and back from it
 * (a daemon's GET /v1/diff read by reconcilerctl diff).
 */
#include "diff.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

json_t *
plan_json(const struct plan *p)
{
	json_t *svcs = json_array(), *nets = json_array(), *vols = json_array(), *sum, *doc;
	size_t counts[PLAN_BLOCKED + 1] = { 0 }, nanom = 0;

	for (size_t i = 0; i < p->nservices; i++) {
		const struct plan_service *ps = &p->services[i];
		json_t *o = json_pack("{s:s,s:s,s:O,s:O}", "service", ps->service, "action",
		    plan_action_name(ps->action), "reasons", ps->reasons, "anomalies", ps->anomalies);

		counts[ps->action]++;
		nanom += json_array_size(ps->anomalies);
		json_object_set_new(o, "container", ps->container ? json_string(ps->container) :
		    json_null());
		json_object_set_new(o, "id", ps->id ? json_string(ps->id) : json_null());
		json_object_set_new(o, "spec_hash", ps->hash ? json_string(ps->hash) : json_null());
		json_object_set_new(o, "current_spec_hash", ps->current_hash ?
		    json_string(ps->current_hash) : json_null());
		json_object_set_new(o, "revision", ps->revision ? json_string(ps->revision) :
		    json_null());
		if (ps->action == PLAN_REMOVE)
			json_object_set(o, "kept_volumes", ps->kept_volumes);
		if (ps->moved)
			json_object_set_new(o, "moved", json_string(ps->moved));
		json_array_append_new(svcs, o);
	}
	for (size_t i = 0; i < p->nnetworks; i++)
		json_array_append_new(nets, json_pack("{s:s,s:s}", "name", p->networks[i].name,
		    "action", p->networks[i].external ? "missing-external" : "create"));
	for (size_t i = 0; i < p->nvolumes; i++)
		json_array_append_new(vols, json_pack("{s:s,s:s}", "name", p->volumes[i].name,
		    "action", p->volumes[i].external ? "missing-external" : "create"));
	sum = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "create", (json_int_t)counts[PLAN_CREATE], "recreate", (json_int_t)counts[PLAN_RECREATE],
	    "start", (json_int_t)counts[PLAN_START], "remove", (json_int_t)counts[PLAN_REMOVE],
	    "in_sync", (json_int_t)counts[PLAN_IN_SYNC], "blocked", (json_int_t)counts[PLAN_BLOCKED],
	    "anomalies", (json_int_t)nanom);
	doc = json_pack("{s:i,s:s,s:b,s:o,s:o,s:o,s:o}", "format", 1, "project", p->project,
	    "in_sync", plan_in_sync(p), "summary", sum, "services", svcs, "networks", nets,
	    "volumes", vols);
	/* a host of a fleet: the services placed on other hosts */
	if (json_array_size(p->elsewhere))
		json_object_set(doc, "elsewhere", p->elsewhere);
	return doc;
}

static char *
json_strdup(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? xstrdup(v) : NULL;
}

static json_t *
json_array_or_new(const json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key);

	return json_is_array(a) ? json_incref(a) : json_array();
}

static int
resources_from_json(const json_t *a, struct plan_resource **out, size_t *n)
{
	size_t i;
	json_t *it;

	*out = xcalloc(json_array_size(a) + 1, sizeof(**out));
	json_array_foreach(a, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *act = json_string_value(json_object_get(it, "action"));

		if (!name || !act)
			return -1;
		(*out)[*n].name = xstrdup(name);
		(*out)[*n].external = strcmp(act, "missing-external") == 0;
		(*n)++;
	}
	return 0;
}

int
plan_from_json(struct plan **out, const json_t *o, char *err)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	json_t *svcs = json_object_get(o, "services"), *it;
	size_t i;

	*out = NULL;
	if (!json_is_object(o) || json_integer_value(json_object_get(o, "format")) != 1 ||
	    !json_is_string(json_object_get(o, "project")) || !json_is_array(svcs)) {
		plan_free(p);
		return errf(err, "not a diff document of format 1");
	}
	p->project = json_strdup(o, "project");
	p->elsewhere = json_array_or_new(o, "elsewhere");
	p->services = xcalloc(json_array_size(svcs) + 1, sizeof(*p->services));
	json_array_foreach(svcs, i, it) {
		struct plan_service *ps = &p->services[p->nservices];
		const char *act = json_string_value(json_object_get(it, "action"));
		int found = 0;

		if (!json_is_string(json_object_get(it, "service")) || !act) {
			plan_free(p);
			return errf(err, "services[%zu]: no service name or action", i);
		}
		for (int a = PLAN_IN_SYNC; a <= PLAN_BLOCKED; a++)
			if (strcmp(act, plan_action_name((enum plan_action)a)) == 0) {
				ps->action = (enum plan_action)a;
				found = 1;
			}
		if (!found) {
			plan_free(p);
			return errf(err, "services[%zu]: unknown action '%s'", i, act);
		}
		ps->service = json_strdup(it, "service");
		ps->container = json_strdup(it, "container");
		ps->id = json_strdup(it, "id");
		ps->hash = json_strdup(it, "spec_hash");
		ps->current_hash = json_strdup(it, "current_spec_hash");
		ps->revision = json_strdup(it, "revision");
		ps->reasons = json_array_or_new(it, "reasons");
		ps->anomalies = json_array_or_new(it, "anomalies");
		ps->kept_volumes = json_array_or_new(it, "kept_volumes");
		ps->moved = json_strdup(it, "moved");
		ps->extra_ids = json_array();
		p->nservices++;
	}
	if (resources_from_json(json_object_get(o, "networks"), &p->networks, &p->nnetworks) < 0 ||
	    resources_from_json(json_object_get(o, "volumes"), &p->volumes, &p->nvolumes) < 0) {
		plan_free(p);
		return errf(err, "a network or volume without name or action");
	}
	*out = p;
	return 0;
}
