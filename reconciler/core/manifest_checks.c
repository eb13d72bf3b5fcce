/*
 * manifest: the checks that cross sections, run once every section is read:
 * references (depends_on, on_dependency_update, backup_before_deploy),
 * dependency cycles and host ports published twice; and the dependency order
 * services are deployed in.
 */
#include "manifest_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char **
service_names(const struct manifest *m)
{
	const char **v = xcalloc(m->nservices + 1, sizeof(*v));

	for (size_t i = 0; i < m->nservices; i++)
		v[i] = m->services[i].name;
	return v;
}

void
mf__check_depends(struct mf__ctx *c)
{
	struct manifest *m = c->m;
	const char **names = service_names(m);

	for (size_t i = 0; i < m->nservices; i++) {
		struct mf_service *s = &m->services[i];

		for (size_t j = 0; j < s->ndepends_on; j++) {
			const char *dep = s->depends_on[j];
			char *p = xasprintf("services.%s.depends_on[%zu]", s->name, j);

			if (strcmp(dep, s->name) == 0) {
				mf__err_at(c, s->depends_on_nodes[j], p, "service '%s' depends on itself",
				    dep);
			} else if (!manifest_service(m, dep)) {
				const char *hint = mf__closest(dep, names);

				mf__err_at(c, s->depends_on_nodes[j], p, "unknown service '%s'%s%s%s", dep,
				    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
			}
			free(p);
		}
		for (size_t j = 0; j < s->non_dep; j++) {
			size_t k;

			if (!s->on_dep[j].service)
				continue;
			for (k = 0; k < s->ndepends_on; k++)
				if (strcmp(s->depends_on[k], s->on_dep[j].service) == 0)
					break;
			if (k == s->ndepends_on) {
				const struct yt_node *on = yt_get(s->node, "on_dependency_update");
				const struct yt_node *sv = yt_get(on->items[j], "service");
				char *p = xasprintf("services.%s.on_dependency_update[%zu].service",
				    s->name, j);

				mf__err_at(c, sv, p, "service '%s' is not in depends_on of '%s'",
				    s->on_dep[j].service, s->name);
				free(p);
			}
		}
		if (s->backup_before_deploy && !manifest_backup(m, s->backup_before_deploy)) {
			const struct yt_node *bn = yt_get(s->node, "backup_before_deploy");
			char *p = xasprintf("services.%s.backup_before_deploy", s->name);

			mf__err_at(c, bn, p, "unknown backup '%s'", s->backup_before_deploy);
			free(p);
		}
	}
	free(names);
}

enum { WHITE, GREY, BLACK };

/* Depth-first search; a grey node reached again closes a cycle, which is
 * reported once, at the depends_on item that closes it, naming every hop. */
static int
visit(struct mf__ctx *c, size_t i, int *color, size_t *stack, size_t depth)
{
	struct manifest *m = c->m;
	struct mf_service *s = &m->services[i];

	color[i] = GREY;
	stack[depth] = i;
	for (size_t j = 0; j < s->ndepends_on; j++) {
		struct mf_service *d = manifest_service(m, s->depends_on[j]);
		size_t k = d ? (size_t)(d - m->services) : 0;

		if (!d || d == s)
			continue;
		if (color[k] == GREY) {
			struct buf b;
			size_t from = 0;
			char *p;

			while (stack[from] != k)
				from++;
			buf_init(&b, 0);
			for (size_t x = from; x <= depth; x++)
				buf_addf(&b, "%s -> ", m->services[stack[x]].name);
			buf_adds(&b, d->name);
			p = xasprintf("services.%s.depends_on[%zu]", s->name, j);
			mf__err_at(c, s->depends_on_nodes[j], p, "dependency cycle: %s", b.data);
			free(p);
			buf_release(&b);
			color[i] = BLACK;
			return -1;
		}
		if (color[k] == WHITE && visit(c, k, color, stack, depth + 1) < 0) {
			color[i] = BLACK;
			return -1;
		}
	}
	color[i] = BLACK;
	return 0;
}

void
mf__check_cycles(struct mf__ctx *c)
{
	size_t n = c->m->nservices;
	int *color = xcalloc(n + 1, sizeof(*color));
	size_t *stack = xcalloc(n + 1, sizeof(*stack));

	for (size_t i = 0; i < n; i++)
		if (color[i] == WHITE)
			visit(c, i, color, stack, 0);
	free(color);
	free(stack);
}

static int
ip_any(const char *ip)
{
	return strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

void
mf__check_ports(struct mf__ctx *c)
{
	struct manifest *m = c->m;

	for (size_t i = 0; i < m->nservices; i++) {
		for (size_t j = 0; j < m->services[i].nports; j++) {
			struct mf_port *p = &m->services[i].ports[j];

			for (size_t k = 0; k <= i; k++) {
				size_t lim = k == i ? j : m->services[k].nports;

				for (size_t l = 0; l < lim; l++) {
					struct mf_port *q = &m->services[k].ports[l];
					char *path;

					if (p->host_port != q->host_port ||
					    strcmp(p->proto, q->proto) != 0 ||
					    (strcmp(p->host_ip, q->host_ip) != 0 && !ip_any(p->host_ip) &&
					    !ip_any(q->host_ip)))
						continue;
					path = xasprintf("services.%s.ports[%zu]", m->services[i].name, j);
					diag_add(c->d, p->line, p->col, path, "host port %s:%d/%s is already "
					    "published by service '%s' (line %d)", p->host_ip, p->host_port,
					    p->proto, m->services[k].name, q->line);
					free(path);
					goto next;
				}
			}
next:
			;
		}
	}
}

size_t *
manifest_topo_order(const struct manifest *m)
{
	size_t n = m->nservices, k = 0;
	size_t *order = xcalloc(n + 1, sizeof(*order));
	int *done = xcalloc(n + 1, sizeof(*done));

	/* Kahn's algorithm; ties broken by manifest order. Cycles are rejected by
	 * validation, but stay safe: leftovers are appended. */
	while (k < n) {
		int progress = 0;

		for (size_t i = 0; i < n; i++) {
			const struct mf_service *s = &m->services[i];
			int ready = !done[i];

			for (size_t j = 0; ready && j < s->ndepends_on; j++) {
				const struct mf_service *d = manifest_service(m, s->depends_on[j]);

				if (d && d != s && !done[d - m->services])
					ready = 0;
			}
			if (ready) {
				done[i] = 1;
				order[k++] = i;
				progress = 1;
			}
		}
		if (!progress) {
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					done[i] = 1;
					order[k++] = i;
				}
		}
	}
	free(done);
	return order;
}
