/*
 * setimage: see setimage.h. The edit works on the byte span libyaml reported
 * for the image scalar, so nothing outside that span can change.
 */
#include "setimage.h"
#include "manifest.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The replacement in the scalar's own style: plain stays plain, quotes stay. */
static char *
render(const struct yt_node *n, const char *image, char *err)
{
	switch (n->style) {
	case YT_PLAIN:
		return xstrdup(image);
	case YT_SINGLE:
		return xasprintf("'%s'", image);
	case YT_DOUBLE:
		return xasprintf("\"%s\"", image);
	default:
		errf(err, "the image of this service is a block scalar; write it as a plain "
		    "scalar (image: repo@sha256:…) so it can be edited in place");
		return NULL;
	}
}

int
setimage_apply(const char *file, const char *src, size_t len, const char *service,
    const char *image, char **out, size_t *outlen, struct diag *d, char *err)
{
	struct manifest *m = NULL, *check = NULL;
	struct mf_service *s;
	const struct yt_node *n;
	char *text = NULL;
	struct buf b;
	int rc = -1;

	buf_init(&b, 0);
	*out = NULL;
	if (!manifest_image_pinned(image)) {
		errf(err, "image '%s' is not pinned by digest (expected repo@sha256:<64 hex>)", image);
		goto out;
	}
	if (strpbrk(image, "'\"#\\ \t\r\n")) {
		errf(err, "image '%s' contains characters an image reference cannot have", image);
		goto out;
	}
	if (manifest_parse(&m, file, src, len, d) < 0) {
		errf(err, "'%s' does not validate; fix it before editing", file);
		goto out;
	}
	if (!(s = manifest_service(m, service))) {
		errf(err, "unknown service '%s' in '%s'", service, file);
		goto out;
	}
	if (!(n = s->image_node) || n->type != YT_SCALAR) {
		errf(err, "service '%s' has no image to replace", service);
		goto out;
	}
	/* An anchored or aliased image shared with other services would change
	 * them too: the span belongs to the anchor, not to this service. */
	for (size_t i = 0; i < m->nservices; i++) {
		if (&m->services[i] != s && m->services[i].image_node == n) {
			errf(err, "the image of '%s' is a YAML alias shared with '%s'; write it out "
			    "for this service before editing", service, m->services[i].name);
			goto out;
		}
	}
	if (n->start > n->end || n->end > len) {
		errf(err, "internal error: bad source span for services.%s.image", service);
		goto out;
	}
	if (strcmp(s->image, image) == 0) {
		*out = xstrndup(src, len);
		*outlen = len;
		rc = 1;
		goto out;
	}
	if (!(text = render(n, image, err)))
		goto out;
	buf_add(&b, src, n->start);
	buf_adds(&b, text);
	buf_add(&b, src + n->end, len - n->end);
	if (manifest_parse(&check, file, b.data, b.len, d) < 0) {
		errf(err, "the edited manifest does not validate");
		goto out;
	}
	if (!manifest_service(check, service) ||
	    strcmp(manifest_service(check, service)->image, image) != 0) {
		errf(err, "internal error: the edit did not land on services.%s.image", service);
		goto out;
	}
	*out = buf_detach(&b, outlen);
	rc = 0;
out:
	free(text);
	buf_release(&b);
	manifest_free(m);
	manifest_free(check);
	return rc;
}

int
setimage_file(const char *path, const char *service, const char *image, struct diag *d,
    char *err)
{
	char *src = NULL, *out = NULL;
	size_t len, outlen;
	int rc;

	if (file_read(path, YT_MAX_SIZE, &src, &len, err) < 0)
		return -1;
	rc = setimage_apply(path, src, len, service, image, &out, &outlen, d, err);
	if (rc == 0 && file_write_atomic(path, out, outlen, -1, err) < 0)
		rc = -1;
	free(src);
	free(out);
	return rc;
}
