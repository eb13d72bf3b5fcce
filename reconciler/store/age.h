/*
 * age: secrets kept in Git are encrypted with age (X25519 recipients), by
 * Debian's `age` binary, the reference implementation, run without a shell
 * (base/subproc.h): no cryptography of ours. The plaintext lives only in
 * memory, wiped when freed.
 */
#ifndef RECONCILER_AGE_H
#define RECONCILER_AGE_H

#include <stddef.h>

#define AGE_PROGRAM	"age"
#define AGE_TIMEOUT_MS	30000

/* Decrypts in (armored or binary) with the identity file; *out (NUL-
 * terminated, at most max bytes) is freed with secret_free. -1 with err:
 * age's own reason (wrong identity, corrupt file), never any plaintext. */
int age_decrypt(const char *identity, const void *in, size_t inlen, size_t max, char **out,
    size_t *outlen, char *err);
/* Encrypts in to every recipient of recipients_file (age's -R format: one
 * age1… a line, # comments); *out is the binary age file (free). */
int age_encrypt(const char *recipients_file, const void *in, size_t inlen, char **out,
    size_t *outlen, char *err);

#endif
