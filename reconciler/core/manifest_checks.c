/*
 * manifest: the checks that cross sections, run once every section is read:
 * references (depends_on, on_dependency_update, backup_before_deploy),
 * dependency cycles and host ports published twice; and the dependency order
 * services are deployed in.
 */
#include "manifest_int.h"
#include "strtab.h"
#include "util.h"

#include <stdint.h>
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
	/* a hint compares the name with every service's: offered for the first
	 * few unknown names only, so that thousands of them stay linear */
	int hints = 16;

	for (size_t i = 0; i < m->nservices; i++) {
		struct mf_service *s = &m->services[i];

		for (size_t j = 0; j < s->ndepends_on; j++) {
			const char *dep = s->depends_on[j];
			char *p = xasprintf("services.%s.depends_on[%zu]", s->name, j);

			if (strcmp(dep, s->name) == 0) {
				mf__err_at(c, s->depends_on_nodes[j], p, "service '%s' depends on itself",
				    dep);
			} else if (!manifest_service(m, dep)) {
				const char *hint = hints-- > 0 ? mf__closest(dep, names) : NULL;

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

/* The cycle closed by item j of stack[depth - 1]'s depends_on, back to k:
 * reported once, at that item, naming every hop. */
static void
report_cycle(struct mf__ctx *c, const size_t *stack, size_t depth, size_t j, size_t k)
{
	const struct manifest *m = c->m;
	const struct mf_service *s = &m->services[stack[depth - 1]];
	size_t from = 0;
	struct buf b;
	char *p;

	while (stack[from] != k)
		from++;
	buf_init(&b, 0);
	for (size_t x = from; x < depth; x++)
		buf_addf(&b, "%s -> ", m->services[stack[x]].name);
	buf_adds(&b, m->services[k].name);
	p = xasprintf("services.%s.depends_on[%zu]", s->name, j);
	mf__err_at(c, s->depends_on_nodes[j], p, "dependency cycle: %s", b.data);
	free(p);
	buf_release(&b);
}

/* Depth-first search from root, with a stack of its own (a chain of ten
 * thousand services is no deeper than one); a grey service reached again
 * closes a cycle, and the search from this root ends there. */
static void
visit(struct mf__ctx *c, size_t root, int *color, size_t *stack, size_t *next)
{
	const struct manifest *m = c->m;
	size_t depth = 0;

	color[root] = GREY;
	next[root] = 0;
	stack[depth++] = root;
	while (depth) {
		size_t i = stack[depth - 1], j, k;
		const struct mf_service *s = &m->services[i], *d;

		if (next[i] == s->ndepends_on) {
			color[i] = BLACK;
			depth--;
			continue;
		}
		j = next[i]++;
		d = manifest_service(m, s->depends_on[j]);
		if (!d || d == s)
			continue;
		k = (size_t)(d - m->services);
		if (color[k] == GREY) {
			report_cycle(c, stack, depth, j, k);
			while (depth)
				color[stack[--depth]] = BLACK;
		} else if (color[k] == WHITE) {
			color[k] = GREY;
			next[k] = 0;
			stack[depth++] = k;
		}
	}
}

void
mf__check_cycles(struct mf__ctx *c)
{
	size_t n = c->m->nservices;
	int *color = xcalloc(n + 1, sizeof(*color));
	size_t *stack = xcalloc(n + 1, sizeof(*stack));
	size_t *next = xcalloc(n + 1, sizeof(*next));

	for (size_t i = 0; i < n; i++)
		if (color[i] == WHITE)
			visit(c, i, color, stack, next);
	free(color);
	free(stack);
	free(next);
}

static int
ip_any(const char *ip)
{
	return strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

/* The earlier port of the same number and protocol that p clashes with: on
 * the same address, or either on every address (0.0.0.0 or ::). Tables map
 * those keys to the first port (in manifest order) that has them, so a
 * manifest with tens of thousands of ports is checked in linear time. */
struct port_seen {
	struct strtab exact;	/* "ADDR PORT/PROTO" */
	struct strtab any;	/* "PORT/PROTO" published on every address */
	struct strtab all;	/* "PORT/PROTO" on whatever address */
	char **keys;		/* the tables' keys (owned), two per port */
	size_t nkeys;
};

static void
earliest(const struct strtab *t, const char *key, size_t *best)
{
	size_t v;

	if (strtab_get(t, key, &v) && v < *best)
		*best = v;
}

/* The first port p clashes with (its number in manifest order), or SIZE_MAX;
 * then p, number seq, joins the tables. */
static size_t
port_clash(struct port_seen *ps, const struct mf_port *p, size_t seq)
{
	char *exact = xasprintf("%s %d/%s", p->host_ip, p->host_port, p->proto);
	char *pp = xasprintf("%d/%s", p->host_port, p->proto);
	size_t best = SIZE_MAX;

	earliest(&ps->exact, exact, &best);
	earliest(ip_any(p->host_ip) ? &ps->all : &ps->any, pp, &best);
	strtab_add(&ps->exact, exact, seq, NULL);
	strtab_add(&ps->all, pp, seq, NULL);
	if (ip_any(p->host_ip))
		strtab_add(&ps->any, pp, seq, NULL);
	ps->keys[ps->nkeys++] = exact;
	ps->keys[ps->nkeys++] = pp;
	return best;
}

void
mf__check_ports(struct mf__ctx *c)
{
	struct manifest *m = c->m;
	struct port_seen ps;
	size_t total = 0, seq = 0, *svc_of;
	const struct mf_port **port_at;

	for (size_t i = 0; i < m->nservices; i++)
		total += m->services[i].nports;
	memset(&ps, 0, sizeof(ps));
	ps.keys = xcalloc(2 * total + 1, sizeof(*ps.keys));
	svc_of = xcalloc(total + 1, sizeof(*svc_of));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	port_at = xcalloc(total + 1, sizeof(*port_at));
	for (size_t i = 0; i < m->nservices; i++) {
		for (size_t j = 0; j < m->services[i].nports; j++, seq++) {
			const struct mf_port *p = &m->services[i].ports[j];
			size_t first = port_clash(&ps, p, seq);
			char *path;

			svc_of[seq] = i;
			port_at[seq] = p;
			if (first == SIZE_MAX)
				continue;
			path = xasprintf("services.%s.ports[%zu]", m->services[i].name, j);
			diag_add(c->d, p->line, p->col, path, "host port %s:%d/%s is already "
			    "published by service '%s' (line %d)", p->host_ip, p->host_port,
			    p->proto, m->services[svc_of[first]].name, port_at[first]->line);
			free(path);
		}
	}
	strtab_release(&ps.exact);
	strtab_release(&ps.any);
	strtab_release(&ps.all);
	strv_free(ps.keys, ps.nkeys);
	free(port_at);
	free(svc_of);
}

/* The order is the one of Kahn's algorithm run as passes over the services
 * in manifest order, each pass taking every service whose dependencies are
 * taken (earlier in the same pass counts), and the services that never can be
 * (those on or behind a cycle, which validation refuses) last. Run as written
 * that is quadratic in passes, so each service's pass is computed instead:
 * pass(s) = max(1, max over its dependencies d of pass(d), plus one when d
 * comes after s in the manifest), and the services are sorted by pass. */
#define PASS_BUSY	((size_t)-2)	/* on the walk's stack */
#define PASS_NEVER	((size_t)-1)	/* waits on a cycle */

/* The pass a dependency d of s asks s to wait for. */
static size_t
pass_after(size_t d, size_t s, const size_t *pass)
{
	if (pass[d] == PASS_NEVER || pass[d] == PASS_BUSY)
		return PASS_NEVER;
	return d < s ? pass[d] : pass[d] + 1;
}

/* pass[] for root and what it depends on, depth first with a stack of its
 * own (a chain of ten thousand services is no deeper than one). */
static void
compute_passes(const struct manifest *m, size_t root, size_t *pass, size_t *stack, size_t *next)
{
	size_t depth = 0;

	stack[depth++] = root;
	pass[root] = PASS_BUSY;
	next[root] = 0;
	while (depth) {
		size_t s = stack[depth - 1], want;
		const struct mf_service *sv = &m->services[s], *d;

		if (next[s] < sv->ndepends_on) {
			d = manifest_service(m, sv->depends_on[next[s]++]);
			if (d && d != sv && pass[d - m->services] == 0) {
				pass[d - m->services] = PASS_BUSY;
				next[d - m->services] = 0;
				stack[depth++] = (size_t)(d - m->services);
			}
			continue;
		}
		/* every dependency is known now (or on this stack: a cycle) */
		want = 1;
		for (size_t j = 0; j < sv->ndepends_on && want != PASS_NEVER; j++) {
			size_t p;

			d = manifest_service(m, sv->depends_on[j]);
			if (!d || d == sv)
				continue;
			p = pass_after((size_t)(d - m->services), s, pass);
			if (p > want)
				want = p;
		}
		pass[s] = want;
		depth--;
	}
}

size_t *
manifest_topo_order(const struct manifest *m)
{
	size_t n = m->nservices;
	size_t *order = xcalloc(n + 1, sizeof(*order));
	size_t *pass = xcalloc(n + 1, sizeof(*pass));
	size_t *stack = xcalloc(n + 1, sizeof(*stack));
	size_t *next = xcalloc(n + 1, sizeof(*next));
	size_t *count = xcalloc(n + 2, sizeof(*count));

	for (size_t i = 0; i < n; i++)
		if (pass[i] == 0)
			compute_passes(m, i, pass, stack, next);
	/* a counting sort by pass, stable: manifest order within a pass; the
	 * services that never can be go last, in bucket n + 1 */
	for (size_t i = 0; i < n; i++)
		count[pass[i] == PASS_NEVER ? n + 1 : pass[i]]++;
	for (size_t p = 0, at = 0; p <= n + 1; p++) {
		size_t c = count[p];

		count[p] = at;
		at += c;
	}
	for (size_t i = 0; i < n; i++)
		order[count[pass[i] == PASS_NEVER ? n + 1 : pass[i]]++] = i;
	free(count);
	free(next);
	free(stack);
	free(pass);
	return order;
}
