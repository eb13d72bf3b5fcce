/*
 * gitverify: whether a commit carries a good signature of a trusted signer.
 * libgit2 hands over the signature and the bytes it signs; OpenSSH's
 * `ssh-keygen -Y` (namespace git, the allowed signers file) and GnuPG's
 * `gpgv` (a keyring) judge them: no cryptography of ours. Also signs a
 * commit with an ssh key (`set-image --commit --sign`).
 */
#ifndef RECONCILER_GITVERIFY_H
#define RECONCILER_GITVERIFY_H

#include <stddef.h>

struct gitsrc;

enum gitverify_verdict {
	GITVERIFY_GOOD,		/* a good signature of a trusted signer */
	GITVERIFY_UNSIGNED,	/* no signature at all */
	GITVERIFY_BAD,		/* a signature that does not match the commit */
	GITVERIFY_UNTRUSTED,	/* good, but by a key no one trusted */
	GITVERIFY_ERROR,	/* it could not be judged (a tool missing, a read failed) */
};

/* Who is trusted; NULL: no signer of that kind. */
struct gitverify_trust {
	const char *allowed_signers;	/* ssh-keygen's allowed signers file */
	const char *gpg_keyring;	/* a keyring gpgv reads (gpg --export) */
};

struct gitverify_result {
	enum gitverify_verdict verdict;
	char commit[41];
	char format[8];		/* "ssh", "openpgp"; "" unsigned or unknown */
	char key[160];		/* the key's fingerprint ("SHA256:…", or OpenPGP hex); "" unknown */
	char signer[256];	/* the trusted principal or user ID; "" unless good */
	char why[512];		/* one line; "" when good */
};

/* "good", "unsigned", "bad", "untrusted", "error" */
const char *gitverify_verdict_name(enum gitverify_verdict v);

/* Judges commit (hex) of the daemon's clone. Always fills r; returns 0 when
 * the verdict is GOOD, else -1. */
int gitverify_commit(struct gitsrc *g, const char *commit, const struct gitverify_trust *t,
    struct gitverify_result *r);
/* Every commit reachable from head and not from base (base "" or not in
 * the clone: head alone), up to max of them. 0 when all are good (*checked
 * says how many), else -1 with the first bad one in r (oldest first), or a
 * range that cannot be walked or is longer than max (GITVERIFY_ERROR). */
int gitverify_range(struct gitsrc *g, const char *base, const char *head,
    const struct gitverify_trust *t, size_t max, size_t *checked, struct gitverify_result *r);

/* The fingerprint ("SHA256:…", as ssh-keygen -l prints it) of the key an
 * armored ssh signature (SSHSIG) names, read from the signature itself, so
 * a bad signature still names its key; "" when it is malformed. sig is a
 * commit's header: outside input (fuzzed). */
void gitverify_ssh_fingerprint(const char *sig, char *out, size_t len);

/* The signature of `data` with the ssh key at key_path (namespace git), the
 * armored text that goes into a commit's gpgsig header; caller frees. */
int gitverify_sign_ssh(const char *key_path, const char *data, size_t len, char **sig,
    char *err);

#endif
