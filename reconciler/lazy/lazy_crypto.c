/*
 * lazy_crypto: libcrypto's functions this program calls (digests, HMAC,
 * base64), opened on first use (lazylib.h). A function newly called
 * elsewhere fails to link until it is listed here.
 */
#include "lazylib_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define LAZYLIB_THIS lazylib__crypto

#define CRYPTO_FUNCS(X, V) \
	X(int, CRYPTO_memcmp, (const void *in_a, const void *in_b, size_t len), \
	    (in_a, in_b, len)) \
	X(int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), \
	    (t, f, n)) \
	X(int, EVP_Digest, (const void *data, size_t count, unsigned char *md, \
	    unsigned int *size, const EVP_MD *type, ENGINE *impl), \
	    (data, count, md, size, type, impl)) \
	X(int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, \
	    unsigned int *s), (ctx, md, s)) \
	X(int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, \
	    ENGINE *impl), (ctx, type, impl)) \
	X(int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), \
	    (ctx, d, cnt)) \
	X(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), \
	    (t, f, n)) \
	V(EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx)) \
	X(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ()) \
	X(const EVP_MD *, EVP_sha1, (void), ()) \
	X(const EVP_MD *, EVP_sha256, (void), ()) \
	X(unsigned char *, HMAC, (const EVP_MD *evp_md, const void *key, int key_len, \
	    const unsigned char *data, size_t data_len, unsigned char *md, \
	    unsigned int *md_len), (evp_md, key, key_len, data, data_len, md, md_len)) \
	X(unsigned char *, SHA256, (const unsigned char *d, size_t n, unsigned char *md), \
	    (d, n, md))

static struct {
	CRYPTO_FUNCS(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
} fn;

static void
resolve(struct lazylib *lib, void *h)
{
	CRYPTO_FUNCS(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
}

struct lazylib lazylib__crypto = LAZYLIB_INIT("libcrypto.so.3", "libssl3", resolve);

CRYPTO_FUNCS(LAZYLIB_STUB_X, LAZYLIB_STUB_V)
