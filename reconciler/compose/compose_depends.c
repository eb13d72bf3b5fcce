/*
 * compose_depends: depends_on. Each service's dependencies are read first;
 * once every service is known, the ones the manifest would refuse (unknown,
 * itself, twice, closing a cycle) are dropped with a report.
 */
#include "compose_int.h"

#include <stdlib.h>
#include <string.h>

/* --- services: depends_on ------------------------------------------------- */

void
compose__conv_depends(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	if (n->type != YT_SEQ && n->type != YT_MAP) {
		compose__report(c, n, path, L_UNMAPPED, "expected a list or a mapping, found %s",
		    yt_type_name(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *kn = n->type == YT_SEQ ? n->items[i] : n->keys[i];
		const struct yt_node *v = n->type == YT_MAP ? n->items[i] : NULL;
		const char *name = compose__text_of(kn);
		char *p = n->type == YT_SEQ ? yt_path_idx(path, i) : yt_path_key(path, name ? name : "?");

		if (v && v->type == YT_MAP) {
			const struct yt_node *cond = yt_get(v, "condition");
			const struct yt_node *req = yt_get(v, "required");
			const char *cv = compose__str_of(cond);

			if (cv && strcmp(cv, "service_completed_successfully") == 0)
				compose__report(c, cond, p, L_UNMAPPED, "a one-off container that must finish first "
				    "has no equivalent: make it a hooks.pre_deploy of this service");
			else if (cv && strcmp(cv, "service_started") == 0)
				compose__report(c, cond, p, L_NOTE, "the reconciler waits until '%s' passes its "
				    "health gate, not only until it has started", name ? name : "?");
			else if (cond && (!cv || strcmp(cv, "service_healthy") != 0))
				compose__report(c, cond, p, L_UNMAPPED, "unknown condition");
			if (req && yt_kind(req) == YT_KIND_BOOL && strcasecmp(req->value, "false") == 0)
				compose__report(c, req, p, L_NOTE, "required: false has no equivalent: the dependency "
				    "is kept");
			if (yt_get(v, "restart"))
				compose__report(c, yt_get(v, "restart"), p, L_NOTE, "restart: true is what "
				    "on_dependency_update does: add one if this service must be told");
		}
		if (!name) {
			compose__report(c, kn, p, L_UNMAPPED, "expected a service name");
			free(p);
			continue;
		}
		s->deps = xrealloc(s->deps, (s->ndeps + 1) * sizeof(*s->deps));
		s->deps[s->ndeps].name = xstrdup(name);
		s->deps[s->ndeps].node = kn;
		s->deps[s->ndeps].path = p;
		s->deps[s->ndeps].dropped = 0;
		s->ndeps++;
	}
}

/* --- the checks across services ------------------------------------------- */

static struct csvc *
svc_find(struct cctx *c, const char *name)
{
	for (size_t i = 0; i < c->nsvcs; i++)
		if (strcmp(c->svcs[i].name, name) == 0)
			return &c->svcs[i];
	return NULL;
}

/* 1 when `to` is reachable from `from` through the edges kept so far. */
static int
reaches(struct cctx *c, struct csvc *from, struct csvc *to, unsigned char *seen)
{
	size_t i = (size_t)(from - c->svcs);

	if (from == to)
		return 1;
	if (seen[i])
		return 0;
	seen[i] = 1;
	for (size_t j = 0; j < from->ndeps; j++) {
		struct csvc *d;

		if (from->deps[j].dropped || !(d = svc_find(c, from->deps[j].name)))
			continue;
		if (reaches(c, d, to, seen))
			return 1;
	}
	return 0;
}

void
compose__check_depends(struct cctx *c)
{
	unsigned char *seen = xcalloc(c->nsvcs + 1, 1);

	for (size_t i = 0; i < c->nsvcs; i++) {
		struct csvc *s = &c->svcs[i];

		for (size_t j = 0; j < s->ndeps; j++)
			s->deps[j].dropped = 1;
		for (size_t j = 0; j < s->ndeps; j++) {
			struct cdep *dp = &s->deps[j];
			struct csvc *d = svc_find(c, dp->name);
			int twice = 0;

			for (size_t k = 0; k < j; k++)
				if (!s->deps[k].dropped && strcmp(s->deps[k].name, dp->name) == 0)
					twice = 1;
			memset(seen, 0, c->nsvcs + 1);
			if (!d)
				compose__report(c, dp->node, dp->path, L_UNMAPPED, "unknown service '%s'", dp->name);
			else if (d == s)
				compose__report(c, dp->node, dp->path, L_UNMAPPED, "a service cannot depend on itself");
			else if (twice)
				compose__report(c, dp->node, dp->path, L_NOTE, "'%s' is given twice", dp->name);
			else if (reaches(c, d, s, seen))
				compose__report(c, dp->node, dp->path, L_UNMAPPED, "this dependency closes a cycle "
				    "('%s' already depends on '%s')", dp->name, s->name);
			else
				dp->dropped = 0;
		}
	}
	free(seen);
	for (size_t i = 0; i < c->nsvcs; i++) {
		struct csvc *s = &c->svcs[i];
		char **names = xcalloc(s->ndeps + 1, sizeof(*names));
		size_t nn = 0;

		for (size_t j = 0; j < s->ndeps; j++)
			if (!s->deps[j].dropped)
				names[nn++] = xstrdup(s->deps[j].name);
		if (nn) {
			buf_adds(&s->sec[S_DEPENDS], "    depends_on: ");
			compose__put_flow_list(&s->sec[S_DEPENDS], names, nn, 0);
			buf_adds(&s->sec[S_DEPENDS], "\n");
		}
		strv_free(names, nn);
	}
}
