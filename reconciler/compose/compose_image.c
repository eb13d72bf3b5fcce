/*
 * compose_image: a service's image. --image overrides the file; a tag is
 * pinned by digest through the caller's resolver, or kept with allow_tags;
 * without a usable image a placeholder that cannot be pulled is written.
 */
#include "compose_int.h"
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER_IMAGE "unset.invalid/placeholder@sha256:" \
	"0000000000000000000000000000000000000000000000000000000000000000"

static const char *
image_override(struct cctx *c, const char *service)
{
	size_t n = strlen(service);

	for (size_t i = 0; c->o->images && c->o->images[i]; i++)
		if (strncmp(c->o->images[i], service, n) == 0 && c->o->images[i][n] == '=')
			return c->o->images[i] + n + 1;
	return NULL;
}

/* The name part of a reference: without its tag and digest. */
static char *
image_name(const char *ref)
{
	const char *at = strchr(ref, '@'), *end = at ? at : ref + strlen(ref);
	const char *slash = NULL, *colon = NULL;

	for (const char *p = ref; p < end; p++) {
		if (*p == '/')
			slash = p;
		else if (*p == ':')
			colon = p;
	}
	if (colon && (!slash || colon > slash))
		end = colon;
	return xstrndup(ref, (size_t)(end - ref));
}

static void
put_placeholder(struct buf *b, const char *why)
{
	buf_adds(b, "    image: " PLACEHOLDER_IMAGE);
	compose__put_comment(b, why);
	buf_adds(b, "\n");
}

void
compose__conv_image(struct cctx *c, struct csvc *s)
{
	const struct yt_node *n = yt_get(s->node, "image"), *build = yt_get(s->node, "build");
	const char *over = image_override(c, s->name), *how = NULL;
	struct buf *b = &s->sec[S_IMAGE];
	char why[ERR_LEN], err[ERR_LEN], digest[80], *ref = NULL, *path = yt_path_key(s->path, "image");
	const struct yt_node *at = n ? n : s->key;

	if (over) {
		ref = xstrdup(over);
		compose__report(c, at, path, L_NOTE, "the image is '%s' (--image)", ref);
	} else if (!n) {
		compose__report(c, build ? build : s->key, path, L_UNMAPPED, "no image%s: give one with --image "
		    "%s=REPO@sha256:… (or set it later with reconcilerctl set-image); a placeholder "
		    "that cannot be pulled is written meanwhile", build ? " to run (the reconciler "
		    "does not build; build and push it in CI)" : "", s->name);
		put_placeholder(b, "placeholder: set the image");
		goto out;
	} else if (!compose__str_of(n)) {
		compose__report(c, n, path, L_UNMAPPED, "expected an image reference, found %s",
		    yt_type_name(n));
		put_placeholder(b, "placeholder: set the image");
		goto out;
	} else if (!(ref = compose__literal(n->value, why))) {
		struct cinterp in;
		char *show = NULL;

		if (compose__interp_parse(n->value, &in, err) == 0) {
			show = compose__interp_show(&in);
			compose__interp_release(&in);
		}
		compose__report(c, n, path, L_UNMAPPED, "the image uses a variable of the host; give it with "
		    "--image %s=REF; a placeholder that cannot be pulled is written meanwhile",
		    s->name);
		put_placeholder(b, show ? show : "placeholder: set the image");
		free(show);
		goto out;
	}
	if (!manifest_image_ref_ok(ref)) {
		compose__report(c, at, path, L_UNMAPPED, "'%s' is not an image reference the manifest accepts "
		    "([REGISTRY/]NAME[:TAG][@sha256:…], NAME in lowercase)", ref);
		put_placeholder(b, ref);
		goto out;
	}
	if (manifest_image_pinned(ref)) {
		buf_adds(b, "    image: ");
		compose__put_scalar(b, ref);
		buf_adds(b, "\n");
	} else if (c->o->resolve && c->o->resolve(ref, digest, sizeof(digest), &how, err,
	    c->o->payload) == 0) {
		char *name = image_name(ref), *pinned = xasprintf("%s@%s", name, digest);

		if (manifest_image_pinned(pinned)) {
			buf_adds(b, "    image: ");
			compose__put_scalar(b, pinned);
			compose__put_comment(b, ref);
			buf_adds(b, "\n");
			compose__report(c, at, path, L_NOTE, "'%s' is pinned as %s%s%s", ref, pinned,
			    how ? ", from " : "", how ? how : "");
		} else {
			compose__report(c, at, path, L_UNPINNED, "'%s' resolved to an unusable digest '%s'", ref,
			    digest);
			buf_addf(b, "    image: %s\n    allow_tags: true\n", ref);
		}
		free(pinned);
		free(name);
	} else {
		if (c->o->resolve)
			compose__report(c, at, path, L_UNPINNED, "cannot resolve '%s' to a digest: %s; it is kept "
			    "as a tag (allow_tags: true): pin it later with reconcilerctl set-image", ref,
			    err);
		else
			compose__report(c, at, path, L_NOTE, "'%s' is a tag: written with allow_tags: true; run "
			    "with --resolve to pin it by digest", ref);
		buf_adds(b, "    image: ");
		compose__put_scalar(b, ref);
		buf_adds(b, "\n    allow_tags: true\n");
	}
out:
	if (build && n && !over) {
		char *bp = yt_path_key(s->path, "build");

		compose__report(c, build, bp, L_UNMAPPED, "the reconciler does not build: build and push the "
		    "image in CI");
		free(bp);
	}
	free(ref);
	free(path);
}
