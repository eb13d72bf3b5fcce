/*
 * compose_volumes: the mounts of a service. Named volumes must be declared
 * at the top level; relative bind sources start at --base-dir, as Compose
 * reads them from the file's directory; anonymous volumes have no equivalent.
 */
#include "compose_int.h"
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

/* The next field of *p up to sep (which is cut), advancing *p; NULL at the
 * end. Empty fields are returned too. */
static char *
next_field(char **p, char sep)
{
	char *f = *p, *e;

	if (!f)
		return NULL;
	if ((e = strchr(f, sep))) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = NULL;
	}
	return f;
}

/* base + rel, with "." and ".." resolved; NULL when ".." climbs above "/". */
static char *
path_join(const char *base, const char *rel)
{
	char *whole = xasprintf("%s/%s", base, rel), *rest = whole, *seg;
	struct buf out;

	buf_init(&out, 0);
	while ((seg = next_field(&rest, '/'))) {
		if (!*seg || strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (out.len == 0) {
				buf_release(&out);
				free(whole);
				return NULL;
			}
			while (out.len > 0 && out.data[out.len - 1] != '/')
				out.len--;
			out.len = out.len ? out.len - 1 : 0;
			out.data[out.len] = '\0';
			continue;
		}
		buf_addf(&out, "/%s", seg);
	}
	if (out.len == 0)
		buf_adds(&out, "/");
	free(whole);
	return buf_detach(&out, NULL);
}

/* One mount: source (volume key, absolute or relative path), target, ro. */
static void
mount_out(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *p, const char *src,
    const char *target, int ro, int bind_hint, char **lines, size_t *nl, char **targets)
{
	char *host = NULL;

	if (!target || target[0] != '/' || strchr(target, ':')) {
		compose__report(c, n, p, L_UNMAPPED, "the container path must be absolute (and without ':')");
		return;
	}
	if (!src || !*src) {
		compose__report(c, n, p, L_UNMAPPED, "an anonymous volume has no equivalent: declare a named "
		    "volume under the top-level 'volumes' and mount it here");
		return;
	}
	if (compose__strv_has(targets, *nl, target)) {
		compose__report(c, n, p, L_UNMAPPED, "'%s' is mounted twice", target);
		return;
	}
	if (src[0] == '/' && !manifest_path_plain(src)) {
		/* a manifest's host path has no '.' or '..': the path Docker would use */
		if (!(host = path_join("/", src))) {
			compose__report(c, n, p, L_UNMAPPED, "'%s' climbs above '/'", src);
			return;
		}
		compose__report(c, n, p, L_NOTE, "'%s' becomes '%s'", src, host);
	} else if (src[0] == '/') {
		host = xstrdup(src);
	} else if (src[0] == '.' || bind_hint) {
		if (!(host = path_join(c->o->base_dir, src))) {
			compose__report(c, n, p, L_UNMAPPED, "'%s' climbs above '/'", src);
			return;
		}
		compose__report(c, n, p, L_NOTE, "'%s' becomes '%s' (Compose reads it from the file's "
		    "directory; --base-dir DIR to change)", src, host);
	} else if (src[0] == '~') {
		compose__report(c, n, p, L_UNMAPPED, "'%s' is relative to a home directory: write the absolute "
		    "path", src);
		return;
	} else if (!compose__strv_has(c->volumes, c->nvolumes, src)) {
		compose__report(c, n, p, L_UNMAPPED, "volume '%s' is not declared under the top-level 'volumes' "
		    "(or could not be converted)", src);
		return;
	}
	if (host && strchr(host, ':')) {
		compose__report(c, n, p, L_UNMAPPED, "a host path with ':' cannot be written in a "
		    "volume string");
		free(host);
		return;
	}
	targets[*nl] = xstrdup(target);
	lines[(*nl)++] = xasprintf("%s:%s%s", host ? host : src, target, ro ? ":ro" : "");
	free(host);
}

static void
conv_volume_short(struct cctx *c, struct csvc *s, const struct yt_node *it, const char *p,
    char **lines, size_t *nl, char **targets)
{
	char why[ERR_LEN], *spec, *f[3] = { 0 }, *q;
	size_t nf = 0;
	int ro = 0;

	if (!compose__str_of(it) || !(spec = compose__literal(it->value, why))) {
		compose__report(c, it, p, L_UNMAPPED, "%s", compose__str_of(it) ? why :
		    "expected a volume string");
		return;
	}
	for (char *x = spec; x && nf < 3; x = q) {
		if ((q = strchr(x, ':')))
			*q++ = '\0';
		f[nf++] = x;
		if (nf == 3 && q) {
			compose__report(c, it, p, L_UNMAPPED, "too many ':' in '%s'", it->value);
			goto out;
		}
	}
	if (nf == 1) {
		mount_out(c, s, it, p, NULL, f[0], 0, 0, lines, nl, targets);
		goto out;
	}
	if (nf == 3) {
		char *rest = f[2], *o;

		while ((o = next_field(&rest, ','))) {
			if (!*o)
				continue;
			if (strcmp(o, "ro") == 0)
				ro = 1;
			else if (strcmp(o, "rw") != 0)
				compose__report(c, it, p, L_UNMAPPED, "mount option '%s' has no equivalent: left out",
				    o);
		}
	}
	mount_out(c, s, it, p, f[0], f[1], ro, 0, lines, nl, targets);
out:
	free(spec);
}

static void
conv_volume_long(struct cctx *c, struct csvc *s, const struct yt_node *it, const char *p,
    char **lines, size_t *nl, char **targets)
{
	const struct yt_node *type = yt_get(it, "type"), *src = yt_get(it, "source");
	const struct yt_node *tgt = yt_get(it, "target"), *ro = yt_get(it, "read_only");
	const char *t = compose__str_of(type) ? type->value : "volume";

	for (size_t k = 0; k < it->n; k++) {
		const char *kk = it->keys[k]->type == YT_SCALAR ? it->keys[k]->value : "?";

		if (strcmp(kk, "type") != 0 && strcmp(kk, "source") != 0 &&
		    strcmp(kk, "target") != 0 && strcmp(kk, "read_only") != 0 &&
		    strcmp(kk, "consistency") != 0) {
			char *kp = yt_path_key(p, kk);

			compose__report(c, it->keys[k], kp, L_UNMAPPED, "mount option '%s' has no equivalent", kk);
			free(kp);
		}
	}
	if (strcmp(t, "volume") != 0 && strcmp(t, "bind") != 0) {
		compose__report(c, type, p, L_UNMAPPED, "mount type '%s' has no equivalent (volumes and bind "
		    "mounts only)", t);
		return;
	}
	if (src && !compose__str_of(src)) {
		compose__report(c, src, p, L_UNMAPPED, "expected a source string");
		return;
	}
	mount_out(c, s, it, p, src ? src->value : NULL, compose__str_of(tgt) ? tgt->value : NULL,
	    ro && yt_kind(ro) == YT_KIND_BOOL && strcasecmp(ro->value, "true") == 0,
	    strcmp(t, "bind") == 0, lines, nl, targets);
}

void
compose__conv_volumes(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	char **lines, **targets;
	size_t nl = 0;

	if (n->type != YT_SEQ) {
		compose__report(c, n, path, L_UNMAPPED, "expected a list, found %s", yt_type_name(n));
		return;
	}
	lines = xcalloc(n->n + 1, sizeof(*lines));
	targets = xcalloc(n->n + 1, sizeof(*targets));
	for (size_t i = 0; i < n->n; i++) {
		char *p = yt_path_idx(path, i);

		if (n->items[i]->type == YT_MAP)
			conv_volume_long(c, s, n->items[i], p, lines, &nl, targets);
		else
			conv_volume_short(c, s, n->items[i], p, lines, &nl, targets);
		free(p);
	}
	if (nl) {
		buf_adds(&s->sec[S_VOLUMES], "    volumes:\n");
		for (size_t i = 0; i < nl; i++) {
			buf_adds(&s->sec[S_VOLUMES], "      - ");
			compose__put_scalar(&s->sec[S_VOLUMES], lines[i]);
			buf_adds(&s->sec[S_VOLUMES], "\n");
		}
	}
	strv_free(lines, nl);
	strv_free(targets, nl);
}
