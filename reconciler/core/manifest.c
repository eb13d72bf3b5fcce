/*
 * manifest: YAML tree to typed model, with every validation rule of
 * docs/manifest.md. Each rule reports at the node that is wrong; the walk goes
 * on so that one run shows every error. This file holds the entry points, the
 * top level (version, project, the order sections are read in), freeing and
 * lookups; each section has its own manifest_*.c (see manifest_int.h).
 */
#include "manifest_int.h"
#include "strtab.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const top_keys[] = {
	"version", "project", "services", "volumes", "networks", "backups", "notifications", "fleet",
	"secrets", NULL,
};

/* Services are looked up by name for every dependency, in checks and plans:
 * with thousands of them a scan would make those quadratic. */
static void
index_services(struct manifest *m)
{
	m->service_index = xcalloc(1, sizeof(*m->service_index));
	strtab_init(m->service_index);
	for (size_t i = 0; i < m->nservices; i++)
		strtab_add(m->service_index, m->services[i].name, i, NULL);
}

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
			    "services, volumes, networks, backups, notifications, fleet, secrets, "
			    "or x-*)", k->value);
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
		index_services(m);
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
	if ((v = yt_get(root, "fleet")) && !yt_is_null(v))
		mf__parse_fleet(c, v);
	if ((v = yt_get(root, "secrets")) && !yt_is_null(v))
		mf__parse_git_secrets(c, v);
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
	free(s->track.tag);
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
	mf__deploy_release(&s->deploy);
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
	mf__fleet_release(m);
	mf__git_secrets_release(m);
	if (m->service_index)
		strtab_release(m->service_index);
	free(m->service_index);
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
	size_t i;

	if (m->service_index)
		return strtab_get(m->service_index, name, &i) ? &m->services[i] : NULL;
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
