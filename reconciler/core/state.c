/*
 * state: see state.h.
 */
#include "state.h"
#include "spec.h"
#include "util.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static const char *
label(json_t *labels, const char *key)
{
	return json_string_value(json_object_get(labels, key));
}

static json_t *
name_set(json_t *list, const char *inner)
{
	json_t *set = json_object(), *arr = list, *it;
	size_t i;

	if (inner && json_is_object(list))
		arr = json_object_get(list, inner);
	json_array_foreach(arr, i, it) {
		const char *n = json_string_value(json_object_get(it, "Name"));

		if (n)
			json_object_set_new(set, n, json_true());
	}
	return set;
}

int
actual_from_json(struct actual *a, json_t *containers, json_t *networks, json_t *volumes,
    char *err)
{
	size_t i;
	json_t *it;

	memset(a, 0, sizeof(*a));
	if (!json_is_array(containers))
		return errf(err, "engine: the container list is not a JSON array");
	a->containers = xcalloc(json_array_size(containers) + 1, sizeof(*a->containers));
	json_array_foreach(containers, i, it) {
		struct actual_container *ac = &a->containers[a->ncontainers];

		if (docker_container_from_json(&ac->c, it, err) < 0) {
			docker_container_release(&ac->c);
			actual_release(a);
			return -1;
		}
		ac->raw = json_incref(it);
		ac->project = label(ac->c.labels, LABEL_PROJECT);
		ac->service = label(ac->c.labels, LABEL_SERVICE);
		ac->hash = label(ac->c.labels, LABEL_HASH);
		ac->role = label(ac->c.labels, LABEL_ROLE);
		ac->revision = label(ac->c.labels, LABEL_REVISION);
		ac->spec = label(ac->c.labels, LABEL_SPEC);
		a->ncontainers++;
	}
	a->networks = name_set(networks, NULL);
	a->volumes = name_set(volumes, "Volumes");
	return 0;
}

int
actual_load(struct actual *a, struct docker *d, const char *project, char *err)
{
	json_t *c = NULL, *n = NULL, *v = NULL, *f;
	char *filters, *esc, *path;
	int rc = -1;

	/* Project names are [a-z0-9_-]: nothing in them is special to the
	 * engine's name regex. The filter is applied by the engine, so a host
	 * full of other containers costs nothing here. */
	f = json_pack("{s:[o]}", "name", json_sprintf("^/?%s-", project));
	filters = json_dumps(f, JSON_COMPACT);
	esc = curl_easy_escape(NULL, filters, 0);
	path = xasprintf("/containers/json?all=1&filters=%s", esc);
	if (docker_call(d, "GET", path, NULL, &c, NULL, err) < 0 ||
	    docker_call(d, "GET", "/networks", NULL, &n, NULL, err) < 0 ||
	    docker_call(d, "GET", "/volumes", NULL, &v, NULL, err) < 0)
		goto out;
	rc = actual_from_json(a, c, n, v, err);
out:
	curl_free(esc);
	free(filters);
	free(path);
	json_decref(f);
	json_decref(c);
	json_decref(n);
	json_decref(v);
	return rc;
}

void
actual_release(struct actual *a)
{
	for (size_t i = 0; i < a->ncontainers; i++) {
		docker_container_release(&a->containers[i].c);
		json_decref(a->containers[i].raw);
	}
	free(a->containers);
	json_decref(a->networks);
	json_decref(a->volumes);
	memset(a, 0, sizeof(*a));
}

json_t *
actual_services_json(const struct actual *a, const struct manifest *m, const char *project)
{
	json_t *rows = json_array();

	/* Manifest order first (missing services included), then containers of
	 * services the manifest no longer has. */
	for (size_t pass = 0; pass < (m ? m->nservices : 0) + 1; pass++) {
		const char *want = m && pass < m->nservices ? m->services[pass].name : NULL;
		int found = 0;

		for (size_t i = 0; i < a->ncontainers; i++) {
			const struct actual_container *ac = &a->containers[i];

			if (!ac->project || strcmp(ac->project, project) != 0 || !ac->service)
				continue;
			if (want ? strcmp(ac->service, want) != 0 :
			    (m && manifest_service(m, ac->service)))
				continue;
			found = 1;
			json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
			    "service", ac->service, "container", ac->c.name, "id", ac->c.id,
			    "state", ac->c.state, "health", ac->c.health ? ac->c.health : "-",
			    "image", ac->c.image ? ac->c.image : "-",
			    "status", ac->c.status ? ac->c.status : "",
			    "revision", ac->revision && *ac->revision ? ac->revision : "-",
			    "role", ac->role ? ac->role : ROLE_PRIMARY));
		}
		if (want && !found)
			json_array_append_new(rows, json_pack("{s:s,s:n,s:n,s:s,s:s,s:s,s:s,s:s,s:s}",
			    "service", want, "container", "id", "state", "missing", "health", "-",
			    "image", m->services[pass].image, "status", "", "revision", "-", "role", "-"));
	}
	return rows;
}

int
desired_build(struct desired *ds, const struct manifest *m, const struct secrets *sec, char *err)
{
	memset(ds, 0, sizeof(*ds));
	ds->m = m;
	ds->services = xcalloc(m->nservices + 1, sizeof(*ds->services));
	for (size_t i = 0; i < m->nservices; i++) {
		struct desired_service *s = &ds->services[i];
		char e[ERR_LEN];

		s->svc = &m->services[i];
		s->name = spec_container_name(m, s->svc);
		ds->nservices++;
		if (spec_service(m, s->svc, sec, &s->spec, e) < 0) {
			errf(err, "services.%s: %s", s->svc->name, e);
			desired_release(ds);
			return -1;
		}
		spec_hash(s->spec, s->hash);
	}
	return 0;
}

void
desired_release(struct desired *ds)
{
	for (size_t i = 0; i < ds->nservices; i++) {
		json_decref(ds->services[i].spec);
		free(ds->services[i].name);
	}
	free(ds->services);
	memset(ds, 0, sizeof(*ds));
}
