/*
 * webhook: see webhook.h.
 */
#include "webhook.h"
#include "netaddr.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
webhook_source_name(enum webhook_source s)
{
	switch (s) {
	case WEBHOOK_GITHUB: return "github";
	case WEBHOOK_GITEA: return "gitea";
	case WEBHOOK_GENERIC: return "generic";
	}
	return "?";
}

const char *
webhook_delivery_header(enum webhook_source s)
{
	switch (s) {
	case WEBHOOK_GITHUB: return "X-GitHub-Delivery";
	case WEBHOOK_GITEA: return "X-Gitea-Delivery";
	case WEBHOOK_GENERIC: return "Idempotency-Key";
	}
	return "Idempotency-Key";
}

const char *
webhook_outcome_name(enum webhook_outcome o)
{
	switch (o) {
	case WEBHOOK_SYNC: return "sync";
	case WEBHOOK_PING: return "ping";
	case WEBHOOK_IGNORED: return "ignored";
	case WEBHOOK_UNAUTHORIZED: return "unauthorized";
	case WEBHOOK_REJECTED: return "rejected";
	case WEBHOOK_RATE_LIMITED: return "rate_limited";
	case WEBHOOK_UNCONFIGURED: return "unconfigured";
	case WEBHOOK_ERROR: return "error";
	case WEBHOOK_REPLAYED: return "replayed";
	}
	return "?";
}

int
webhook_source_parse(const char *name, enum webhook_source *out)
{
	for (int s = 0; s < WEBHOOK_NSOURCES; s++)
		if (strcmp(name, webhook_source_name((enum webhook_source)s)) == 0) {
			*out = (enum webhook_source)s;
			return 0;
		}
	return -1;
}

/* --- credentials ------------------------------------------------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2*n hex digits into out; -1 on any other length or character. */
static int
hex_decode(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int
verify_hmac(const char *hdr_name, const char *hex, const unsigned char *secret,
    size_t secret_len, const char *body, size_t body_len, char *err)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[SHA256_DIGEST_LENGTH];
	unsigned int want_len = 0;

	if (hex_decode(hex, got, sizeof(got)) < 0)
		return errf(err, "%s is not 64 hexadecimal digits", hdr_name);
	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)body, body_len,
	    want, &want_len) || want_len != sizeof(got))
		return errf(err, "cannot compute HMAC-SHA256");
	if (CRYPTO_memcmp(want, got, sizeof(got)) != 0)
		return errf(err, "%s does not match the body: check that the secret "
		    "configured at the sender is the one in the secret file", hdr_name);
	return 0;
}

/* Both sides hashed first: the comparison then takes the same time
 * whatever the token's length and wherever it differs. */
static int
verify_bearer(const char *auth, const unsigned char *secret, size_t secret_len, char *err)
{
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
	const char *tok;

	if (!auth)
		return errf(err, "missing Authorization header (expected 'Bearer <token>')");
	if (strncasecmp(auth, "Bearer ", 7) != 0)
		return errf(err, "the Authorization header must be 'Bearer <token>'");
	for (tok = auth + 7; *tok == ' '; tok++)
		;
	SHA256((const unsigned char *)tok, strlen(tok), a);
	SHA256(secret, secret_len, b);
	if (CRYPTO_memcmp(a, b, sizeof(a)) != 0)
		return errf(err, "the bearer token does not match the token file");
	return 0;
}

int
webhook_verify(const struct webhook_request *r, const unsigned char *secret, size_t secret_len,
    char *err)
{
	if (!secret || secret_len == 0)
		return errf(err, "no secret configured for the %s webhook",
		    webhook_source_name(r->source));
	switch (r->source) {
	case WEBHOOK_GITHUB:
		if (!r->signature)
			return errf(err, "missing X-Hub-Signature-256 header: set a secret in the "
			    "webhook's settings");
		if (strncmp(r->signature, "sha256=", 7) != 0)
			return errf(err, "X-Hub-Signature-256 must start with 'sha256='");
		return verify_hmac("X-Hub-Signature-256", r->signature + 7, secret, secret_len,
		    r->body, r->body_len, err);
	case WEBHOOK_GITEA:
		if (!r->signature)
			return errf(err, "missing X-Gitea-Signature header: set a secret in the "
			    "webhook's settings");
		return verify_hmac("X-Gitea-Signature", r->signature, secret, secret_len, r->body,
		    r->body_len, err);
	case WEBHOOK_GENERIC:
		return verify_bearer(r->authorization, secret, secret_len, err);
	}
	return errf(err, "unknown webhook source");
}

/* --- the payload ------------------------------------------------------------ */

/* The media type without parameters, compared case-insensitively. */
static int
media_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
verdict(struct webhook_verdict *v, int status, enum webhook_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
verdict(struct webhook_verdict *v, int status, enum webhook_outcome o, const char *fmt, ...)
{
	va_list ap;

	v->status = status;
	v->outcome = o;
	v->sync = o == WEBHOOK_SYNC;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

/* A push (or a generic body with a ref): the branch's ref triggers a cycle,
 * anything else is acknowledged and ignored. */
static void
judge_ref(json_t *o, const char *branch, int required, struct webhook_verdict *v)
{
	json_t *ref = json_object_get(o, "ref"), *after = json_object_get(o, "after");
	char want[300];

	if (json_is_string(after) && json_string_length(after) == 40)
		snprintf(v->after, sizeof(v->after), "%s", json_string_value(after));
	if (!ref && !required) {
		verdict(v, 202, WEBHOOK_SYNC, "sync scheduled");
		return;
	}
	if (!json_is_string(ref)) {
		verdict(v, 400, WEBHOOK_REJECTED, "the push payload has no string 'ref'");
		return;
	}
	snprintf(v->ref, sizeof(v->ref), "%s", json_string_value(ref));
	snprintf(want, sizeof(want), "refs/heads/%s", branch);
	if (strcmp(json_string_value(ref), want) != 0) {
		verdict(v, 202, WEBHOOK_IGNORED, "ref '%s' is not the followed branch '%s': ignored",
		    v->ref, want);
		return;
	}
	verdict(v, 202, WEBHOOK_SYNC, "push to %s: sync scheduled (the head is read from Git)",
	    want);
}

void
webhook_judge(const struct webhook_request *r, const unsigned char *secret, size_t secret_len,
    const char *branch, struct webhook_verdict *v)
{
	const char *hdr = r->source == WEBHOOK_GITHUB ? "X-GitHub-Event" : "X-Gitea-Event";
	char err[ERR_LEN];
	json_error_t jerr;
	json_t *o = NULL;

	memset(v, 0, sizeof(*v));
	if (!secret || secret_len == 0) {
		verdict(v, 404, WEBHOOK_UNCONFIGURED, "the %s webhook is not configured: set "
		    "webhooks.%s in reconcilerd's config", webhook_source_name(r->source),
		    r->source == WEBHOOK_GENERIC ? "generic_token_file" :
		    r->source == WEBHOOK_GITHUB ? "github_secret_file" : "gitea_secret_file");
		return;
	}
	/* Nothing of an unauthenticated body is looked at. */
	if (webhook_verify(r, secret, secret_len, err) < 0) {
		verdict(v, 401, WEBHOOK_UNAUTHORIZED, "%s", err);
		return;
	}
	if (r->source == WEBHOOK_GENERIC && r->body_len == 0) {
		verdict(v, 202, WEBHOOK_SYNC, "sync scheduled");
		return;
	}
	if (media_is(r->content_type, "application/x-www-form-urlencoded")) {
		verdict(v, 415, WEBHOOK_REJECTED, "form-encoded payloads are not taken: set the "
		    "webhook's content type to application/json");
		return;
	}
	if (!media_is(r->content_type, "application/json")) {
		verdict(v, 415, WEBHOOK_REJECTED, "content type '%.64s' is not taken: send "
		    "application/json", r->content_type ? r->content_type : "(none)");
		return;
	}
	if (r->source != WEBHOOK_GENERIC && !r->event) {
		verdict(v, 400, WEBHOOK_REJECTED, "missing %s header", hdr);
		return;
	}
	if (r->source == WEBHOOK_GITHUB && strcmp(r->event, "ping") == 0) {
		verdict(v, 200, WEBHOOK_PING, "pong: the webhook is set up; pushes to "
		    "refs/heads/%s trigger a sync", branch);
		return;
	}
	if (r->source != WEBHOOK_GENERIC && strcmp(r->event, "push") != 0) {
		verdict(v, 202, WEBHOOK_IGNORED, "event '%.64s' ignored: only push triggers a sync",
		    r->event);
		return;
	}
	if (!(o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr)) ||
	    !json_is_object(o)) {
		verdict(v, 400, WEBHOOK_REJECTED, "the body is not a JSON object%s%s",
		    o ? "" : ": ", o ? "" : jerr.text);
		json_decref(o);
		return;
	}
	judge_ref(o, branch, r->source != WEBHOOK_GENERIC, v);
	json_decref(o);
}

/* --- rate limit ------------------------------------------------------------- */

/* Refills b up to burst for the time since its last use, without taking. */
static double
bucket_level(const struct webhook_bucket *b, long long now, int burst, int refill_ms)
{
	double t = b->tokens;

	if (now > b->last)
		t += (double)(now - b->last) / refill_ms;
	return t > burst ? burst : t;
}

/* Seconds until a bucket at level t holds a whole token. */
static int
bucket_wait(double t, int refill_ms)
{
	return (int)((1.0 - t) * refill_ms / 1000.0) + 1;
}

static void
bucket_set(struct webhook_bucket *b, double t, long long now)
{
	b->tokens = t;
	if (now > b->last)
		b->last = now;	/* a clock that steps back refunds nothing */
}

int
webhook_rate_take(struct webhook_rate *rl, const char *addr, long long now, int *retry_after)
{
	int slot = -1, oldest = 0;
	char peer[64];
	double t, g;

	*retry_after = 0;
	netaddr_peer_key(addr, peer, sizeof(peer));
	for (int i = 0; i < WEBHOOK_RATE_PEERS && slot < 0; i++)
		if (rl->slot[i].peer[0] && strcmp(rl->slot[i].peer, peer) == 0)
			slot = i;
	if (slot < 0) {
		for (int i = 1; i < WEBHOOK_RATE_PEERS; i++)
			if (rl->slot[i].b.last < rl->slot[oldest].b.last)
				oldest = i;
		slot = oldest;
		snprintf(rl->slot[slot].peer, sizeof(rl->slot[slot].peer), "%s", peer);
		rl->slot[slot].b.tokens = WEBHOOK_RATE_BURST;
		rl->slot[slot].b.last = now;
	}
	if (!rl->all_init) {
		rl->all.tokens = WEBHOOK_RATE_GLOBAL_BURST;
		rl->all.last = now;
		rl->all_init = 1;
	}
	t = bucket_level(&rl->slot[slot].b, now, WEBHOOK_RATE_BURST, WEBHOOK_RATE_REFILL_MS);
	g = bucket_level(&rl->all, now, WEBHOOK_RATE_GLOBAL_BURST, WEBHOOK_RATE_GLOBAL_REFILL_MS);
	if (t < 1.0 || g < 1.0) {
		int wp = t < 1.0 ? bucket_wait(t, WEBHOOK_RATE_REFILL_MS) : 0;
		int wg = g < 1.0 ? bucket_wait(g, WEBHOOK_RATE_GLOBAL_REFILL_MS) : 0;

		bucket_set(&rl->slot[slot].b, t, now);
		bucket_set(&rl->all, g, now);
		*retry_after = wp > wg ? wp : wg;
		return 0;
	}
	bucket_set(&rl->slot[slot].b, t - 1.0, now);
	bucket_set(&rl->all, g - 1.0, now);
	return 1;
}
