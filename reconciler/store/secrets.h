/*
 * secrets: host-local secret files (never in Git) and the host-local key that
 * turns a secret value into a keyed digest (HMAC-SHA256), so a rotated secret
 * changes a spec hash while no label or log ever carries the value.
 */
#ifndef RECONCILER_SECRETS_H
#define RECONCILER_SECRETS_H

#include <stddef.h>

#define SECRETS_DIR_DEFAULT	"/etc/reconciler/secrets"
#define SECRETS_MAX_SIZE	(1u << 20)

struct secrets {
	char *dir;
	unsigned char key[32];
	int have_key;
};

/* dir: the secrets directory. keyfile: where the HMAC key lives; created
 * (0600, random) when missing and create is set. keyfile NULL: a key derived
 * from nothing (all zero), for tools that only need stable test digests. */
int secrets_open(struct secrets *s, const char *dir, const char *keyfile, int create, char *err);
void secrets_release(struct secrets *s);

/* Reads the secret NAME (a plain file name) from the directory. With trim, one
 * trailing newline (\n or \r\n) is removed. */
int secrets_read(const struct secrets *s, const char *name, int trim, char **value, size_t *len,
    char *err);
/* The absolute path of the secret NAME (for bind mounts); caller frees. */
char *secrets_path(const struct secrets *s, const char *name);
/* "hmac-sha256:<hex>" of data under the host key; out needs 76 bytes. */
void secrets_digest(const struct secrets *s, const void *data, size_t len, char *out);

#endif
