/*
 * secretmap: the secret values a manifest refers to, resolved once before any
 * spec is built, with the host key that turns a value into a keyed digest.
 * Pure: the files were read by whoever filled the map (store/secrets.c);
 * spec reads values and digests from here and never opens a file.
 */
#ifndef RECONCILER_SECRETMAP_H
#define RECONCILER_SECRETMAP_H

#include <stddef.h>

struct secretmap_entry {
	char *name;	/* a plain file name under the secrets directory */
	char *data;	/* the file's bytes (NUL-terminated), NULL when it failed */
	size_t len;
	char *error;	/* why it could not be read, reported when it is used */
};

struct secretmap {
	char *dir;			/* where the files live (bind mount sources) */
	unsigned char key[32];		/* the host key of the digests */
	struct secretmap_entry *v;
	size_t n;
};

/* Empty map for dir and key (32 bytes, copied). */
void secretmap_init(struct secretmap *sm, const char *dir, const unsigned char key[32]);
/* Frees the values (wiped) and the key. */
void secretmap_release(struct secretmap *sm);
/* 1 when NAME is in the map (read or failed), else 0. */
int secretmap_has(const struct secretmap *sm, const char *name);
/* Adds NAME with its value (data copied) or, when data is NULL, with the
 * error to report when it is used. */
void secretmap_put(struct secretmap *sm, const char *name, const char *data, size_t len,
    const char *error);

/* The value of NAME (borrowed), with trim: one trailing newline (\n or \r\n)
 * left out of *len. -1 with the error the read recorded. */
int secretmap_get(const struct secretmap *sm, const char *name, int trim, const char **value,
    size_t *len, char *err);
/* "hmac-sha256:<hex>" of data under the host key; out needs 76 bytes. */
void secretmap_digest(const struct secretmap *sm, const void *data, size_t len, char *out);
/* The absolute path of the secret NAME (for bind mounts); caller frees. */
char *secretmap_path(const struct secretmap *sm, const char *name);

#endif
