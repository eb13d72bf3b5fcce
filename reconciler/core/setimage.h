/*
 * setimage: replaces one service's image value in a manifest's source text,
 * byte for byte preserving everything else (comments, order, quoting,
 * indentation), and re-validates the result before anyone writes it.
 */
#ifndef RECONCILER_SETIMAGE_H
#define RECONCILER_SETIMAGE_H

#include <stddef.h>

#include "diag.h"

/* Produces in *out (malloc'd, *outlen bytes) the manifest text `src` with the
 * image of `service` set to `image`. Refuses a ref without a digest, an
 * unknown service, and a result that does not validate. On error, fills err,
 * and d holds validation errors if any. Returns 1 when the image was already
 * that value (out is a copy), 0 when changed, -1 on error. */
int setimage_apply(const char *file, const char *src, size_t len, const char *service,
    const char *image, char **out, size_t *outlen, struct diag *d, char *err);

/* Reads FILE, applies, and writes it back atomically (same mode). */
int setimage_file(const char *path, const char *service, const char *image, struct diag *d,
    char *err);

#endif
