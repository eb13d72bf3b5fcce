/*
 * manifest: one service: the keys it may have, its image and command, the
 * smaller fields (restart, logging, labels, user, working_dir, depends_on),
 * and the defaults a service gets for what it leaves out. The larger fields
 * have their own files: manifest_env.c, manifest_networks.c,
 * manifest_volumes.c, manifest_rollout.c, manifest_deploy.c.
 */
#include "durations.h"
#include "manifest_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define COOLDOWN_MAX (365LL * 24 * 3600 * 1000)	/* 365d */

static const char *const service_keys[] = {
	"image", "allow_tags", "command", "entrypoint", "environment", "env_files", "secrets",
	"ports", "volumes", "networks", "depends_on", "restart", "logging", "labels", "user",
	"working_dir", "stop_grace_period", "healthcheck", "probe", "update", "deploy", "hooks",
	"on_dependency_update", "backup_before_deploy", "track", NULL,
};

static void
parse_image(struct mf__ctx *c, struct mf_service *s, struct yt_node *v, const char *p)
{
	s->image_node = v;
	if ((s->image = mf__get_str(c, v, p)))
		mf__check_image(c, v, p, s->image, s->allow_tags ?
		    MF__IMAGE_SERVICE_TAGS_OK : MF__IMAGE_SERVICE);
}

static void
parse_restart(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p)
{
	if (!(s->restart = mf__get_str(c, v, p)) || manifest_restart_ok(s->restart))
		return;
	if (strncmp(s->restart, "on-failure:", 11) == 0)
		mf__err_at(c, v, p, "invalid restart policy '%s' (on-failure:N needs N from "
		    "1 to 99999, without leading zeros)", s->restart);
	else
		mf__err_at(c, v, p, "invalid restart policy '%s' (expected no, always, "
		    "on-failure, on-failure:N or unless-stopped)", s->restart);
}

static void
parse_logging(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p)
{
	static const char *const keys[] = { "driver", "options", NULL };

	if (mf__is_map(c, v, p)) {
		mf__check_keys(c, v, p, keys);
		MF__FOR_KEYS(v, p, lk, lv, lp) {
			if (strcmp(lk, "driver") == 0)
				s->log_driver = mf__get_name_str(c, lv, lp);
			else if (strcmp(lk, "options") == 0)
				s->log_opts = mf__get_kv(c, lv, lp, &s->nlog_opts, 0);
		}
	}
}

static void
parse_user(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p)
{
	long long uid;

	if (yt_int(v, &uid) == 0 && uid >= 0)	/* user: 1000 */
		s->user = xasprintf("%lld", uid);
	else if ((s->user = mf__get_str(c, v, p)) && !mf__user_ok(s->user))
		mf__err_at(c, v, p, "invalid user '%s' (expected uid[:gid] or name[:group])",
		    s->user);
}

/* A cooldown: days first (3d, 1d12h), then the units of every duration. Its
 * own parser, so that no other duration of a manifest takes days. */
static int
cooldown_parse(const char *v, int64_t *out)
{
	int64_t days = 0, rest = 0;
	const char *p = v;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p > v && *p == 'd') {
		errno = 0;
		if (p - v > 4)
			return errno = ERANGE, -1;
		days = strtoll(v, NULL, 10);
		v = p + 1;
		if (!*v) {
			*out = days * 24 * 3600 * 1000;
			return 0;
		}
	}
	if (duration_parse(v, &rest) < 0)
		return -1;
	if (rest > COOLDOWN_MAX)
		return errno = ERANGE, -1;
	*out = days * 24 * 3600 * 1000 + rest;
	return 0;
}

static void
parse_cooldown(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p)
{
	long long zero;

	errno = 0;
	if (yt_kind(v) == YT_KIND_STR && cooldown_parse(v->value, &s->track.cooldown) == 0 &&
	    s->track.cooldown <= COOLDOWN_MAX)
		return;
	if (yt_kind(v) == YT_KIND_STR && (errno == ERANGE || errno == 0)) {
		mf__err_at(c, v, p, "cooldown '%s' is more than the limit of 365d", v->value);
	} else if (yt_int(v, &zero) == 0 && zero == 0) {
		s->track.cooldown = 0;
	} else {
		mf__err_at(c, v, p, "invalid cooldown %s%s%s (expected e.g. 3d, 72h, 1d12h or 0)",
		    v && v->type == YT_SCALAR ? "'" : "", v && v->type == YT_SCALAR ? v->value :
		    yt_type_name(v), v && v->type == YT_SCALAR ? "'" : "");
	}
}

static void
parse_track(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p)
{
	static const char *const keys[] = { "tag", "cooldown", NULL };

	s->track.line = v ? v->line : 0;
	s->track.col = v ? v->col : 0;
	if (!mf__is_map(c, v, p))
		return;
	s->track.set = 1;
	mf__check_keys(c, v, p, keys);
	MF__FOR_KEYS(v, p, tk, tv, tp) {
		if (strcmp(tk, "tag") == 0) {
			if ((s->track.tag = mf__get_str(c, tv, tp)) && !manifest_tag_ok(s->track.tag))
				mf__err_at(c, tv, tp, "invalid tag '%s' (expected [A-Za-z0-9_]"
				    "[A-Za-z0-9_.-]{0,127}, the tag alone, without the name)",
				    s->track.tag);
		} else if (strcmp(tk, "cooldown") == 0) {
			parse_cooldown(c, s, tv, tp);
		}
	}
}

/* Once the image is read: track needs it pinned, and a tag to follow. */
static void
check_track(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	const struct yt_node *t = yt_get(n, "track");
	char *name = NULL, *tag = NULL, *digest = NULL, *p;

	if (!s->track.set || !s->image)
		return;
	p = yt_path_key(path, "track");
	if (!manifest_image_pinned(s->image)) {
		mf__err_at(c, t, p, "track needs the image pinned by digest "
		    "(NAME[:TAG]@sha256:…): update-images writes the new digest there");
	} else if (!s->track.tag && manifest_image_split(s->image, &name, &tag, &digest) == 0) {
		if (*tag)
			s->track.tag = xstrdup(tag);
		else
			mf__err_at(c, t, p, "track needs a tag: write track.tag, or the image as "
			    "NAME:TAG@sha256:…");
	}
	free(name);
	free(tag);
	free(digest);
	free(p);
}

/* One key of a service mapping; check_keys has reported the unknown ones. */
static void
parse_service_key(struct mf__ctx *c, struct mf_service *s, const char *key, struct yt_node *v,
    const char *p, const struct yt_node *root)
{
	if (strcmp(key, "image") == 0) {
		parse_image(c, s, v, p);
	} else if (strcmp(key, "command") == 0) {
		mf__get_cmd(c, v, p, &s->command);
	} else if (strcmp(key, "entrypoint") == 0) {
		mf__get_cmd(c, v, p, &s->entrypoint);
	} else if (strcmp(key, "environment") == 0) {
		mf__parse_env(c, s, v, p);
	} else if (strcmp(key, "env_files") == 0) {
		mf__parse_env_files(c, s, v, p);
	} else if (strcmp(key, "secrets") == 0) {
		mf__parse_secrets(c, s, v, p);
	} else if (strcmp(key, "ports") == 0) {
		mf__parse_ports(c, s, v, p);
	} else if (strcmp(key, "volumes") == 0) {
		mf__parse_mounts(c, s, v, p, yt_get(root, "volumes"));
	} else if (strcmp(key, "networks") == 0) {
		mf__parse_networks(c, s, v, p, yt_get(root, "networks"));
	} else if (strcmp(key, "depends_on") == 0) {
		s->depends_on = mf__get_str_list(c, v, p, &s->ndepends_on, &s->depends_on_nodes);
		if (s->depends_on)
			mf__check_dups(c, v, p, s->depends_on, s->ndepends_on, "dependency");
	} else if (strcmp(key, "restart") == 0) {
		parse_restart(c, s, v, p);
	} else if (strcmp(key, "logging") == 0) {
		parse_logging(c, s, v, p);
	} else if (strcmp(key, "labels") == 0) {
		s->labels = mf__get_kv(c, v, p, &s->nlabels, MF__KV_LIST | MF__KV_LABELS);
	} else if (strcmp(key, "user") == 0) {
		parse_user(c, s, v, p);
	} else if (strcmp(key, "working_dir") == 0) {
		if ((s->working_dir = mf__get_str(c, v, p)) && s->working_dir[0] != '/')
			mf__err_at(c, v, p, "working_dir must be an absolute path, found '%s'",
			    s->working_dir);
	} else if (strcmp(key, "stop_grace_period") == 0) {
		mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &s->stop_grace);
	} else if (strcmp(key, "healthcheck") == 0) {
		mf__parse_healthcheck(c, s, v, p);
	} else if (strcmp(key, "probe") == 0) {
		mf__parse_probe(c, s, v, p);
	} else if (strcmp(key, "update") == 0) {
		mf__parse_update(c, s, v, p);
	} else if (strcmp(key, "hooks") == 0) {
		mf__parse_hooks(c, s, v, p);
	} else if (strcmp(key, "on_dependency_update") == 0) {
		mf__parse_on_dep(c, s, v, p);
	} else if (strcmp(key, "backup_before_deploy") == 0) {
		s->backup_before_deploy = mf__get_str(c, v, p);
	} else if (strcmp(key, "deploy") == 0) {
		mf__parse_deploy(c, s, v, p);
	} else if (strcmp(key, "track") == 0) {
		parse_track(c, s, v, p);
	}
}

/* What a service gets for the keys it leaves out, once all of them are read. */
static void
service_defaults(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path)
{
	if (!s->restart)
		s->restart = xstrdup("unless-stopped");
	if (!s->log_driver && !yt_get(n, "logging")) {
		s->log_driver = xstrdup("json-file");
		s->log_opts = xcalloc(2, sizeof(*s->log_opts));
		s->log_opts[0].key = xstrdup("max-file");
		s->log_opts[0].value = xstrdup("3");
		s->log_opts[1].key = xstrdup("max-size");
		s->log_opts[1].value = xstrdup("10m");
		s->nlog_opts = 2;
	} else if (!s->log_driver) {
		s->log_driver = xstrdup("json-file");
	}
	if (s->nnetworks == 0 && !yt_get(n, "networks")) {
		struct mf_netref *r = MF__GROW(s->networks, s->nnetworks);

		r->name = xstrdup("default");
	}
	if (!s->update.strategy_explicit)
		s->update.strategy = s->nports ? MF_STOP_FIRST : MF_START_FIRST;
	else if (s->update.strategy == MF_START_FIRST && s->nports) {
		const struct yt_node *u = yt_get(yt_get(n, "update"), "strategy");
		char *p = yt_path_key(path, "update.strategy");

		mf__err_at(c, u, p, "start-first cannot be used with published host ports (two "
		    "containers cannot bind one port): use stop-first or remove the ports");
		free(p);
	}
	/* a rollback goes the way the update went, unless told otherwise */
	if (!s->deploy.rollback.order_explicit)
		s->deploy.rollback.order = s->update.strategy;
}

void
mf__parse_service(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path, const struct yt_node *root)
{
	const struct yt_node *img = yt_get(n, "image"), *at = yt_get(n, "allow_tags");

	s->node = (struct yt_node *)n;
	s->update.min_ready = 5000;
	s->stop_grace = 10000;
	s->deploy.replicas = -1;
	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, service_keys);
	/* before the image, whose check depends on it */
	if (at) {
		char *p = yt_path_key(path, "allow_tags");

		mf__get_bool(c, at, p, &s->allow_tags);
		free(p);
	}
	if (!img)
		mf__missing(c, n, path, "image");
	MF__FOR_KEYS(n, path, key, v, p) {
		parse_service_key(c, s, key, v, p, root);
	}
	service_defaults(c, s, n, path);
	check_track(c, s, n, path);
	mf__check_gate(c, s, n, path);
}
