/*
 * manifest: YAML tree to typed model, with every validation rule of
 * docs/manifest.md. Each rule reports at the node that is wrong; the walk goes
 * on so that one run shows every error.
 */
#include "manifest_int.h"
#include "cron.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --- cross checks --------------------------------------------------------- */

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

/* --- entry points --------------------------------------------------------- */

static const char *const top_keys[] = {
	"version", "project", "services", "volumes", "networks", "backups", "notifications", NULL,
};

static void
parse_top(struct mf__ctx *c, const struct yt_node *root)
{
	struct manifest *m = c->m;
	const struct yt_node *v, *svcs;
	long long version;

	for (size_t i = 0; i < root->n; i++) {
		const struct yt_node *k = root->keys[i];

		if (strncmp(k->value, "x-", 2) == 0)
			continue;
		for (size_t j = 0; top_keys[j]; j++)
			if (strcmp(k->value, top_keys[j]) == 0)
				goto known;
		const char *hint = mf__closest(k->value, top_keys);

		if (hint)
			mf__err_at(c, k, k->value, "unknown key '%s' (did you mean '%s'?)", k->value, hint);
		else
			mf__err_at(c, k, k->value, "unknown key '%s' (expected one of: version, project, "
			    "services, volumes, networks, backups, notifications, or x-*)", k->value);
known:
		;
	}
	if (!(v = yt_get(root, "version"))) {
		mf__missing(c, root, "", "version");
	} else if (yt_int(v, &version) == 0) {
		m->version = version > 0 && version < 1000 ? (int)version : -1;
		if (m->version != MANIFEST_VERSION)
			mf__err_at(c, v, "version", "unsupported version %s (this reconciler reads "
			    "version %d)", v->value, MANIFEST_VERSION);
	} else {
		/* "1" and 1.0 print like 1: say what they are */
		mf__err_at(c, v, "version", "expected the integer %d, found %s%s%s%s", MANIFEST_VERSION,
		    yt_type_name(v), yt_is_null(v) || v->type != YT_SCALAR ? "" : " '",
		    yt_is_null(v) || v->type != YT_SCALAR ? "" : v->value,
		    yt_is_null(v) || v->type != YT_SCALAR ? "" : "'");
	}
	if (!(v = yt_get(root, "project"))) {
		mf__missing(c, root, "", "project");
	} else if ((m->project = mf__get_str(c, v, "project")) && !mf__name_ok(m->project)) {
		mf__err_at(c, v, "project", "invalid project name '%s' (1-63 lowercase letters, digits, "
		    "'_', '-'; starting with a letter or digit)", m->project);
	}
	svcs = yt_get(root, "services");
	if (!svcs) {
		mf__missing(c, root, "", "services");
	} else if (yt_is_null(svcs)) {
		/* an empty services section is allowed: nothing runs */
	} else if (mf__is_map(c, svcs, "services")) {
		m->services = xcalloc(svcs->n + 1, sizeof(*m->services));
		for (size_t i = 0; i < svcs->n; i++) {
			struct mf_service *s = &m->services[m->nservices++];

			s->name = xstrdup(svcs->keys[i]->value);
			s->line = svcs->keys[i]->line;
			s->col = svcs->keys[i]->col;
		}
		for (size_t i = 0; i < svcs->n; i++) {
			char *p = yt_path_key("services", svcs->keys[i]->value);

			mf__check_name(c, svcs->keys[i], p, "service");
			mf__parse_service(c, &m->services[i], svcs->items[i], p, root);
			free(p);
		}
	}
	if ((v = yt_get(root, "volumes")) && !yt_is_null(v))
		mf__parse_volumes(c, v);
	v = yt_get(root, "networks");
	mf__parse_networks_top(c, v && !yt_is_null(v) ? v : NULL);
	if ((v = yt_get(root, "backups")) && !yt_is_null(v))
		mf__parse_backups(c, v);
	if ((v = yt_get(root, "notifications")) && !yt_is_null(v))
		mf__parse_notifications(c, v);
	mf__check_depends(c);
	mf__check_cycles(c);
	mf__check_ports(c);
}

int
manifest_parse(struct manifest **out, const char *file, const char *src, size_t len,
    struct diag *d)
{
	struct manifest *m = xcalloc(1, sizeof(*m));
	struct mf__ctx c = { d, m };
	size_t before = d->n;

	*out = NULL;
	m->file = xstrdup(file ? file : "-");
	m->src = xstrndup(src, len);
	m->srclen = len;
	if (yt_parse(&m->doc, m->src, len, d) < 0)
		goto fail;
	if (!m->doc->root || yt_is_null(m->doc->root)) {
		diag_add(d, 1, 1, "", "empty document (a manifest needs version, project and "
		    "services)");
		goto fail;
	}
	if (m->doc->root->type != YT_MAP) {
		mf__err_at(&c, m->doc->root, "", "the top level must be a mapping, found %s",
		    yt_type_name(m->doc->root));
		goto fail;
	}
	parse_top(&c, m->doc->root);
	if (d->n != before)
		goto fail;
	*out = m;
	return 0;
fail:
	diag_sort(d);
	manifest_free(m);
	return -1;
}

int
manifest_load(struct manifest **out, const char *path, struct diag *d)
{
	char err[ERR_LEN], *src;
	size_t len;
	int rc;

	*out = NULL;
	if (file_read(path, YT_MAX_SIZE + 1, &src, &len, err) < 0) {
		if (strstr(err, "larger than"))
			diag_add(d, 0, 0, "", "document is larger than the limit of %u bytes",
			    YT_MAX_SIZE);
		else
			diag_add(d, 0, 0, "", "%s", err);
		return -1;
	}
	rc = manifest_parse(out, path, src, len, d);
	free(src);
	return rc;
}

static void
service_release(struct mf_service *s)
{
	free(s->name);
	free(s->image);
	mf__cmd_release(&s->command);
	mf__cmd_release(&s->entrypoint);
	for (size_t i = 0; i < s->nenv; i++) {
		free(s->env[i].name);
		free(s->env[i].value);
		free(s->env[i].secret);
	}
	free(s->env);
	strv_free(s->env_files, s->nenv_files);
	for (size_t i = 0; i < s->nsecrets; i++) {
		free(s->secrets[i].source);
		free(s->secrets[i].target);
	}
	free(s->secrets);
	for (size_t i = 0; i < s->nports; i++)
		free(s->ports[i].host_ip);
	free(s->ports);
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].source);
		free(s->mounts[i].target);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->nnetworks; i++) {
		free(s->networks[i].name);
		strv_free(s->networks[i].aliases, s->networks[i].naliases);
	}
	free(s->networks);
	strv_free(s->depends_on, s->ndepends_on);
	free(s->depends_on_nodes);
	free(s->restart);
	free(s->log_driver);
	mf__kv_free(s->log_opts, s->nlog_opts);
	mf__kv_free(s->labels, s->nlabels);
	free(s->user);
	free(s->working_dir);
	mf__cmd_release(&s->health.test);
	free(s->probe.path);
	for (size_t i = 0; i < s->nhooks; i++) {
		free(s->hooks[i].name);
		free(s->hooks[i].image);
		mf__cmd_release(&s->hooks[i].command);
	}
	free(s->hooks);
	for (size_t i = 0; i < s->non_dep; i++) {
		free(s->on_dep[i].service);
		free(s->on_dep[i].signal);
		mf__cmd_release(&s->on_dep[i].exec);
	}
	free(s->on_dep);
	free(s->backup_before_deploy);
}

void
manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nservices; i++)
		service_release(&m->services[i]);
	free(m->services);
	for (size_t i = 0; i < m->nvolumes; i++) {
		free(m->volumes[i].key);
		free(m->volumes[i].name);
		free(m->volumes[i].driver);
		mf__kv_free(m->volumes[i].opts, m->volumes[i].nopts);
	}
	free(m->volumes);
	for (size_t i = 0; i < m->nnetworks; i++) {
		free(m->networks[i].key);
		free(m->networks[i].name);
		free(m->networks[i].driver);
	}
	free(m->networks);
	for (size_t i = 0; i < m->nbackups; i++) {
		struct mf_backup *b = &m->backups[i];

		free(b->name);
		free(b->service);
		free(b->schedule);
		free(b->timezone);
		mf__cmd_release(&b->command);
		free(b->destination);
		mf__cmd_release(&b->restore);
	}
	free(m->backups);
	for (size_t i = 0; i < m->nnotifications; i++) {
		free(m->notifications[i].name);
		free(m->notifications[i].url_secret);
		free(m->notifications[i].hmac_secret);
	}
	free(m->notifications);
	yt_free(m->doc);
	free(m->src);
	free(m->project);
	free(m->file);
	free(m);
}

#define FIND(arr, n, field, key) do { \
	for (size_t _k = 0; _k < (n); _k++) \
		if ((arr)[_k].field && strcmp((arr)[_k].field, (key)) == 0) \
			return &(arr)[_k]; \
	return NULL; \
} while (0)

struct mf_service *
manifest_service(const struct manifest *m, const char *name)
{
	FIND(m->services, m->nservices, name, name);
}

struct mf_volume *
manifest_volume(const struct manifest *m, const char *key)
{
	FIND(m->volumes, m->nvolumes, key, key);
}

struct mf_network *
manifest_network(const struct manifest *m, const char *key)
{
	FIND(m->networks, m->nnetworks, key, key);
}

struct mf_backup *
manifest_backup(const struct manifest *m, const char *name)
{
	FIND(m->backups, m->nbackups, name, name);
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
