/*
 * hooks: webhooks, the daemon's side. The pure decision is webhook.c's; the
 * listener child (listener_child.c) makes it for the TCP listener and sends
 * only its outcome here, and a push to the branch as a trigger; the control
 * socket's POST /hooks/SOURCE is judged here. Either way this file counts, logs,
 * starts the cycle once per delivery ID (a replay starts none), and reads
 * the secret files (for the child: at start, on reload, on a change).
 */
#include "chan.h"
#include "daemon_int.h"
#include "httpd.h"
#include "log.h"
#include "util.h"
#include "webhook.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int
hook_secret(const char *file, char **out, size_t *len, char *err)
{
	if (file_read_secret(file, 4096, 1, out, len, err) < 0)
		return -1;
	while (*len && strchr(" \t\r\n", (*out)[*len - 1]))
		(*out)[--*len] = '\0';
	if (*len == 0)
		return errf(err, "the secret file '%s' is empty", file);
	return 0;
}

static const char *
hook_file(const struct daemon *dm, enum webhook_source s)
{
	return s == WEBHOOK_GITHUB ? dm->cfg->hook_github_file : s == WEBHOOK_GITEA ?
	    dm->cfg->hook_gitea_file : dm->cfg->hook_generic_file;
}

/* 1 when this source sent this delivery ID lately; else 0, and it is
 * remembered (a ring: the oldest is forgotten first). */
static int
replayed(struct daemon *dm, enum webhook_source s, const char *delivery)
{
	struct hook_seen *h = &dm->loop.hook_seen;
	char key[sizeof(h->id[0])];

	snprintf(key, sizeof(key), "%s:%s", webhook_source_name(s), delivery);
	for (size_t i = 0; i < HOOK_SEEN; i++)
		if (strcmp(h->id[i], key) == 0)
			return 1;
	snprintf(h->id[h->next], sizeof(h->id[0]), "%s", key);
	h->next = (h->next + 1) % HOOK_SEEN;
	return 0;
}

/* A flood of rate-limited requests is one log line a second, not one each
 * (the counter counts them all): -1 when this one goes unlogged, else how
 * many went unlogged before it. */
static long
quiet_limited(struct hook_seen *h, const struct webhook_verdict *v)
{
	long long now = now_ms();
	long n;

	if (v->outcome != WEBHOOK_RATE_LIMITED)
		return 0;
	if (now - h->limited_logged < 1000) {
		h->limited_quiet++;
		return -1;
	}
	n = (long)h->limited_quiet;
	h->limited_logged = now;
	h->limited_quiet = 0;
	return n;
}

/* Every webhook ends here: a replayed delivery is turned away, then the
 * count, the log line, the cycle, and the answer (r NULL: the child gave it). */
static void
conclude(struct daemon *dm, enum webhook_source s, struct webhook_verdict *v, const char *peer,
    const char *delivery, struct http_response *r)
{
	long quiet;

	if (v->sync && delivery && *delivery && replayed(dm, s, delivery)) {
		v->sync = 0;
		v->status = 200;
		v->outcome = WEBHOOK_REPLAYED;
		snprintf(v->reason, sizeof(v->reason), "delivery '%s' was received before: no new "
		    "cycle", delivery);
	}
	pthread_mutex_lock(&dm->shared.mu);
	dm->shared.m.hooks[s][v->outcome]++;
	pthread_mutex_unlock(&dm->shared.mu);
	if ((quiet = quiet_limited(&dm->loop.hook_seen, v)) >= 0)
		log_msg(v->status >= 500 ? LOG_ERROR : v->status >= 400 ? LOG_WARN : LOG_INFO,
		    "webhook", "source=%s peer=%s status=%d outcome=%s: %s%s", webhook_source_name(s),
		    peer, v->status, webhook_outcome_name(v->outcome), v->reason, quiet ?
		    " (and more, not logged: see reconciler_webhooks_total)" : "");
	if (v->sync)
		daemon__schedule(dm, "webhook");
	if (r)
		daemon__json_body(r, v->status, json_pack("{s:s,s:s}", "outcome",
		    webhook_outcome_name(v->outcome), v->status >= 400 ? "error" : "message",
		    v->reason));
}

/* POST /hooks/SOURCE on the control socket. */
void
daemon__hook(struct daemon *dm, const struct http_request *req, struct http_response *r)
{
	struct webhook_request wr = { 0 };
	struct webhook_verdict v;
	const char *file;
	char *secret = NULL, err[ERR_LEN];
	size_t len = 0;
	int wait;

	if (webhook_source_parse(req->path + 7, &wr.source) < 0) {
		daemon__json_body(r, 404, json_pack("{s:s}", "error", "no such webhook: use "
		    "/hooks/github, /hooks/gitea or /hooks/generic"));
		return;
	}
	memset(&v, 0, sizeof(v));
	file = hook_file(dm, wr.source);
	if (!webhook_rate_take(&dm->loop.hook_rate, req->peer, now_ms(), &wait)) {
		v.status = 429;
		v.outcome = WEBHOOK_RATE_LIMITED;
		snprintf(v.reason, sizeof(v.reason), "too many requests from %s: retry in %ds",
		    req->peer, wait);
		snprintf(r->extra_headers, sizeof(r->extra_headers), "Retry-After: %d\r\n", wait);
	} else if (file && hook_secret(file, &secret, &len, err) < 0) {
		v.status = 500;
		v.outcome = WEBHOOK_ERROR;
		snprintf(v.reason, sizeof(v.reason), "webhook secret: %.400s", err);
	} else {
		wr.signature = http_header(req, wr.source == WEBHOOK_GITHUB ? "X-Hub-Signature-256" :
		    "X-Gitea-Signature");
		wr.authorization = http_header(req, "Authorization");
		wr.event = http_header(req, wr.source == WEBHOOK_GITHUB ? "X-GitHub-Event" :
		    "X-Gitea-Event");
		wr.content_type = http_header(req, "Content-Type");
		wr.body = req->body;
		wr.body_len = req->body_len;
		webhook_judge(&wr, (const unsigned char *)secret, len, dm->cfg->branch, &v);
	}
	if (secret) {
		explicit_bzero(secret, len);
		free(secret);
	}
	conclude(dm, wr.source, &v, req->peer, http_header(req,
	    webhook_delivery_header(wr.source)), r);
}

/* The listener child's authenticated push: a cycle, once per delivery. */
void
daemon__hook_trigger(const struct chan_trigger *t, struct http_response *r, void *payload)
{
	struct webhook_verdict v;

	memset(&v, 0, sizeof(v));
	v.status = 202;
	v.outcome = WEBHOOK_SYNC;
	v.sync = 1;
	snprintf(v.reason, sizeof(v.reason), "%s", t->reason);
	conclude(payload, (enum webhook_source)t->source, &v, t->peer, t->delivery, r);
}

/* A webhook request the listener child answered itself. */
void
daemon__hook_note(const struct chan_hook *h, void *payload)
{
	struct webhook_verdict v;

	memset(&v, 0, sizeof(v));
	v.status = h->status;
	v.outcome = (enum webhook_outcome)h->outcome;
	snprintf(v.reason, sizeof(v.reason), "%s", h->reason);
	conclude(payload, (enum webhook_source)h->source, &v, h->peer, NULL, NULL);
}

/* Printable ASCII only: what the channel takes in a message (chan.c). */
static void
printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s >= 127)
			*s = '?';
}

/* What the listener child judges webhooks with: the branch, the control
 * socket (for its 403), and each source's secret or why it has none. */
void
daemon__hook_config(struct daemon *dm, struct chan_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->branch, sizeof(c->branch), "%s", dm->cfg->branch);
	for (char *b = c->branch; *b; b++)
		if ((unsigned char)*b <= 32 || (unsigned char)*b >= 127)
			*b = '?';	/* no ref has it: every push is then "another branch" */
	snprintf(c->control, sizeof(c->control), "%s", dm->loop.control_path ?
	    dm->loop.control_path : "");
	printable(c->control);
	for (int s = 0; s < WEBHOOK_NSOURCES; s++) {
		const char *file = hook_file(dm, (enum webhook_source)s);
		char *secret = NULL, err[ERR_LEN];
		size_t len = 0;

		if (!file)
			continue;
		if (hook_secret(file, &secret, &len, err) < 0) {
			c->hook[s].state = CHAN_SECRET_ERROR;
			snprintf(c->hook[s].text, sizeof(c->hook[s].text), "%s", err);
			printable(c->hook[s].text);
			c->hook[s].len = strlen(c->hook[s].text);
			continue;
		}
		c->hook[s].state = CHAN_SECRET_SET;
		memcpy(c->hook[s].text, secret, len);
		c->hook[s].len = len;
		explicit_bzero(secret, len);
		free(secret);
	}
}
