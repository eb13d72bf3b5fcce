/*
 * commitstatus: the deploy's outcome posted on the commit, through GitHub's
 * or Gitea's commit status API (`commit_status:` in the config): pending when
 * a revision starts converging, then success, failure or error with one line
 * saying why. Posted by the notifier's thread (notify_post), so a slow API
 * never holds the cycle; each state once per commit; the token is read from
 * its file at each post, so a new token needs no restart.
 */
#include "daemon_int.h"
#include "config.h"
#include "converge.h"
#include "log.h"
#include "notify.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define TOKEN_MAX 4096

/* The state this daemon last posted for commit, or NULL. */
static const char *
posted(const struct daemon *dm, const char *commit)
{
	for (size_t i = 0; i < CSTATUS_KEEP; i++)
		if (strcmp(dm->cycle.cstatus[i].commit, commit) == 0)
			return dm->cycle.cstatus[i].state;
	return NULL;
}

static void
remember(struct daemon *dm, const char *commit, const char *state)
{
	struct cstatus_sent *e = NULL;

	for (size_t i = 0; i < CSTATUS_KEEP && !e; i++)
		if (strcmp(dm->cycle.cstatus[i].commit, commit) == 0)
			e = &dm->cycle.cstatus[i];
	if (!e)
		e = &dm->cycle.cstatus[dm->cycle.cstatus_next++ % CSTATUS_KEEP];
	snprintf(e->commit, sizeof(e->commit), "%s", commit);
	snprintf(e->state, sizeof(e->state), "%s", state);
}

/* Appends s to out (size bytes, used *n) with control characters as spaces,
 * and at most max bytes of it, cut before a UTF-8 continuation byte. */
static void
put_line(char *out, size_t size, size_t *n, const char *s, size_t max)
{
	size_t k = 0, len = strlen(s);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	for (; k < len && *n + 1 < size; k++, (*n)++)
		out[*n] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? ' ' : s[k];
	out[*n] = '\0';
}

void
daemon__commit_describe(char *out, size_t size, const char *service, const char *reason,
    int more)
{
	static const char ell[] = "\xe2\x80\xa6";	/* U+2026, three bytes */
	char tail[32] = "";
	size_t n = 0, room, limit;

	if (!size)
		return;
	limit = size - 1 < COMMIT_DESC_MAX ? size - 1 : COMMIT_DESC_MAX;
	out[0] = '\0';
	if (more > 0)
		snprintf(tail, sizeof(tail), " (+%d more)", more);
	if (service && *service) {
		put_line(out, size, &n, service, limit / 2);
		put_line(out, size, &n, ": ", 2);
	}
	reason = reason && *reason ? reason : "failed";
	room = limit > n + strlen(tail) ? limit - n - strlen(tail) : 0;
	if (strlen(reason) <= room) {
		put_line(out, size, &n, reason, room);
	} else if (room > sizeof(ell) - 1) {
		put_line(out, size, &n, reason, room - (sizeof(ell) - 1));
		put_line(out, size, &n, ell, sizeof(ell) - 1);
	}
	if (n + strlen(tail) <= limit)
		put_line(out, size, &n, tail, strlen(tail));
}

/* The token, its trailing newline and blanks cut; NULL with err. */
static char *
read_token(const char *path, size_t *len, char *err)
{
	char *tok = NULL;

	if (file_read_secret(path, TOKEN_MAX, 1, &tok, len, err) < 0)
		return NULL;
	while (*len && (tok[*len - 1] == '\n' || tok[*len - 1] == '\r' || tok[*len - 1] == ' ' ||
	    tok[*len - 1] == '\t'))
		tok[--*len] = '\0';
	if (!*len || strpbrk(tok, "\r\n")) {
		secret_free(tok, *len);
		errf(err, "'%s' must hold the token on one line", path);
		return NULL;
	}
	return tok;
}

static char *
body_json(const struct config_commit_status *cs, const char *host, const char *state,
    const char *description)
{
	json_t *o = json_pack("{s:s,s:s}", "state", state, "description", description);
	char *out;

	if (cs->context)
		json_object_set_new(o, "context", json_string(cs->context));
	else
		json_object_set_new(o, "context", json_sprintf("reconciler/%s", host));
	if (cs->target_url)
		json_object_set_new(o, "target_url", json_string(cs->target_url));
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return out;
}

void
daemon__commit_status(struct daemon *dm, const char *commit, const char *state,
    const char *description)
{
	const struct config_commit_status *cs = &dm->cfg->status;
	const char *host = dm->cfg->host.name ? dm->cfg->host.name : "localhost";
	const char *prev, *hdrs[3];
	char err[ERR_LEN], desc[COMMIT_DESC_MAX + 1], *tok, *url, *body, *auth;
	size_t len, n = 0, ulen;
	int github;

	if (!cs->provider || !commit || strlen(commit) != 40)
		return;
	if ((prev = posted(dm, commit)) && strcmp(prev, state) == 0)
		return;
	/* pending once: a heal or a retry of a revision told already is no new start */
	if (prev && strcmp(state, "pending") == 0)
		return;
	remember(dm, commit, state);
	daemon__commit_describe(desc, sizeof(desc), NULL, description, 0);
	if (!(tok = read_token(cs->token_file, &len, err))) {
		log_error("status", "commit=%.12s state=%s not posted: commit_status.token_file: %s",
		    commit, state, err);
		return;
	}
	github = strcmp(cs->provider, "github") == 0;
	url = xasprintf("%s", cs->url ? cs->url : "https://api.github.com");
	for (ulen = strlen(url); ulen && url[ulen - 1] == '/'; )
		url[--ulen] = '\0';
	{
		char *full = xasprintf("%s/repos/%s/statuses/%s", url, cs->repository, commit);

		free(url);
		url = full;
	}
	auth = xasprintf("Authorization: %s %s", github ? "Bearer" : "token", tok);
	hdrs[n++] = auth;
	if (github) {
		hdrs[n++] = "Accept: application/vnd.github+json";
		hdrs[n++] = "X-GitHub-Api-Version: 2022-11-28";
	}
	body = body_json(cs, host, state, desc);
	notify_post(dm->notifier, "commit_status", url, hdrs, n, body);
	log_info("status", "commit=%.12s state=%s posted on %s %s: %s", commit, state,
	    cs->provider, cs->repository, desc);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	secret_free(tok, len);
	free(url);
	free(body);
}

/* The first failure of a cycle: a service converge failed or held back, else
 * a quarantined one; how many more. */
static void
first_failure(const struct converge_report *rep, json_t *quarantined, const char **svc,
    const char **why, int *more)
{
	int n = 0;

	*svc = *why = NULL;
	for (size_t i = 0; rep && i < rep->nservices; i++) {
		const struct converge_service *s = &rep->services[i];

		if (s->outcome != CONVERGE_FAILED && s->outcome != CONVERGE_BLOCKED)
			continue;
		if (!n++) {
			*svc = s->service;
			*why = s->reason;
		}
	}
	for (size_t i = 0; i < json_array_size(quarantined); i++) {
		json_t *q = json_array_get(quarantined, i);
		const char *name = json_string_value(json_object_get(q, "service"));
		int dup = 0;

		for (size_t k = 0; rep && name && k < rep->nservices; k++)
			dup |= strcmp(rep->services[k].service, name) == 0 &&
			    rep->services[k].outcome != CONVERGE_OK;
		if (dup)
			continue;
		if (!n++) {
			*svc = name;
			*why = json_string_value(json_object_get(q, "reason"));
		}
	}
	*more = n > 1 ? n - 1 : 0;
}

void
daemon__commit_status_end(struct daemon *dm, const char *commit, enum cycle_outcome out,
    const struct converge_report *rep, json_t *quarantined, json_t *errors)
{
	char desc[COMMIT_DESC_MAX + 1];
	const char *svc, *why;
	int more;

	if (!dm->cfg->status.provider)
		return;
	switch (out) {
	case CYCLE_IN_SYNC:
		daemon__commit_status(dm, commit, "success", "in sync");
		break;
	case CYCLE_CONVERGED:
		daemon__commit_status(dm, commit, "success", "deployed: every service healthy");
		break;
	case CYCLE_FAILED:
		first_failure(rep, quarantined, &svc, &why, &more);
		daemon__commit_describe(desc, sizeof(desc), svc, why, more);
		daemon__commit_status(dm, commit, "failure", desc);
		break;
	default:
		daemon__commit_describe(desc, sizeof(desc), NULL,
		    json_string_value(json_array_get(errors, 0)), 0);
		daemon__commit_status(dm, commit, "error", desc);
		break;
	}
}
