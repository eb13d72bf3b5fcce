/*
 * compose_report: the converter's reports, each at the position of the key
 * it is about, and the Compose keys the manifest has no equivalent for,
 * with what to do instead. Nothing is dropped without a report.
 */
#include "compose_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --- reports -------------------------------------------------------------- */

void
compose__report(struct cctx *c, const struct yt_node *n, const char *path, enum clevel lv,
    const char *fmt, ...)
{
	static const char *const prefix[] = {
		"note: ", "secret: ", "not mapped: ", "not pinned: ", "",
	};
	char *msg, *emsg, *epath;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	epath = yt_escape(path ? path : "");
	emsg = yt_escape(msg ? msg : "out of memory");
	diag_add(c->d, n ? n->line : 0, n ? n->col : 0, epath, "%s%s", prefix[lv], emsg);
	if (lv == L_UNMAPPED || lv == L_UNPINNED)
		c->unmapped++;
	if (lv == L_ERROR)
		c->failed = 1;
	free(emsg);
	free(epath);
	free(msg);
}

/* --- which keys map ------------------------------------------------------- */

struct unmapped_key {
	const char *key;
	const char *why;
};

/* The service keys the manifest has no equivalent for, with what to do
 * instead; the last entry answers for any other key. */
static const struct unmapped_key unmapped_keys[] = {
	{ "profiles", "every service of the manifest runs: leave this one out of the output if it "
	  "must not" },
	{ "extends", "not followed: copy the keys of the extended service into this one" },
	{ "links", "on a shared network the service name is an alias already; other names go "
	  "under networks.NAME.aliases of the linked service" },
	{ "external_links", "join the other project's network (external: true) instead" },
	{ "expose", "ports are reachable between containers on a network without it" },
	{ "configs", "mount the file with a bind mount (volumes) instead" },
	{ "network_mode", "the manifest attaches services to networks only" },
	{ "scale", "one container per service" },
	{ "volumes_from", "mount the same named volumes instead" },
	{ "stop_signal", "the manifest stops with the image's stop signal" },
	{ "pull_policy", "images are pulled by digest, when absent" },
	{ NULL, "the manifest has no equivalent" },
};

static const char *const mapped_keys[] = {
	"image", "build", "command", "entrypoint", "environment", "env_file", "secrets", "ports",
	"volumes", "networks", "depends_on", "restart", "logging", "labels", "user", "working_dir",
	"stop_grace_period", "healthcheck", "container_name", "deploy", NULL,
};

void
compose__check_service_keys(struct cctx *c, struct csvc *s)
{
	const struct yt_node *n = s->node;

	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = n->keys[i];
		const char *key = k->type == YT_SCALAR ? k->value : "?";
		char *p = yt_path_key(s->path, key);
		size_t j;

		for (j = 0; mapped_keys[j]; j++)
			if (strcmp(key, mapped_keys[j]) == 0)
				break;
		if (mapped_keys[j]) {
			/* mapped */
		} else if (strncmp(key, "x-", 2) == 0) {
			compose__report(c, k, p, L_NOTE, "extension field, left out");
		} else {
			for (j = 0; unmapped_keys[j].key; j++)
				if (strcmp(key, unmapped_keys[j].key) == 0)
					break;
			compose__report(c, k, p, L_UNMAPPED, "%s", unmapped_keys[j].why);
		}
		free(p);
	}
}

void
compose__check_top_keys(struct cctx *c)
{
	static const char *const known[] = {
		"version", "name", "services", "volumes", "networks", "secrets", NULL,
	};
	const struct yt_node *r = c->root;

	for (size_t i = 0; i < r->n; i++) {
		const char *k = r->keys[i]->type == YT_SCALAR ? r->keys[i]->value : "?";
		size_t j;

		for (j = 0; known[j]; j++)
			if (strcmp(k, known[j]) == 0)
				break;
		if (known[j] && strcmp(k, "version") == 0)
			compose__report(c, r->keys[i], k, L_NOTE, "Compose's version is obsolete; the manifest "
			    "has its own (version: 1)");
		else if (strncmp(k, "x-", 2) == 0)
			compose__report(c, r->keys[i], k, L_NOTE, "extension field: anchors are expanded where they "
			    "are used, the field itself is left out");
		else if (strcmp(k, "configs") == 0)
			compose__report(c, r->keys[i], k, L_UNMAPPED, "mount each config file with a bind mount "
			    "(volumes) instead");
		else if (!known[j])
			compose__report(c, r->keys[i], k, L_UNMAPPED, "the manifest has no equivalent");
	}
}
