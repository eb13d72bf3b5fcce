/*
 * manifest: storage: a service's mounts (a declared volume or an absolute
 * host path) and the top-level volumes section.
 */
#include "manifest_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void
parse_volume(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path,
    const struct yt_node *top_volumes)
{
	struct mf_mount mnt = { 0 };
	char *copy, *f[4] = { 0 };
	size_t nf = 0;

	if (n->type != YT_SCALAR || yt_is_null(n)) {
		mf__err_at(c, n, path, "expected a volume string like \"data:/var/lib/data\", found %s",
		    yt_type_name(n));
		return;
	}
	copy = xstrdup(n->value);
	for (char *p = copy, *q; p && nf < 4; p = q) {
		q = strchr(p, ':');
		if (q)
			*q++ = '\0';
		f[nf++] = p;
		if (q && nf == 3) {
			nf = 4;	/* too many fields */
			break;
		}
	}
	if (nf < 2 || nf > 3 || !*f[0] || !*f[1]) {
		mf__err_at(c, n, path, "invalid volume '%s' (expected SOURCE:/container/path[:ro|rw])",
		    n->value);
		goto out;
	}
	if (nf == 3) {
		if (strcmp(f[2], "ro") == 0) {
			mnt.ro = 1;
		} else if (strcmp(f[2], "rw") != 0) {
			mf__err_at(c, n, path, "invalid volume mode '%s' in '%s' (expected ro or rw)", f[2],
			    n->value);
			goto out;
		}
	}
	if (f[1][0] != '/') {
		mf__err_at(c, n, path, "container path '%s' must be absolute", f[1]);
		goto out;
	}
	if (f[0][0] == '/' && !manifest_path_plain(f[0])) {
		mf__err_at(c, n, path, "bind mount source '%s' must not contain '.' or '..' segments",
		    f[0]);
		goto out;
	} else if (f[0][0] == '/') {
		mnt.bind = 1;
	} else if (f[0][0] == '.' || f[0][0] == '~') {
		mf__err_at(c, n, path, "bind mount source '%s' must be an absolute host path (there is "
		    "no work tree to be relative to)", f[0]);
		goto out;
	} else if (!mf__name_ok(f[0])) {
		mf__err_at(c, n, path, "invalid volume name '%s' (lowercase letters, digits, '_', '-')",
		    f[0]);
		goto out;
	} else if (!yt_get(top_volumes, f[0])) {
		mf__err_at(c, n, path, "volume '%s' is not declared under top-level 'volumes'", f[0]);
		goto out;
	}
	mnt.source = xstrdup(f[0]);
	mnt.target = xstrdup(f[1]);
	*MF__GROW(s->mounts, s->nmounts) = mnt;
out:
	free(copy);
}

void
mf__parse_mounts(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p,
    const struct yt_node *top_volumes)
{
	char **targets;

	if (!mf__is_seq(c, v, p))
		return;
	targets = xcalloc(v->n + 1, sizeof(*targets));
	for (size_t i = 0; i < v->n; i++) {
		char *ip = yt_path_idx(p, i);
		size_t before = s->nmounts;

		parse_volume(c, s, v->items[i], ip, top_volumes);
		if (s->nmounts > before)
			targets[i] = xstrdup(s->mounts[before].target);
		free(ip);
	}
	/* Docker refuses two mounts at one path */
	mf__check_dups(c, v, p, targets, v->n, "mount target");
	strv_free(targets, v->n);
}

void
mf__parse_volumes(struct mf__ctx *c, const struct yt_node *n)
{
	static const char *const keys[] = { "driver", "driver_opts", "external", "name", NULL };
	struct manifest *m = c->m;

	if (!mf__is_map(c, n, "volumes"))
		return;
	MF__FOR_KEYS(n, "volumes", key, v, p) {
		struct mf_volume *vol = MF__GROW(m->volumes, m->nvolumes);

		mf__check_name(c, n->keys[key_i], p, "volume");
		vol->key = xstrdup(key);
		if (!yt_is_null(v) && mf__is_map(c, v, p)) {
			mf__check_keys(c, v, p, keys);
			MF__FOR_KEYS(v, p, vk, vv, vp) {
				if (strcmp(vk, "driver") == 0)
					vol->driver = mf__get_name_str(c, vv, vp);
				else if (strcmp(vk, "driver_opts") == 0)
					vol->opts = mf__get_kv(c, vv, vp, &vol->nopts, 0);
				else if (strcmp(vk, "external") == 0)
					mf__get_bool(c, vv, vp, &vol->external);
				else if (strcmp(vk, "name") == 0)
					vol->name = mf__get_name_str(c, vv, vp);
			}
		}
		if (!vol->driver)
			vol->driver = xstrdup("local");
		if (!vol->name)
			vol->name = xasprintf("%s_%s", m->project ? m->project : "", key);
	}
}
