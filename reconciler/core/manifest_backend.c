/*
 * manifest: the keys only one backend honours, refused on the other
 * (docs/manifest.md, "Keys per backend"). A manifest is parsed the same way
 * for every backend; this check runs once the backend is known (validate
 * --backend, every pipeline run), each refusal at the key's own position.
 */
#include "manifest_int.h"
#include "placement.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The keys under a service that only backend swarm honours: the key as the
 * message names it, and the path to it. */
static const struct {
	const char *name;
	const char *path[5];
} swarm_only[] = {
	{ "deploy.mode", { "deploy", "mode" } },
	{ "deploy.replicas", { "deploy", "replicas" } },
	{ "deploy.endpoint_mode", { "deploy", "endpoint_mode" } },
	{ "deploy.placement.preferences", { "deploy", "placement", "preferences" } },
	{ "deploy.placement.max_replicas_per_node",
	  { "deploy", "placement", "max_replicas_per_node" } },
	{ "deploy.rollback_config", { "deploy", "rollback_config" } },
	{ "deploy.resources.reservations.cpus", { "deploy", "resources", "reservations", "cpus" } },
	{ "update.parallelism", { "update", "parallelism" } },
	{ "update.delay", { "update", "delay" } },
};

/* A key under a service that only backend containers honours, and why. */
static const struct {
	const char *key;
	const char *why;
} containers_only[] = {
	{ "probe", "the HTTP probe execs in the container through the local engine; on swarm "
	  "the gate is the healthcheck: use healthcheck" },
	{ "on_dependency_update", "a signal or an exec reaches a container through the local "
	  "engine, and a swarm service's tasks run on any node: remove it" },
};

/* The key node at the end of path (keys from the service down), or NULL. */
static const struct yt_node *
find_key(const struct yt_node *svc, const char *const *path)
{
	const struct yt_node *map = svc;
	size_t i;

	for (i = 0; path[i + 1]; i++)
		if (!(map = yt_get(map, path[i])) || map->type != YT_MAP)
			return NULL;
	return yt_get_key(map, path[i]);
}

static void
refuse_swarm_keys(struct mf__ctx *c, const struct mf_service *s)
{
	for (size_t i = 0; i < sizeof(swarm_only) / sizeof(swarm_only[0]); i++) {
		const struct yt_node *k = find_key(s->node, swarm_only[i].path);
		char *p;

		if (!k)
			continue;
		p = xasprintf("services.%s.%s", s->name, swarm_only[i].name);
		mf__err_at(c, k, p, "'%s' applies to backend swarm only (this host's backend is "
		    "containers): set backend: swarm in the daemon's config, or remove it",
		    swarm_only[i].name);
		free(p);
	}
}

/* On backend containers a constraint places a service on hosts of a fleet,
 * by the daemon's host name and labels (docs/fleet.md): nothing else of a
 * Swarm node is there to read. */
static void
refuse_node_attrs(struct mf__ctx *c, const struct mf_service *s)
{
	const struct yt_node *cs = yt_get(yt_get(yt_get(s->node, "deploy"), "placement"),
	    "constraints");

	for (size_t i = 0; i < s->deploy.nconstraints; i++) {
		char *p;

		if (placement_attr_ok(s->deploy.constraints[i]))
			continue;
		p = xasprintf("services.%s.deploy.placement.constraints[%zu]", s->name, i);
		mf__err_at(c, cs && cs->type == YT_SEQ && i < cs->n ? cs->items[i] : s->node, p,
		    "constraint '%s' applies to backend swarm only (this host's backend is "
		    "containers, where a constraint reads node.hostname or node.labels.NAME: the "
		    "host and host_labels of each daemon's config)", s->deploy.constraints[i]);
		free(p);
	}
}

/* A secret file is a bind mount of a host file on backend containers: a
 * secret kept in Git has none, and its plaintext is never written to disk
 * here. Swarm makes a Swarm secret of the value itself: allowed there. */
static void
refuse_git_secret_files(struct mf__ctx *c, const struct mf_service *s)
{
	const struct yt_node *list = yt_get(s->node, "secrets");

	for (size_t i = 0; i < s->nsecrets && list && list->type == YT_SEQ && i < list->n; i++) {
		const struct yt_node *it = list->items[i], *src = yt_get(it, "source");
		const struct mf_git_secret *g = manifest_git_secret(c->m, s->secrets[i].source);
		char *p;

		if (!g)
			continue;
		p = xasprintf("services.%s.secrets[%zu]%s", s->name, i, src ? ".source" : "");
		mf__err_at(c, src ? src : it, p, "secret '%s' is kept encrypted in Git (%s) and "
		    "backend containers mounts a secret file from the host's secrets directory: its "
		    "plaintext is never written to disk; use it in environment as {secret: %s}, or "
		    "put the file in the secrets directory and remove it from the secrets section",
		    g->name, g->file ? g->file : "?", g->name);
		free(p);
	}
}

/* A host address other than 0.0.0.0 (every address, as Swarm publishes) in
 * a port as written: "127.0.0.1:80:80", "[::1]:80:80"; NULL when none. */
static char *
port_address(const char *v)
{
	const char *colon = strchr(v, ':');

	if (v[0] == '[')
		return xstrndup(v + 1, strcspn(v + 1, "]"));
	if (colon && strchr(colon + 1, ':') && strncmp(v, "0.0.0.0:", 8) != 0)
		return xstrndup(v, (size_t)(colon - v));
	return NULL;
}

static void
refuse_containers_keys(struct mf__ctx *c, const struct mf_service *s)
{
	const struct yt_node *ports = yt_get(s->node, "ports");

	for (size_t i = 0; i < sizeof(containers_only) / sizeof(containers_only[0]); i++) {
		const struct yt_node *k = yt_get_key(s->node, containers_only[i].key);
		char *p;

		if (!k)
			continue;
		p = xasprintf("services.%s.%s", s->name, containers_only[i].key);
		mf__err_at(c, k, p, "'%s' applies to backend containers only (this host's backend "
		    "is swarm): %s", containers_only[i].key, containers_only[i].why);
		free(p);
	}
	for (size_t i = 0; ports && ports->type == YT_SEQ && i < ports->n; i++) {
		const struct yt_node *it = ports->items[i];
		char *addr, *p;

		if (it->type != YT_SCALAR || !(addr = port_address(it->value)))
			continue;
		p = xasprintf("services.%s.ports[%zu]", s->name, i);
		mf__err_at(c, it, p, "host address '%s' applies to backend containers only (this "
		    "host's backend is swarm): swarm publishes a port on every address of every "
		    "node; remove the address", addr);
		free(p);
		free(addr);
	}
}

/* Swarm services attach to overlay networks; a network that names no driver
 * is made one by the swarm backend. */
static void
refuse_network_drivers(struct mf__ctx *c, const struct yt_node *nets)
{
	for (size_t i = 0; nets && nets->type == YT_MAP && i < nets->n; i++) {
		const struct yt_node *drv = yt_get(nets->items[i], "driver");
		char *p;

		if (!drv || drv->type != YT_SCALAR || strcmp(drv->value, "overlay") == 0)
			continue;
		p = xasprintf("networks.%s.driver", nets->keys[i]->value);
		mf__err_at(c, drv, p, "driver '%s' applies to backend containers only (this host's "
		    "backend is swarm): swarm services attach to overlay networks; set driver: "
		    "overlay, or leave driver out", drv->value);
		free(p);
	}
}

int
manifest_check_backend(const struct manifest *m, const char *backend, struct diag *d)
{
	struct mf__ctx c = { d, (struct manifest *)m };
	size_t before = d->n;
	int swarm;

	if (strcmp(backend, "swarm") == 0) {
		swarm = 1;
	} else if (strcmp(backend, "containers") == 0) {
		swarm = 0;
	} else {
		char *e = yt_escape(backend);

		diag_add(d, 0, 0, "", "unknown backend '%s' (expected containers or swarm)", e);
		free(e);
		return -1;
	}
	for (size_t i = 0; i < m->nservices; i++) {
		if (swarm)
			refuse_containers_keys(&c, &m->services[i]);
		else {
			refuse_swarm_keys(&c, &m->services[i]);
			refuse_node_attrs(&c, &m->services[i]);
			refuse_git_secret_files(&c, &m->services[i]);
		}
	}
	if (swarm && m->doc && m->doc->root)
		refuse_network_drivers(&c, yt_get(m->doc->root, "networks"));
	if (d->n == before)
		return 0;
	diag_sort(d);
	return -1;
}
