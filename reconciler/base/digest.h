/*
 * digest: SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), written here:
 * the spec hash and the secret digests of every diff need SHA-256 alone, and
 * opening libcrypto for it costs a diff 2 to 4 ms of loading and relocating,
 * more than its whole decode (the EVP interface adds a provider fetch on
 * top). Signatures, age and the registry's digests stay with libcrypto.
 */
#ifndef RECONCILER_DIGEST_H
#define RECONCILER_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA256_LEN 32

struct digest_sha256_ctx {
	uint32_t h[8];
	uint64_t bytes;		/* taken so far */
	unsigned char block[64];
	size_t fill;		/* bytes in block */
};

void digest_sha256_init(struct digest_sha256_ctx *c);
void digest_sha256_update(struct digest_sha256_ctx *c, const void *data, size_t len);
/* Writes the digest and wipes the context. */
void digest_sha256_final(struct digest_sha256_ctx *c, unsigned char out[DIGEST_SHA256_LEN]);

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* RFC 2104 with SHA-256. */
void digest_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[DIGEST_SHA256_LEN]);

#endif
