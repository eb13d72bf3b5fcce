/*
 * chan: the messages between reconcilerd and its listener child, over their
 * socketpair (docs/process-model.md). A frame is a 4-byte big-endian length,
 * then a type byte and the fields: 4-byte integers and length-prefixed
 * strings. Pure: bytes in, a checked message out. Each side bounds what it
 * reads (the frame's length first, then every field) and takes nothing it
 * has not checked; the parent treats the child as hostile.
 */
#ifndef RECONCILER_CHAN_H
#define RECONCILER_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "webhook.h"

/* The longest frame each side reads: the child sends a few short fields,
 * the parent pages of status and history. */
#define CHAN_MAX_TO_PARENT	(64u << 10)
#define CHAN_MAX_TO_CHILD	(16u << 20)
#define CHAN_MAX_SECRET		4096
/* REQUESTs and TRIGGERs the child may have unanswered at once: one more and
 * the parent takes it for a child that no longer follows the protocol. */
#define CHAN_MAX_INFLIGHT	64

enum chan_type {
	/* parent -> child */
	CHAN_CONFIG = 1,	/* what the child needs to judge webhooks */
	CHAN_ANSWER = 2,	/* the answer to a REQUEST or a TRIGGER */
	/* child -> parent */
	CHAN_REQUEST = 16,	/* a GET for the parent to answer */
	CHAN_TRIGGER = 17,	/* an authenticated push to the branch: a cycle, once */
	CHAN_HOOK = 18,		/* a webhook request the child answered, to count and log */
};

enum chan_secret_state {
	CHAN_SECRET_OFF = 0,	/* no file configured: the hook answers 404 */
	CHAN_SECRET_SET = 1,	/* text holds the secret */
	CHAN_SECRET_ERROR = 2,	/* the file cannot be read: text says why (500) */
};

struct chan_config {
	char branch[256];
	char control[256];	/* the control socket's path, "" when off */
	struct {
		int state;	/* enum chan_secret_state */
		size_t len;
		char text[CHAN_MAX_SECRET + 1];
	} hook[WEBHOOK_NSOURCES];
};

struct chan_answer {
	uint32_t id;
	int status;			/* 100..599 */
	char content_type[128];
	char headers[256];		/* "Name: value\r\n" lines, or "" */
	const char *body;		/* into the frame */
	size_t body_len;
};

struct chan_request {
	uint32_t id;
	char path[512];
	char query[512];
	char peer[64];
};

struct chan_trigger {
	uint32_t id;
	int source;			/* enum webhook_source */
	char delivery[128];		/* the delivery ID header, "" when none */
	char peer[64];
	char reason[256];
};

struct chan_hook {
	int source;
	int outcome;			/* enum webhook_outcome, not SYNC */
	int status;
	char peer[64];
	char reason[ERR_LEN];
};

/* Each appends one whole frame to out. */
void chan_put_config(struct buf *out, const struct chan_config *c);
void chan_put_answer(struct buf *out, const struct chan_answer *a);
void chan_put_request(struct buf *out, const struct chan_request *r);
void chan_put_trigger(struct buf *out, const struct chan_trigger *t);
void chan_put_hook(struct buf *out, const struct chan_hook *h);

/* Each decodes one frame's payload (after the type byte): 0, or -1 with err
 * saying which field is wrong. Strings are checked: paths, queries, peers
 * and delivery IDs printable ASCII without spaces, reasons printable. */
int chan_get_config(const unsigned char *p, size_t n, struct chan_config *c, char *err);
int chan_get_answer(const unsigned char *p, size_t n, struct chan_answer *a, char *err);
int chan_get_request(const unsigned char *p, size_t n, struct chan_request *r, char *err);
int chan_get_trigger(const unsigned char *p, size_t n, struct chan_trigger *t, char *err);
int chan_get_hook(const unsigned char *p, size_t n, struct chan_hook *h, char *err);

/* Frames out of a byte stream, each at most max bytes. */
struct chan_reader {
	struct buf in;
	size_t off;		/* where the next frame starts in in */
	size_t max;
};

void chan_reader_init(struct chan_reader *r, size_t max);
void chan_reader_release(struct chan_reader *r);
/* Appends bytes read; -1 when they do not fit (a frame over the bound). */
int chan_feed(struct chan_reader *r, const void *data, size_t n);
/* 1 and the next frame (type, payload and its length, valid until the next
 * call), 0 when it is not all there yet, -1 (err) when the stream is bad: a
 * frame over the bound or empty. */
int chan_next(struct chan_reader *r, int *type, const unsigned char **payload, size_t *len,
    char *err);

#endif
