/*
 * state: see state.h.
 */
#include "state.h"
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *
label(json_t *labels, const char *key)
{
	return json_string_value(json_object_get(labels, key));
}

json_t *
actual_name_set(json_t *list, const char *inner)
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

void
actual_add(struct actual *a, struct actual_ctr *c, json_t *raw)
{
	struct actual_container *ac;

	a->containers = xrealloc(a->containers, (a->ncontainers + 2) * sizeof(*a->containers));
	ac = &a->containers[a->ncontainers++];
	memset(ac, 0, sizeof(*ac));
	ac->c = *c;
	memset(c, 0, sizeof(*c));
	ac->raw = json_incref(raw);
	ac->project = label(ac->c.labels, LABEL_PROJECT);
	ac->service = label(ac->c.labels, LABEL_SERVICE);
	ac->hash = label(ac->c.labels, LABEL_HASH);
	ac->role = label(ac->c.labels, LABEL_ROLE);
	ac->revision = label(ac->c.labels, LABEL_REVISION);
	ac->spec = label(ac->c.labels, LABEL_SPEC);
}

void
actual_ctr_release(struct actual_ctr *c)
{
	free(c->id);
	free(c->name);
	free(c->image);
	free(c->image_id);
	free(c->state);
	free(c->status);
	free(c->health);
	json_decref(c->labels);
	memset(c, 0, sizeof(*c));
}

void
actual_release(struct actual *a)
{
	for (size_t i = 0; i < a->ncontainers; i++) {
		actual_ctr_release(&a->containers[i].c);
		json_decref(a->containers[i].raw);
		free(a->containers[i].drift);
	}
	free(a->containers);
	json_decref(a->networks);
	json_decref(a->volumes);
	memset(a, 0, sizeof(*a));
}

/* The rows of status (actual_services_json), with where[i] saying why
 * service i runs on another host (where NULL, or where[i] NULL: here). */
static json_t *
services_rows(const struct actual *a, const struct manifest *m, const char *project,
    char *const *where_of)
{
	json_t *rows = json_array();

	/* Manifest order first (missing services included), then containers of
	 * services the manifest no longer has. */
	for (size_t pass = 0; pass < (m ? m->nservices : 0) + 1; pass++) {
		const char *want = m && pass < m->nservices ? m->services[pass].name : NULL;
		const char *where = want && where_of ? where_of[pass] : NULL;
		int found = 0;

		for (size_t i = 0; i < a->ncontainers; i++) {
			const struct actual_container *ac = &a->containers[i];
			json_t *row;

			if (!ac->project || strcmp(ac->project, project) != 0 || !ac->service)
				continue;
			if (want ? strcmp(ac->service, want) != 0 :
			    (m && manifest_service(m, ac->service)))
				continue;
			found = 1;
			row = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
			    "service", ac->service, "container", ac->c.name, "id", ac->c.id,
			    "state", ac->c.state, "health", ac->c.health ? ac->c.health : "-",
			    "image", ac->c.image ? ac->c.image : "-",
			    "status", ac->c.status ? ac->c.status : "",
			    "revision", ac->revision && *ac->revision ? ac->revision : "-",
			    "role", ac->role ? ac->role : ROLE_PRIMARY);
			if (where)
				json_object_set_new(row, "where", json_string(where));
			json_array_append_new(rows, row);
		}
		if (want && !found) {
			json_t *row = json_pack("{s:s,s:n,s:n,s:s,s:s,s:s,s:s,s:s,s:s}",
			    "service", want, "container", "id", "state", where ? "elsewhere" : "missing",
			    "health", "-", "image", m->services[pass].image, "status", "",
			    "revision", "-", "role", "-");

			if (where)
				json_object_set_new(row, "where", json_string(where));
			json_array_append_new(rows, row);
		}
	}
	return rows;
}

json_t *
actual_services_json(const struct actual *a, const struct manifest *m, const char *project)
{
	return services_rows(a, m, project, NULL);
}

json_t *
actual_services_json_at(const struct actual *a, const struct desired *ds)
{
	char **where = xcalloc(ds->nservices + 1, sizeof(*where));
	json_t *rows;

	for (size_t i = 0; i < ds->nservices; i++)
		where[i] = ds->services[i].elsewhere;
	rows = services_rows(a, ds->m, ds->m->project, where);
	free(where);
	return rows;
}

json_t *
actual_services_json_host(const struct actual *a, const struct manifest *m,
    const char *project, const struct fleet_host *host)
{
	char **where;
	json_t *rows;

	if (!m || !host)
		return services_rows(a, m, project, NULL);
	where = xcalloc(m->nservices + 1, sizeof(*where));
	for (size_t i = 0; i < m->nservices; i++)
		where[i] = placement_elsewhere(&m->services[i], host);
	rows = services_rows(a, m, project, where);
	strv_free(where, m->nservices);
	return rows;
}

int
desired_build(struct desired *ds, const struct manifest *m, const struct secretmap *sec,
    char *err)
{
	return desired_build_for(ds, m, sec, SPEC_CONTAINERS, err);
}

int
desired_build_for(struct desired *ds, const struct manifest *m, const struct secretmap *sec,
    enum spec_target target, char *err)
{
	return desired_build_at(ds, m, sec, target, NULL, err);
}

int
desired_build_at(struct desired *ds, const struct manifest *m, const struct secretmap *sec,
    enum spec_target target, const struct fleet_host *host, char *err)
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
		if ((s->elsewhere = placement_elsewhere(s->svc, host))) {
			ds->nelsewhere++;
			continue;
		}
		if (spec_service_for(m, s->svc, sec, target, &s->spec, e) < 0) {
			errf(err, "services.%s: %s", s->svc->name, e);
			desired_release(ds);
			return -1;
		}
		spec_hash(s->spec, s->hash);
	}
	return 0;
}

int
desired_uses_network(const struct desired *ds, const char *key)
{
	if (!ds->nelsewhere)
		return 1;
	for (size_t i = 0; i < ds->nservices; i++) {
		const struct mf_service *s = ds->services[i].svc;

		for (size_t k = 0; !ds->services[i].elsewhere && k < s->nnetworks; k++)
			if (strcmp(s->networks[k].name, key) == 0)
				return 1;
	}
	return 0;
}

int
desired_uses_volume(const struct desired *ds, const char *key)
{
	if (!ds->nelsewhere)
		return 1;
	for (size_t i = 0; i < ds->nservices; i++) {
		const struct mf_service *s = ds->services[i].svc;

		for (size_t k = 0; !ds->services[i].elsewhere && k < s->nmounts; k++)
			if (!s->mounts[k].bind && strcmp(s->mounts[k].source, key) == 0)
				return 1;
	}
	return 0;
}

void
desired_release(struct desired *ds)
{
	for (size_t i = 0; i < ds->nservices; i++) {
		json_decref(ds->services[i].spec);
		free(ds->services[i].name);
		free(ds->services[i].elsewhere);
	}
	free(ds->services);
	memset(ds, 0, sizeof(*ds));
}
