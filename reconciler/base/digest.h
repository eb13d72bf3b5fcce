/*
 * digest: SHA-256 and HMAC-SHA-256 through OpenSSL's low-level SHA-256. The
 * EVP interface (SHA256(), HMAC()) fetches its algorithm from a provider,
 * and a process's first fetch loads the OpenSSL config and the default
 * provider: 2 to 8 ms, more than a diff's whole decode. The spec hash and
 * the secret digests need SHA-256 alone.
 */
#ifndef RECONCILER_DIGEST_H
#define RECONCILER_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_LEN 32

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* RFC 2104 with SHA-256. */
void digest_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[DIGEST_SHA256_LEN]);

#endif
