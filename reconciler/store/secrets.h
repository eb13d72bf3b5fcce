/*
 * secrets: host-local secret files (never in Git) and the host-local key that
 * turns a secret value into a keyed digest (HMAC-SHA256), so a rotated secret
 * changes a spec hash while no label or log ever carries the value. This is
 * the I/O side; core/secretmap.h holds the values once read.
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
 * (0600, random) when it does not exist and create is set, and never
 * replaced: any other failure to read it (permissions, I/O, a short file) is
 * an error naming the file and why. keyfile NULL: a key derived from nothing
 * (all zero), for tools that only need stable test digests. Release s
 * after a failure too: the directory is set (a backup still notifies). */
int secrets_open(struct secrets *s, const char *dir, const char *keyfile, int create, char *err);
void secrets_release(struct secrets *s);

/* Reads the secret NAME (a plain file name) from the directory. With trim, one
 * trailing newline (\n or \r\n) is removed. Free *value with secret_free. A
 * file every user may read is logged as a warning (once), not refused. */
int secrets_read(const struct secrets *s, const char *name, int trim, char **value, size_t *len,
    char *err);

struct manifest;
struct secretmap;

/* Reads every env file and secret the manifest's services name into out
 * (initialised here with the directory and key), each once. A file that
 * cannot be read is recorded with its error, reported by the spec that uses
 * it, so errors still come in the manifest's order. */
void secrets_resolve(const struct secrets *s, const struct manifest *m, struct secretmap *out);

#endif
