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

/* The secrets a manifest keeps encrypted in Git (its secrets section),
 * decrypted at one revision: memory only, wiped on release. */
struct secrets_git_value {
	char *name;
	char *data;		/* the plaintext, NUL-terminated */
	size_t len;
};

struct secrets_git {
	struct secrets_git_value *v;
	size_t n;
};

struct secrets {
	char *dir;
	unsigned char key[32];
	int have_key;
	/* borrowed, may be NULL: a name found here is read from here, not from
	 * the directory (set by whoever decrypted the revision's secrets) */
	const struct secrets_git *git;
};

/* dir: the secrets directory. keyfile: where the HMAC key lives; created
 * (0600, random) when it does not exist and create is set, and never
 * replaced: any other failure to read it (permissions, I/O, a short file) is
 * an error naming the file and why. keyfile NULL: a key derived from nothing
 * (all zero), for tools that only need stable test digests. Release s
 * after a failure too: the directory is set (a backup still notifies). */
int secrets_open(struct secrets *s, const char *dir, const char *keyfile, int create, char *err);
void secrets_release(struct secrets *s);

/* Reads the secret NAME (a plain file name) from s->git when it holds it,
 * else from the directory. With trim, one
 * trailing newline (\n or \r\n) is removed. Free *value with secret_free. A
 * file every user may read is logged as a warning (once), not refused. */
int secrets_read(const struct secrets *s, const char *name, int trim, char **value, size_t *len,
    char *err);

struct manifest;
struct secretmap;

/* Reads the file at path (relative to the repository's top) of the revision
 * being read into *data (free), at most max bytes; -1 with err. */
typedef int (*secrets_git_reader)(const char *path, size_t max, char **data, size_t *len,
    char *err, void *payload);

/* Decrypts every entry of m's secrets section with the age identity file,
 * reading each file through read. -1 with err naming the secret, its file
 * and age's reason (never a value); g is then empty. g is emptied first. */
int secrets_git_load(struct secrets_git *g, const struct manifest *m, const char *identity,
    secrets_git_reader read, void *payload, char *err);
/* Wipes and frees the values. */
void secrets_git_release(struct secrets_git *g);
/* Adds NAME's value (copied): for callers that decrypted it themselves. */
void secrets_git_put(struct secrets_git *g, const char *name, const void *data, size_t len);

/* Reads every env file and secret the manifest's services name into out
 * (initialised here with the directory and key), each once. A file that
 * cannot be read is recorded with its error, reported by the spec that uses
 * it, so errors still come in the manifest's order. A name of the manifest's
 * secrets section takes its value from s->git; when that holds no such
 * value, it is an error, never a read of the directory. */
void secrets_resolve(const struct secrets *s, const struct manifest *m, struct secretmap *out);

#endif
