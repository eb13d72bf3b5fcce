/*
 * digest: see digest.h. SHA256_Init and friends are deprecated in OpenSSL 3
 * in favour of EVP, whose provider fetch is the cost avoided here; they
 * remain in 3.x, and the known answers of test_util pin the results.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "digest.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#define BLOCK 64	/* SHA-256's block */

void
digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN])
{
	SHA256_CTX c;

	SHA256_Init(&c);
	SHA256_Update(&c, data, len);
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
}

void
digest_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[DIGEST_SHA256_LEN])
{
	unsigned char k[BLOCK], pad[BLOCK], inner[DIGEST_SHA256_LEN];
	SHA256_CTX c;

	memset(k, 0, sizeof(k));
	if (keylen > BLOCK)
		digest_sha256(key, keylen, k);
	else if (keylen)
		memcpy(k, key, keylen);
	for (size_t i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, BLOCK);
	SHA256_Update(&c, data, len);
	SHA256_Final(inner, &c);
	for (size_t i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, BLOCK);
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
}
