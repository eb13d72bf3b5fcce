/*
 * webhook: the pure part of reconcilerd's /hooks/{github,gitea,generic}: the
 * credential check (HMAC-SHA256 of the raw body, or a bearer token, compared
 * in constant time) made before any byte of the body is parsed, the payload's
 * classification (ping, push to a ref, other), the verdict (HTTP status,
 * reason, sync or not), and a per-peer token bucket. No I/O: the daemon reads
 * the secret file and schedules the cycle. A payload is only a trigger; the
 * revision applied is always the branch head as Git tells it.
 */
#ifndef RECONCILER_WEBHOOK_H
#define RECONCILER_WEBHOOK_H

#include <stddef.h>

#include "util.h"

enum webhook_source {
	WEBHOOK_GITHUB,		/* X-Hub-Signature-256: sha256=<hex>, X-GitHub-Event */
	WEBHOOK_GITEA,		/* X-Gitea-Signature: <hex>, X-Gitea-Event */
	WEBHOOK_GENERIC,	/* Authorization: Bearer <token> */
};
#define WEBHOOK_NSOURCES 3

/* What became of a request; the label of reconciler_webhooks_total. */
enum webhook_outcome {
	WEBHOOK_SYNC,		/* 202: a cycle is scheduled */
	WEBHOOK_PING,		/* 200: ping answered, no cycle */
	WEBHOOK_IGNORED,	/* 202: another branch, a tag, another event */
	WEBHOOK_UNAUTHORIZED,	/* 401: signature or token missing or wrong */
	WEBHOOK_REJECTED,	/* 400, 415: not a payload we take */
	WEBHOOK_RATE_LIMITED,	/* 429 */
	WEBHOOK_UNCONFIGURED,	/* 404: no secret configured for this source */
	WEBHOOK_ERROR,		/* 500: the secret file cannot be read */
	WEBHOOK_REPLAYED,	/* 200: a delivery ID seen before: no new cycle */
};
#define WEBHOOK_NOUTCOMES 9

/* The request as the HTTP layer hands it over; headers NULL when absent. */
struct webhook_request {
	enum webhook_source source;
	const char *signature;		/* the source's signature header */
	const char *authorization;	/* generic: "Bearer <token>" */
	const char *event;		/* X-GitHub-Event / X-Gitea-Event */
	const char *content_type;
	const char *body;
	size_t body_len;
};

struct webhook_verdict {
	int status;			/* HTTP status to answer */
	enum webhook_outcome outcome;
	int sync;			/* 1: schedule a cycle */
	char reason[ERR_LEN];		/* one line for the answer and the log */
	char ref[256];			/* the push's ref, when there was one */
	char after[41];			/* the commit the payload names (a hint only) */
};

const char *webhook_source_name(enum webhook_source s);
/* The header a source repeats when it sends a delivery again (GitHub's
 * X-GitHub-Delivery, Gitea's X-Gitea-Delivery; the generic hook takes an
 * Idempotency-Key, as GitLab sends): a replay starts no second cycle. */
const char *webhook_delivery_header(enum webhook_source s);
const char *webhook_outcome_name(enum webhook_outcome o);
/* "github", "gitea", "generic" -> 0 and *out, else -1. */
int webhook_source_parse(const char *name, enum webhook_source *out);

/* 0 when the request carries a valid credential for secret (secret_len
 * bytes), else -1 with a message that never contains the secret. */
int webhook_verify(const struct webhook_request *r, const unsigned char *secret,
    size_t secret_len, char *err);

/* The whole decision for one request: credential first, then content type,
 * then the payload against `branch` (a name, e.g. main). */
void webhook_judge(const struct webhook_request *r, const unsigned char *secret,
    size_t secret_len, const char *branch, struct webhook_verdict *v);

/* A token bucket per sender: WEBHOOK_RATE_BURST requests at once, refilled
 * one per WEBHOOK_RATE_REFILL_MS. A sender is an IPv4 address or an IPv6 /64
 * (netaddr_peer_key), so rotating addresses within one's /64 gains nothing;
 * and all senders together take from one global bucket (GLOBAL_BURST, one
 * per GLOBAL_REFILL_MS), which bounds what many /64s can do. The table is
 * bounded; the sender seen least recently makes room for a new one. */
#define WEBHOOK_RATE_BURST	10
#define WEBHOOK_RATE_REFILL_MS	1000
#define WEBHOOK_RATE_PEERS	64
#define WEBHOOK_RATE_GLOBAL_BURST	30
#define WEBHOOK_RATE_GLOBAL_REFILL_MS	200

struct webhook_bucket {
	double tokens;
	long long last;		/* ms */
};

struct webhook_rate {
	struct {
		char peer[64];	/* the key, "" when free */
		struct webhook_bucket b;
	} slot[WEBHOOK_RATE_PEERS];
	struct webhook_bucket all;
	int all_init;
};

/* 1 when peer may go on (a token taken from its bucket and the global one),
 * 0 when it must wait: then *retry_after is the number of seconds until it
 * may try again. */
int webhook_rate_take(struct webhook_rate *rl, const char *peer, long long now,
    int *retry_after);

#endif
