/*
 * hooks: POST /hooks/github, /hooks/gitea and /hooks/generic. Webhooks: the
 * pure decision is webhook.c's; here only the secret file, the rate limit,
 * the counter and the cycle.
 */
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
	file = wr.source == WEBHOOK_GITHUB ? dm->cfg->hook_github_file :
	    wr.source == WEBHOOK_GITEA ? dm->cfg->hook_gitea_file : dm->cfg->hook_generic_file;
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
	pthread_mutex_lock(&dm->shared.mu);
	dm->shared.m.hooks[wr.source][v.outcome]++;
	pthread_mutex_unlock(&dm->shared.mu);
	log_msg(v.status >= 500 ? LOG_ERROR : v.status >= 400 ? LOG_WARN : LOG_INFO, "webhook",
	    "source=%s peer=%s status=%d outcome=%s: %s", webhook_source_name(wr.source), req->peer,
	    v.status, webhook_outcome_name(v.outcome), v.reason);
	if (v.sync)
		daemon__schedule(dm, "webhook");
	daemon__json_body(r, v.status, json_pack("{s:s,s:s}", "outcome",
	    webhook_outcome_name(v.outcome), v.status >= 400 ? "error" : "message", v.reason));
}
