/*
 * diff: see diff.h. Reasons come from comparing the canonical spec stored in
 * the container's io.reconciler.spec label with the desired one, key by key,
 * so a diff needs no inspect call. Secret values are digests on both sides:
 * a change shows, a value never does.
 */
#include "diff.h"
#include "spec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static char *
xstrdup0(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
reason(struct plan_service *ps, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reason(struct plan_service *ps, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_array_append_new(ps->reasons, json_pack("{s:s,s:o}", "field", field, "message",
	    json_vsprintf(fmt, ap)));
	va_end(ap);
}

static void
anomaly(struct plan_service *ps, const char *kind, const char *container, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
anomaly(struct plan_service *ps, const char *kind, const char *container, const char *fmt, ...)
{
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	o = json_pack("{s:s,s:o}", "kind", kind, "message", json_vsprintf(fmt, ap));
	va_end(ap);
	if (container)
		json_object_set_new(o, "container", json_string(container));
	json_array_append_new(ps->anomalies, o);
}

static char *
compact(const json_t *v)
{
	if (!v || json_is_null(v))
		return xstrdup("(image default)");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

static int
is_secretish(const json_t *v)
{
	return json_is_object(v) && json_object_get(v, "digest");
}

static void
diff_env(struct plan_service *ps, const json_t *old, const json_t *new)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)new, k, v) {
		json_t *o = json_object_get(old, k);

		if (!o) {
			reason(ps, "env", "env %s added", k);
		} else if (!json_equal(o, v)) {
			if (is_secretish(o) || is_secretish(v))
				reason(ps, "env", "env %s changed (secret value, not shown)", k);
			else
				reason(ps, "env", "env %s changed: \"%s\" -> \"%s\"", k,
				    json_string_value(o), json_string_value(v));
		}
	}
	json_object_foreach((json_t *)old, k, v)
		if (!json_object_get(new, k))
			reason(ps, "env", "env %s removed", k);
}

static int
array_has(const json_t *arr, const json_t *v)
{
	size_t i;
	json_t *it;

	json_array_foreach(arr, i, it)
		if (json_equal(it, v))
			return 1;
	return 0;
}

/* Arrays that are sets (ports, mounts): what came and what went. */
static void
diff_set(struct plan_service *ps, const char *field, const json_t *old, const json_t *new)
{
	struct buf b;
	size_t i;
	json_t *it;

	buf_init(&b, 0);
	json_array_foreach(new, i, it) {
		if (!array_has(old, it)) {
			char *s = json_is_string(it) ? xstrdup(json_string_value(it)) : compact(it);

			buf_addf(&b, "%s+%s", b.len ? ", " : "", s);
			free(s);
		}
	}
	json_array_foreach(old, i, it) {
		if (!array_has(new, it)) {
			char *s = json_is_string(it) ? xstrdup(json_string_value(it)) : compact(it);

			buf_addf(&b, "%s-%s", b.len ? ", " : "", s);
			free(s);
		}
	}
	reason(ps, field, "%s changed: %s", field, b.len ? b.data : "order");
	buf_release(&b);
}

static void
diff_secrets(struct plan_service *ps, const json_t *old, const json_t *new)
{
	size_t i, j;
	json_t *n, *o;

	json_array_foreach(new, i, n) {
		const char *target = json_string_value(json_object_get(n, "target"));
		int found = 0;

		json_array_foreach(old, j, o) {
			if (json_equal(json_object_get(o, "target"), json_object_get(n, "target"))) {
				found = 1;
				if (!json_equal(o, n))
					reason(ps, "secrets", "secret file %s changed (content not shown)",
					    target);
			}
		}
		if (!found)
			reason(ps, "secrets", "secret file %s added", target);
	}
	json_array_foreach(old, j, o) {
		int found = 0;

		json_array_foreach(new, i, n)
			if (json_equal(json_object_get(o, "target"), json_object_get(n, "target")))
				found = 1;
		if (!found)
			reason(ps, "secrets", "secret file %s removed",
			    json_string_value(json_object_get(o, "target")));
	}
}

static void
diff_specs(struct plan_service *ps, const json_t *old, const json_t *new)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)new, k, v) {
		json_t *o = json_object_get(old, k);

		if (o && json_equal(o, v))
			continue;
		if (strcmp(k, "env") == 0) {
			diff_env(ps, o, v);
		} else if (strcmp(k, "secrets") == 0) {
			diff_secrets(ps, o, v);
		} else if (json_is_array(v) && json_is_array(o) &&
		    (strcmp(k, "ports") == 0 || strcmp(k, "mounts") == 0)) {
			diff_set(ps, k, o, v);
		} else if (strcmp(k, "image") == 0) {
			reason(ps, k, "image changed: %s -> %s", json_string_value(o) ?
			    json_string_value(o) : "?", json_string_value(v));
		} else {
			char *a = compact(o), *b = compact(v);

			reason(ps, k, "%s changed: %s -> %s", k, a, b);
			free(a);
			free(b);
		}
	}
	json_object_foreach((json_t *)old, k, v)
		if (!json_object_get(new, k))
			reason(ps, k, "%s removed", k);
}

static void
recreate_reasons(struct plan_service *ps, const struct actual_container *ac,
    const struct desired_service *ds)
{
	json_t *old = NULL;

	if (ac->spec)
		old = json_loads(ac->spec, 0, NULL);
	if (!json_is_object(old))
		reason(ps, "spec", "the container has no readable %s label (created by hand or by "
		    "an older version)", LABEL_SPEC);
	else
		diff_specs(ps, old, ds->spec);
	if (json_array_size(ps->reasons) == 0)
		reason(ps, "spec", "spec hash changed");
	json_decref(old);
}

static struct plan_service *
add_service(struct plan *p, const char *name)
{
	struct plan_service *ps;

	p->services = xrealloc(p->services, (p->nservices + 1) * sizeof(*p->services));
	ps = &p->services[p->nservices++];
	memset(ps, 0, sizeof(*ps));
	ps->service = xstrdup(name);
	ps->reasons = json_array();
	ps->anomalies = json_array();
	ps->kept_volumes = json_array();
	ps->extra_ids = json_array();
	return ps;
}

static int
is_ours(const struct actual_container *ac, const char *project)
{
	return ac->project && strcmp(ac->project, project) == 0;
}

static int
is_role(const struct actual_container *ac, const char *role)
{
	/* a container without a role label is a primary one */
	return strcmp(ac->role ? ac->role : ROLE_PRIMARY, role) == 0;
}

/* Among several primaries, the one to keep: running and matching first,
 * then running, then the newest. */
static int
better(const struct actual_container *a, const struct actual_container *b, const char *hash)
{
	int ar = strcmp(a->c.state, "running") == 0, br = strcmp(b->c.state, "running") == 0;
	int am = a->hash && strcmp(a->hash, hash) == 0, bm = b->hash && strcmp(b->hash, hash) == 0;

	if (ar != br)
		return ar > br;
	if (am != bm)
		return am > bm;
	return a->c.created > b->c.created;
}

/* "<name><suffix>": a rollout's new container ("-next") or old one ("-old") */
static int
is_named(const struct actual_container *ac, const char *name, const char *suffix)
{
	size_t n = strlen(name);

	return strncmp(ac->c.name, name, n) == 0 && strcmp(ac->c.name + n, suffix) == 0;
}

static int
is_next(const struct actual_container *ac, const char *name)
{
	return is_named(ac, name, "-next");
}

/* A start-first rollout cut short after the old container (cur, stopped)
 * stopped: the "-next" one passed its gate and is the only one serving. It is
 * adopted (the stopped old one goes) rather than removed, which would leave a
 * gap. Returns the container that serves. */
static const struct actual_container *
adopt_next(struct plan_service *ps, const struct desired_service *ds, const struct actual *a,
    const char *project, const struct actual_container *cur)
{
	for (size_t i = 0; i < a->ncontainers; i++) {
		const struct actual_container *ac = &a->containers[i];

		if (is_ours(ac, project) && ac->service && strcmp(ac->service, ds->svc->name) == 0 &&
		    is_next(ac, ds->name) && strcmp(ac->c.state, "running") == 0 && ac->hash &&
		    strcmp(ac->hash, ds->hash) == 0 &&
		    (!ac->c.health || strcmp(ac->c.health, "healthy") == 0)) {
			anomaly(ps, "stale-rollout", cur->c.name, "container %s was stopped by an "
			    "interrupted rollout; its healthy successor %s is adopted", cur->c.name,
			    ac->c.name);
			json_array_append_new(ps->extra_ids, json_string(cur->c.id));
			return ac;
		}
	}
	return cur;
}

static void
plan_one(struct plan *p, const struct desired_service *ds, const struct actual *a)
{
	const char *project = p->project;
	struct plan_service *ps = add_service(p, ds->svc->name);
	const struct actual_container *cur = NULL;

	ps->hash = xstrdup(ds->hash);
	/* The container holding the service's name is the serving one: a
	 * "<name>-next" beside it is what an interrupted rollout left, never
	 * proven healthy, so it goes and the rollout starts again. Alone, a
	 * "-next" container has passed its gate (the old one is removed only
	 * after that) and is adopted. */
	for (size_t i = 0; i < a->ncontainers; i++) {
		const struct actual_container *ac = &a->containers[i];

		if (is_ours(ac, project) && ac->service && strcmp(ac->service, ds->svc->name) == 0 &&
		    is_role(ac, ROLE_PRIMARY) && strcmp(ac->c.name, ds->name) == 0)
			cur = ac;
	}
	if (cur && strcmp(cur->c.state, "running") != 0)
		cur = adopt_next(ps, ds, a, project, cur);
	for (size_t i = 0; i < a->ncontainers; i++) {
		const struct actual_container *ac = &a->containers[i];

		if (ac == cur || !is_ours(ac, project) || !ac->service ||
		    strcmp(ac->service, ds->svc->name) != 0 || is_role(ac, ROLE_HOOK))
			continue;
		if (json_array_size(ps->extra_ids) && cur && strcmp(ac->c.name, ds->name) == 0 &&
		    strcmp(cur->c.name, ds->name) != 0)
			continue;	/* the stopped old one, already marked to go */
		if (cur && strcmp(cur->c.name, ds->name) == 0 && is_next(ac, ds->name)) {
			anomaly(ps, "stale-rollout", ac->c.name, "container %s is left from an "
			    "interrupted rollout", ac->c.name);
			json_array_append_new(ps->extra_ids, json_string(ac->c.id));
			continue;
		}
		if (!cur) {
			cur = ac;
		} else {
			const struct actual_container *drop = ac;

			if (strcmp(cur->c.name, ds->name) != 0 && better(ac, cur, ds->hash)) {
				drop = cur;
				cur = ac;
			}
			if (is_named(drop, ds->name, "-old"))
				anomaly(ps, "stale-rollout", drop->c.name, "container %s is the old "
				    "version a rollout left", drop->c.name);
			else
				anomaly(ps, "duplicate", drop->c.name, "two containers for one "
				    "service: %s is extra", drop->c.name);
			json_array_append_new(ps->extra_ids, json_string(drop->c.id));
		}
	}
	if (!cur) {
		for (size_t i = 0; i < a->ncontainers; i++) {
			const struct actual_container *ac = &a->containers[i];

			if (!is_ours(ac, project) && strcmp(ac->c.name, ds->name) == 0) {
				ps->action = PLAN_BLOCKED;
				ps->container = xstrdup(ac->c.name);
				ps->id = xstrdup(ac->c.id);
				anomaly(ps, "foreign-name", ac->c.name, "a container not managed by this "
				    "project holds the name %s (remove or rename it; it is never touched)",
				    ac->c.name);
				return;
			}
		}
		ps->action = PLAN_CREATE;
		reason(ps, "container", "no container");
		return;
	}
	ps->container = xstrdup(cur->c.name);
	ps->id = xstrdup(cur->c.id);
	ps->current_hash = xstrdup0(cur->hash);
	ps->revision = xstrdup0(cur->revision);
	ps->version = cur->c.version;
	if (strcmp(cur->c.state, "removing") == 0) {
		/* its name is not free yet, nor can it start: the engine's
		 * "destroy" event brings the next cycle, which creates it */
		ps->action = PLAN_IN_SYNC;
		anomaly(ps, "removing", cur->c.name, "%s is being removed; the service is created "
		    "again once it is gone", cur->c.name);
	} else if (!cur->hash || strcmp(cur->hash, ds->hash) != 0) {
		ps->action = PLAN_RECREATE;
		recreate_reasons(ps, cur, ds);
	} else if (cur->drift) {
		ps->action = PLAN_RECREATE;
		reason(ps, "drift", "changed outside the reconciler (docker service update): %s; "
		    "put back as the manifest says", cur->drift);
	} else if (strcmp(cur->c.state, "running") != 0 &&
	    strcmp(cur->c.state, "restarting") != 0) {
		ps->action = PLAN_START;
		reason(ps, "state", "container is %s", cur->c.state);
	} else {
		ps->action = PLAN_IN_SYNC;
	}
	if (strcmp(cur->c.state, "restarting") == 0)
		anomaly(ps, "restarting", cur->c.name, "%s is restarting in a loop (%s)", cur->c.name,
		    cur->c.status ? cur->c.status : "restarting");
	if (cur->c.health && strcmp(cur->c.health, "unhealthy") == 0)
		anomaly(ps, "unhealthy", cur->c.name, "%s is unhealthy", cur->c.name);
	if (strcmp(cur->c.name, ds->name) != 0) {
		reason(ps, "name", "container is named %s, expected %s", cur->c.name, ds->name);
		if (ps->action == PLAN_IN_SYNC)
			ps->action = PLAN_START;
	}
}

static void
plan_orphans(struct plan *p, const struct desired *ds, const struct actual *a)
{
	for (size_t i = 0; i < a->ncontainers; i++) {
		const struct actual_container *ac = &a->containers[i];
		struct plan_service *ps = NULL;
		json_t *mounts, *mt;
		size_t k;

		const struct mf_service *svc;
		const char *moved = NULL;

		if (!is_ours(ac, p->project) || !ac->service)
			continue;
		if ((svc = manifest_service(ds->m, ac->service)) &&
		    !(moved = ds->services[svc - ds->m->services].elsewhere))
			continue;
		for (k = 0; k < p->nservices; k++)
			if (strcmp(p->services[k].service, ac->service) == 0 &&
			    p->services[k].action == PLAN_REMOVE)
				ps = &p->services[k];
		if (!ps) {
			ps = add_service(p, ac->service);
			ps->action = PLAN_REMOVE;
			ps->container = xstrdup(ac->c.name);
			ps->id = xstrdup(ac->c.id);
			ps->current_hash = xstrdup0(ac->hash);
			ps->revision = xstrdup0(ac->revision);
			if (moved) {
				ps->moved = xstrdup(moved);
				reason(ps, "placement", "service %s is placed on another host: %s",
				    ac->service, moved);
			} else {
				reason(ps, "service", "service %s is not in the manifest", ac->service);
			}
		} else {
			json_array_append_new(ps->extra_ids, json_string(ac->c.id));
		}
		mounts = json_object_get(ac->raw, "Mounts");
		json_array_foreach(mounts, k, mt) {
			const char *type = json_string_value(json_object_get(mt, "Type"));
			const char *name = json_string_value(json_object_get(mt, "Name"));

			if (type && name && strcmp(type, "volume") == 0) {
				json_t *s = json_string(name);

				if (!array_has(ps->kept_volumes, s))
					json_array_append(ps->kept_volumes, s);
				json_decref(s);
			}
		}
	}
}

int
diff_compute(struct plan **out, const struct desired *ds, const struct actual *a)
{
	const struct manifest *m = ds->m;
	struct plan *p = xcalloc(1, sizeof(*p));

	p->project = xstrdup(m->project);
	p->elsewhere = json_array();
	for (size_t i = 0; i < ds->nservices; i++) {
		if (!ds->services[i].elsewhere)
			plan_one(p, &ds->services[i], a);
		else
			json_array_append_new(p->elsewhere, json_pack("{s:s,s:s}", "service",
			    ds->services[i].svc->name, "where", ds->services[i].elsewhere));
	}
	plan_orphans(p, ds, a);
	for (size_t i = 0; i < m->nnetworks; i++) {
		const struct mf_network *n = &m->networks[i];

		if (json_object_get(a->networks, n->name) || !desired_uses_network(ds, n->key))
			continue;
		p->networks = xrealloc(p->networks, (p->nnetworks + 1) * sizeof(*p->networks));
		p->networks[p->nnetworks].name = xstrdup(n->name);
		p->networks[p->nnetworks++].external = n->external;
	}
	for (size_t i = 0; i < m->nvolumes; i++) {
		const struct mf_volume *v = &m->volumes[i];

		if (json_object_get(a->volumes, v->name) || !desired_uses_volume(ds, v->key))
			continue;
		p->volumes = xrealloc(p->volumes, (p->nvolumes + 1) * sizeof(*p->volumes));
		p->volumes[p->nvolumes].name = xstrdup(v->name);
		p->volumes[p->nvolumes++].external = v->external;
	}
	*out = p;
	return 0;
}

void
plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nservices; i++) {
		struct plan_service *ps = &p->services[i];

		free(ps->service);
		free(ps->container);
		free(ps->id);
		free(ps->hash);
		free(ps->current_hash);
		free(ps->revision);
		json_decref(ps->reasons);
		json_decref(ps->anomalies);
		json_decref(ps->kept_volumes);
		json_decref(ps->extra_ids);
		free(ps->moved);
	}
	json_decref(p->elsewhere);
	free(p->services);
	for (size_t i = 0; i < p->nnetworks; i++)
		free(p->networks[i].name);
	free(p->networks);
	for (size_t i = 0; i < p->nvolumes; i++)
		free(p->volumes[i].name);
	free(p->volumes);
	free(p->project);
	free(p);
}

int
plan_in_sync(const struct plan *p)
{
	if (p->nnetworks || p->nvolumes)
		return 0;
	for (size_t i = 0; i < p->nservices; i++)
		if (p->services[i].action != PLAN_IN_SYNC ||
		    json_array_size(p->services[i].anomalies))
			return 0;
	return 1;
}

const char *
plan_action_name(enum plan_action a)
{
	switch (a) {
	case PLAN_IN_SYNC: return "in-sync";
	case PLAN_CREATE: return "create";
	case PLAN_RECREATE: return "recreate";
	case PLAN_START: return "start";
	case PLAN_REMOVE: return "remove";
	case PLAN_BLOCKED: return "blocked";
	}
	return "?";
}

static const struct {
	char sym;
	const char *color;
} marks[] = {
	[PLAN_IN_SYNC] = { '=', "" },
	[PLAN_CREATE] = { '+', "\033[32m" },
	[PLAN_RECREATE] = { '~', "\033[33m" },
	[PLAN_START] = { '>', "\033[36m" },
	[PLAN_REMOVE] = { '-', "\033[31m" },
	[PLAN_BLOCKED] = { '!', "\033[1;31m" },
};

void
plan_print(const struct plan *p, FILE *fp, int color)
{
	const char *off = color ? "\033[0m" : "";
	size_t counts[PLAN_BLOCKED + 1] = { 0 }, nanom = 0, k;
	json_t *r;

	fprintf(fp, "project %s\n", p->project);
	for (size_t i = 0; i < p->nnetworks; i++)
		fprintf(fp, "%s%c network %s%s%s\n", color ? marks[p->networks[i].external ?
		    PLAN_BLOCKED : PLAN_CREATE].color : "", p->networks[i].external ? '!' : '+',
		    p->networks[i].name, p->networks[i].external ? " (external, missing)" : "", off);
	for (size_t i = 0; i < p->nvolumes; i++)
		fprintf(fp, "%s%c volume %s%s%s\n", color ? marks[p->volumes[i].external ?
		    PLAN_BLOCKED : PLAN_CREATE].color : "", p->volumes[i].external ? '!' : '+',
		    p->volumes[i].name, p->volumes[i].external ? " (external, missing)" : "", off);
	for (size_t i = 0; i < p->nservices; i++) {
		const struct plan_service *ps = &p->services[i];

		counts[ps->action]++;
		fprintf(fp, "%s%c %s%s", color ? marks[ps->action].color : "",
		    marks[ps->action].sym, ps->service, off);
		if (ps->action == PLAN_IN_SYNC)
			fprintf(fp, " (%s, in sync)", ps->container);
		else if (ps->action != PLAN_CREATE)
			fprintf(fp, " (%s: %s)", ps->container ? ps->container : "-",
			    plan_action_name(ps->action));
		else
			fputs(" (create)", fp);
		fputc('\n', fp);
		json_array_foreach(ps->reasons, k, r)
			fprintf(fp, "    %s\n", json_string_value(json_object_get(r, "message")));
		if (json_array_size(ps->kept_volumes)) {
			fputs("    volumes kept:", fp);
			json_array_foreach(ps->kept_volumes, k, r)
				fprintf(fp, " %s", json_string_value(r));
			fputc('\n', fp);
		}
		json_array_foreach(ps->anomalies, k, r) {
			fprintf(fp, "    %s!%s %s\n", color ? "\033[1;31m" : "", off,
			    json_string_value(json_object_get(r, "message")));
			nanom++;
		}
	}
	json_array_foreach(p->elsewhere, k, r)
		fprintf(fp, "@ %s (placed elsewhere: %s)\n",
		    json_string_value(json_object_get(r, "service")),
		    json_string_value(json_object_get(r, "where")));
	fprintf(fp, "\n%zu to create, %zu to recreate, %zu to start, %zu to remove, %zu in sync",
	    counts[PLAN_CREATE], counts[PLAN_RECREATE], counts[PLAN_START], counts[PLAN_REMOVE],
	    counts[PLAN_IN_SYNC]);
	if (counts[PLAN_BLOCKED])
		fprintf(fp, ", %zu blocked", counts[PLAN_BLOCKED]);
	if (nanom)
		fprintf(fp, ", %zu anomal%s", nanom, nanom == 1 ? "y" : "ies");
	if (p->nnetworks || p->nvolumes)
		fprintf(fp, "; %zu network%s and %zu volume%s to create", p->nnetworks,
		    p->nnetworks == 1 ? "" : "s", p->nvolumes, p->nvolumes == 1 ? "" : "s");
	if (json_array_size(p->elsewhere))
		fprintf(fp, "; %zu on other hosts", json_array_size(p->elsewhere));
	fputc('\n', fp);
}
