/* libFuzzer target: the webhook verdict (signature or token, content type,
 * payload) on outside input. The first byte picks the source, the event
 * header, the content type and whether the request is signed correctly (so
 * the payload parser is reached) or carries the next 64 bytes as its
 * signature (so the comparison is fuzzed); the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const events[] = { "push", "ping", "issues", NULL };
static const char *const types[] = { "application/json", "application/x-www-form-urlencoded",
	"application/json; charset=utf-8", NULL };

/* 1 when sig is the right credential for body after all: the HMAC in hex
 * (bare, or after "sha256="), or the token itself. */
static int
forged(const char *sig, const unsigned char *secret, size_t slen, const char *body, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *s = strncmp(sig, "sha256=", 7) == 0 ? sig + 7 : sig;

	if (strlen(sig) == slen && memcmp(sig, secret, slen) == 0)
		return 1;
	HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)body, len, md, &n);
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strlen(s) == 2 * n && strncasecmp(s, hex, 2 * n) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char secret[] = "fuzz-secret";
	static struct webhook_rate rl;
	struct webhook_request r = { 0 };
	struct webhook_verdict v;
	char sig[80], auth[128], *body;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int wait;
	uint8_t k;

	if (size < 1)
		return 0;
	k = data[0];
	data++;
	size--;
	r.source = (enum webhook_source)(k % 3);
	r.event = events[(k >> 2) & 3];
	r.content_type = types[(k >> 4) & 3];
	if (k & 0x40) {
		/* signed right: the payload is what gets fuzzed */
		char *p = sig;

		HMAC(EVP_sha256(), secret, (int)sizeof(secret) - 1, data, size, md, &n);
		if (r.source == WEBHOOK_GITHUB)
			p += snprintf(sig, sizeof(sig), "sha256=");
		for (unsigned int i = 0; i < n; i++)
			p += snprintf(p, 3, "%02x", md[i]);
		snprintf(auth, sizeof(auth), "Bearer %s", secret);
	} else {
		size_t m = size < 64 ? size : 64;

		memcpy(sig, data, m);
		sig[m] = '\0';
		snprintf(auth, sizeof(auth), "Bearer %s", sig);
		data += m;
		size -= m;
	}
	r.signature = sig;
	r.authorization = auth;
	body = malloc(size + 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	r.body = body;
	r.body_len = size;
	webhook_judge(&r, secret, sizeof(secret) - 1, (k & 0x80) ? "main" : "release/1.0", &v);
	if (v.status < 200 || v.status > 599 || (v.sync && v.status != 202) ||
	    strlen(v.reason) >= sizeof(v.reason))
		abort();
	/* an unsigned request never gets past the credential check, unless the
	 * fuzzer found the right credential itself (it learns the compared bytes) */
	if (!(k & 0x40) && v.status != 401 && !forged(sig, secret, sizeof(secret) - 1, body, size))
		abort();
	webhook_rate_take(&rl, sig, (long long)size * 100, &wait);
	free(body);
	return 0;
}
