/* Unit tests: webhook signatures, tokens, payload classification, the
 * per-peer token bucket. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "webhook.h"

/* GitHub's documented example: this secret and body give this signature. */
#define SECRET	"It's a Secret to Everybody"
#define BODY	"Hello, World!"
#define SIG	"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

static const unsigned char *secret = (const unsigned char *)SECRET;
static const size_t secret_len = sizeof(SECRET) - 1;

static struct webhook_request
req(enum webhook_source s, const char *sig, const char *body)
{
	struct webhook_request r = { 0 };

	r.source = s;
	r.signature = sig;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.content_type = "application/json";
	return r;
}

static int
verify(const struct webhook_request *r)
{
	char err[ERR_LEN] = "";
	int rc = webhook_verify(r, secret, secret_len, err);

	if (rc < 0)
		assert_true(err[0] != '\0');
	/* no message ever carries the secret */
	assert_null(strstr(err, SECRET));
	return rc;
}

static void
test_github_signature(void **state)
{
	struct webhook_request r = req(WEBHOOK_GITHUB, "sha256=" SIG, BODY);

	assert_int_equal(verify(&r), 0);
	r.signature = "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
	assert_int_equal(verify(&r), 0);		/* hex in either case */
	r.signature = "sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	assert_int_equal(verify(&r), -1);		/* one digit off */
	r.signature = NULL;
	assert_int_equal(verify(&r), -1);		/* missing */
	r.signature = "sha1=" SIG;
	assert_int_equal(verify(&r), -1);		/* wrong prefix */
	r.signature = SIG;
	assert_int_equal(verify(&r), -1);		/* no prefix */
	r.signature = "sha256=" SIG "00";
	assert_int_equal(verify(&r), -1);		/* too long */
	r.signature = "sha256=757107ea";
	assert_int_equal(verify(&r), -1);		/* too short */
	r.signature = "sha256=";
	assert_int_equal(verify(&r), -1);		/* empty */
	r.signature = "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	assert_int_equal(verify(&r), -1);		/* not hex */
	r.signature = "sha256=" SIG;
	r.body = "Hello, World?";
	assert_int_equal(verify(&r), -1);		/* another body */
	r.body = BODY;
	r.body_len = 5;
	assert_int_equal(verify(&r), -1);		/* the body's length counts */
}

static void
test_gitea_signature(void **state)
{
	struct webhook_request r = req(WEBHOOK_GITEA, SIG, BODY);
	char err[ERR_LEN];

	assert_int_equal(verify(&r), 0);
	r.signature = "sha256=" SIG;		/* Gitea sends the bare hex */
	assert_int_equal(verify(&r), -1);
	r.signature = NULL;
	assert_int_equal(verify(&r), -1);
	r.signature = SIG;
	assert_int_equal(webhook_verify(&r, (const unsigned char *)"other", 5, err), -1);
	assert_int_equal(webhook_verify(&r, NULL, 0, err), -1);	/* no secret: never valid */
}

static void
test_bearer(void **state)
{
	struct webhook_request r = req(WEBHOOK_GENERIC, NULL, "");

	r.authorization = "Bearer " SECRET;
	assert_int_equal(verify(&r), 0);
	r.authorization = "bearer " SECRET;
	assert_int_equal(verify(&r), 0);
	r.authorization = "Bearer " SECRET "x";
	assert_int_equal(verify(&r), -1);
	r.authorization = "Bearer It's a Secret";
	assert_int_equal(verify(&r), -1);
	r.authorization = "Basic " SECRET;
	assert_int_equal(verify(&r), -1);
	r.authorization = "Bearer ";
	assert_int_equal(verify(&r), -1);
	r.authorization = NULL;
	assert_int_equal(verify(&r), -1);
}

/* The request signed with SECRET: webhook_verify's comparison is proven
 * against GitHub's example above; these tests are about what comes after. */
static char sigbuf[8][80];
static int nsig;

static struct webhook_request
sreq(enum webhook_source s, const char *event, const char *ct, const char *body)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *sig = sigbuf[nsig++ % 8], *p;
	struct webhook_request r = req(s, sig, body);

	p = sig;
	if (s == WEBHOOK_GITHUB)
		p += snprintf(p, sizeof(sigbuf[0]), "sha256=");
	HMAC(EVP_sha256(), SECRET, (int)secret_len, (const unsigned char *)body, strlen(body), md,
	    &n);
	hex_encode(md, n, p);
	r.event = event;
	r.content_type = ct;
	if (s == WEBHOOK_GENERIC)
		r.authorization = "Bearer " SECRET;
	return r;
}

static void
judge_as(const struct webhook_request *r, const char *branch, int status,
    enum webhook_outcome o, const char *in_reason)
{
	struct webhook_verdict v;

	webhook_judge(r, secret, secret_len, branch, &v);
	if (v.status != status || v.outcome != o || (in_reason && !strstr(v.reason, in_reason)))
		print_error("got %d %s: %s\n", v.status, webhook_outcome_name(v.outcome), v.reason);
	assert_int_equal(v.status, status);
	assert_int_equal(v.outcome, o);
	assert_int_equal(v.sync, o == WEBHOOK_SYNC);
	assert_true(v.reason[0] != '\0');
	assert_null(strstr(v.reason, SECRET));
	if (in_reason)
		assert_non_null(strstr(v.reason, in_reason));
}

#define JSON "application/json"
#define PUSH(ref) "{\"ref\":\"" ref "\",\"after\":\"1111111111111111111111111111111111111111\"}"

static void
test_unconfigured(void **state)
{
	struct webhook_request r = req(WEBHOOK_GITHUB, "sha256=" SIG, BODY);
	struct webhook_verdict v;

	webhook_judge(&r, NULL, 0, "main", &v);
	assert_int_equal(v.status, 404);
	assert_int_equal(v.outcome, WEBHOOK_UNCONFIGURED);
	assert_non_null(strstr(v.reason, "github_secret_file"));
	assert_false(v.sync);
	r.source = WEBHOOK_GENERIC;
	webhook_judge(&r, (const unsigned char *)"", 0, "main", &v);
	assert_int_equal(v.status, 404);
	assert_non_null(strstr(v.reason, "generic_token_file"));
}

static void
test_unauthorized_first(void **state)
{
	/* refused before the content type or the body is looked at: an
	 * unauthenticated sender learns nothing else */
	struct webhook_request r = req(WEBHOOK_GITHUB, "sha256=" SIG, "not json at all");

	r.content_type = "text/plain";
	r.event = "push";
	judge_as(&r, "main", 401, WEBHOOK_UNAUTHORIZED, "does not match");
	r.signature = NULL;
	judge_as(&r, "main", 401, WEBHOOK_UNAUTHORIZED, "missing X-Hub-Signature-256");
	r = sreq(WEBHOOK_GITEA, "push", JSON, PUSH("refs/heads/main"));
	r.signature = NULL;
	judge_as(&r, "main", 401, WEBHOOK_UNAUTHORIZED, "missing X-Gitea-Signature");
	r = sreq(WEBHOOK_GENERIC, NULL, NULL, "");
	r.authorization = "Bearer nope";
	judge_as(&r, "main", 401, WEBHOOK_UNAUTHORIZED, NULL);
}

static void
test_github(void **state)
{
	struct webhook_request r;
	struct webhook_verdict v;

	r = sreq(WEBHOOK_GITHUB, "ping", JSON, "{\"zen\":\"Keep it logically awesome.\"}");
	judge_as(&r, "main", 200, WEBHOOK_PING, "refs/heads/main");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, PUSH("refs/heads/main"));
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	webhook_judge(&r, secret, secret_len, "main", &v);
	assert_string_equal(v.ref, "refs/heads/main");
	assert_string_equal(v.after, "1111111111111111111111111111111111111111");
	judge_as(&r, "prod", 202, WEBHOOK_IGNORED, "not the followed branch 'refs/heads/prod'");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, PUSH("refs/heads/main2"));
	judge_as(&r, "main", 202, WEBHOOK_IGNORED, "refs/heads/main2");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, PUSH("refs/tags/main"));
	judge_as(&r, "main", 202, WEBHOOK_IGNORED, NULL);
	r = sreq(WEBHOOK_GITHUB, "push", JSON, PUSH("refs/heads/release/1.0"));
	judge_as(&r, "release/1.0", 202, WEBHOOK_SYNC, NULL);
	r = sreq(WEBHOOK_GITHUB, "issues", JSON, "{\"action\":\"opened\"}");
	judge_as(&r, "main", 202, WEBHOOK_IGNORED, "event 'issues' ignored");
	r = sreq(WEBHOOK_GITHUB, NULL, JSON, PUSH("refs/heads/main"));
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, "missing X-GitHub-Event");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, "{\"after\":\"x\"}");
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, "no string 'ref'");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, "{\"ref\":7}");
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, "no string 'ref'");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, "{\"ref\":");
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, "not a JSON object");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, "[\"refs/heads/main\"]");
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, "not a JSON object");
	r = sreq(WEBHOOK_GITHUB, "push", JSON, "{\"ref\":\"refs/heads/main\",\"ref\":\"x\"}");
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, NULL);	/* duplicate keys */
}

static void
test_content_type(void **state)
{
	struct webhook_request r;

	r = sreq(WEBHOOK_GITHUB, "push", "application/json; charset=utf-8", PUSH("refs/heads/main"));
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	r = sreq(WEBHOOK_GITHUB, "push", "Application/JSON", PUSH("refs/heads/main"));
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	r = sreq(WEBHOOK_GITHUB, "ping", "application/x-www-form-urlencoded", "payload=%7B%7D");
	judge_as(&r, "main", 415, WEBHOOK_REJECTED, "content type to application/json");
	r = sreq(WEBHOOK_GITHUB, "push", "application/jsonx", PUSH("refs/heads/main"));
	judge_as(&r, "main", 415, WEBHOOK_REJECTED, "send application/json");
	r = sreq(WEBHOOK_GITHUB, "push", NULL, PUSH("refs/heads/main"));
	judge_as(&r, "main", 415, WEBHOOK_REJECTED, "(none)");
	r = sreq(WEBHOOK_GITEA, "push", "text/plain", PUSH("refs/heads/main"));
	judge_as(&r, "main", 415, WEBHOOK_REJECTED, NULL);
}

static void
test_gitea_generic(void **state)
{
	struct webhook_request r;

	r = sreq(WEBHOOK_GITEA, "push", JSON, PUSH("refs/heads/main"));
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	judge_as(&r, "dev", 202, WEBHOOK_IGNORED, NULL);
	r = sreq(WEBHOOK_GITEA, "ping", JSON, "{}");
	judge_as(&r, "main", 202, WEBHOOK_IGNORED, "only push");	/* no ping in Gitea */
	r = sreq(WEBHOOK_GITEA, NULL, JSON, PUSH("refs/heads/main"));
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, "missing X-Gitea-Event");
	/* generic: a bare trigger, or a JSON body whose optional ref filters */
	r = sreq(WEBHOOK_GENERIC, NULL, NULL, "");
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	r = sreq(WEBHOOK_GENERIC, NULL, JSON, "{}");
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	r = sreq(WEBHOOK_GENERIC, NULL, JSON, PUSH("refs/heads/main"));
	judge_as(&r, "main", 202, WEBHOOK_SYNC, NULL);
	r = sreq(WEBHOOK_GENERIC, NULL, JSON, PUSH("refs/heads/other"));
	judge_as(&r, "main", 202, WEBHOOK_IGNORED, NULL);
	r = sreq(WEBHOOK_GENERIC, NULL, "text/plain", "sync please");
	judge_as(&r, "main", 415, WEBHOOK_REJECTED, NULL);
	r = sreq(WEBHOOK_GENERIC, NULL, JSON, "sync please");
	judge_as(&r, "main", 400, WEBHOOK_REJECTED, NULL);
}

static void
test_names(void **state)
{
	enum webhook_source s;

	assert_int_equal(webhook_source_parse("gitea", &s), 0);
	assert_int_equal(s, WEBHOOK_GITEA);
	assert_int_equal(webhook_source_parse("gitlab", &s), -1);
	assert_int_equal(webhook_source_parse("", &s), -1);
	for (int o = 0; o < WEBHOOK_NOUTCOMES; o++)
		assert_string_not_equal(webhook_outcome_name((enum webhook_outcome)o), "?");
}

static void
test_rate(void **state)
{
	static struct webhook_rate rl;
	long long t = 1000000;
	int wait, n = 0;
	char peer[32];

	for (int i = 0; i < 20; i++)
		n += webhook_rate_take(&rl, "10.0.0.1", t, &wait);
	assert_int_equal(n, WEBHOOK_RATE_BURST);
	assert_int_equal(webhook_rate_take(&rl, "10.0.0.1", t, &wait), 0);
	assert_true(wait >= 1 && wait <= 2);
	/* another peer has its own bucket */
	assert_int_equal(webhook_rate_take(&rl, "10.0.0.2", t, &wait), 1);
	assert_int_equal(wait, 0);
	/* one token back per refill period, never more than the burst */
	assert_int_equal(webhook_rate_take(&rl, "10.0.0.1", t + WEBHOOK_RATE_REFILL_MS, &wait), 1);
	assert_int_equal(webhook_rate_take(&rl, "10.0.0.1", t + WEBHOOK_RATE_REFILL_MS, &wait), 0);
	t += 3600 * 1000;
	n = 0;
	for (int i = 0; i < 20; i++)
		n += webhook_rate_take(&rl, "10.0.0.1", t, &wait);
	assert_int_equal(n, WEBHOOK_RATE_BURST);
	/* a clock that goes back refunds nothing and breaks nothing */
	assert_int_equal(webhook_rate_take(&rl, "10.0.0.1", t - 5000, &wait), 0);
	/* more peers than slots: the table stays bounded, new peers get a full bucket */
	for (int i = 0; i < 3 * WEBHOOK_RATE_PEERS; i++) {
		snprintf(peer, sizeof(peer), "192.0.2.%d", i);
		/* (paced, so that the global bucket has refilled) */
		assert_int_equal(webhook_rate_take(&rl, peer, t + (long long)(i + 1) *
		    WEBHOOK_RATE_GLOBAL_REFILL_MS, &wait), 1);
	}
}

/* Rotating IPv6 source addresses within one /64 (what any host on an IPv6
 * network can do) share one bucket; an IPv4-mapped address is its IPv4. */
static void
test_rate_ipv6_prefix(void **state)
{
	static struct webhook_rate rl;
	long long t = 1000000;
	int wait, n = 0;
	char peer[64];

	for (int i = 0; i < 20; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:1:2::%x", i + 1);
		n += webhook_rate_take(&rl, peer, t, &wait);
	}
	if (n != WEBHOOK_RATE_BURST)
		print_error("20 addresses of one /64: %d allowed, wanted %d\n", n, WEBHOOK_RATE_BURST);
	assert_int_equal(n, WEBHOOK_RATE_BURST);
	assert_int_equal(webhook_rate_take(&rl, "2001:db8:1:2:ffff:ffff:ffff:ffff", t, &wait), 0);
	assert_true(wait >= 1);
	/* the next /64 is another sender */
	assert_int_equal(webhook_rate_take(&rl, "2001:db8:1:3::1", t, &wait), 1);
	/* ::ffff:10.9.9.9 is 10.9.9.9 */
	n = 0;
	for (int i = 0; i < 20; i++)
		n += webhook_rate_take(&rl, i % 2 ? "10.9.9.9" : "::ffff:10.9.9.9", t, &wait);
	assert_int_equal(n, WEBHOOK_RATE_BURST);
}

/* Many /64s (a /48 holds 65536 of them) still meet the global bound. */
static void
test_rate_global(void **state)
{
	static struct webhook_rate rl;
	long long t = 1000000;
	int wait, n = 0;
	char peer[64];

	for (int i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:%x:%x::1", i / 256, i % 256);
		n += webhook_rate_take(&rl, peer, t, &wait);
	}
	if (n >= 1000)
		print_error("1000 distinct /64s at once: all %d allowed\n", n);
	assert_true(n < 1000);
	assert_int_equal(n, WEBHOOK_RATE_GLOBAL_BURST);
	assert_int_equal(webhook_rate_take(&rl, "198.51.100.7", t, &wait), 0);
	assert_true(wait >= 1);
	/* and it refills */
	assert_int_equal(webhook_rate_take(&rl, "198.51.100.7", t + WEBHOOK_RATE_GLOBAL_REFILL_MS,
	    &wait), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_github_signature),
		cmocka_unit_test(test_gitea_signature),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_unconfigured),
		cmocka_unit_test(test_unauthorized_first),
		cmocka_unit_test(test_github),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_gitea_generic),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_rate_ipv6_prefix),
		cmocka_unit_test(test_rate_global),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
