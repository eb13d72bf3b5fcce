/*
 * fleet: see fleet.h.
 */
#include "fleet.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct body {
	char *data;
	size_t len;
	int over;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;

	if (b->len + add > FLEET_STATUS_MAX) {
		b->over = 1;
		return 0;
	}
	b->data = xrealloc(b->data, b->len + add + 1);
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

int
fleet_status_get(const char *url, long timeout_ms, json_t **out, char *err)
{
	struct body b = { NULL, 0, 0 };
	char *full = xasprintf("%s/v1/status", url);
	CURL *c = curl_easy_init();
	CURLcode rc;
	long status = 0;
	json_error_t je;

	*out = NULL;
	if (!c) {
		free(full);
		return errf(err, "cannot start an HTTP client");
	}
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "reconciler/" RECONCILER_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	free(full);
	if (b.over)
		errf(err, "its status is over %u bytes", FLEET_STATUS_MAX);
	else if (rc != CURLE_OK)
		errf(err, "%s", curl_easy_strerror(rc));
	else if (status != 200)
		errf(err, "HTTP %ld from /v1/status", status);
	else if (!(*out = json_loadb(b.data ? b.data : "", b.len, 0, &je)) ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		errf(err, "not a status document");
	}
	free(b.data);
	return *out ? 0 : -1;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

int
fleet_serves(const json_t *st, const char *name, const char *revision, const char *service,
    char *why, size_t len)
{
	const char *rev = str(st, "revision");
	json_t *row;
	size_t i;

	if (strcmp(rev, revision) != 0) {
		snprintf(why, len, "%s is at revision %.12s (this host at %.12s)", name,
		    *rev ? rev : "(none yet)", revision);
		return 0;
	}
	json_array_foreach(json_object_get(st, "services"), i, row) {
		const char *role = str(row, "role"), *health = str(row, "health");

		if (strcmp(str(row, "service"), service) != 0 || (*role && strcmp(role, "primary")))
			continue;
		if (json_object_get(row, "where")) {
			snprintf(why, len, "%s does not place %s on itself", name, service);
			return 0;
		}
		if (strcmp(str(row, "state"), "running") != 0) {
			snprintf(why, len, "%s: %s is %s", name, service, str(row, "state"));
			return 0;
		}
		if (strcmp(health, "unhealthy") == 0 || strcmp(health, "starting") == 0) {
			snprintf(why, len, "%s: %s is %s", name, service, health);
			return 0;
		}
		return 1;
	}
	snprintf(why, len, "%s runs no container of %s yet", name, service);
	return 0;
}

/* Host h's status, asked once per fleet_wait (borrowed), or NULL with e. */
static const json_t *
status_of(struct fleet_wait *fw, const struct mf_fleet_host *h, char *e)
{
	json_t *st;

	if (!fw->asked)
		fw->asked = json_object();
	if (!(st = json_object_get(fw->asked, h->name))) {
		if (fleet_status_get(h->url, fw->timeout_ms, &st, e) < 0)
			st = json_pack("{s:s}", "error", e);
		json_object_set_new(fw->asked, h->name, st);
	}
	if (json_object_size(st) == 1 && json_is_string(json_object_get(st, "error"))) {
		snprintf(e, ERR_LEN, "%s", json_string_value(json_object_get(st, "error")));
		return NULL;
	}
	return st;
}

void
fleet_wait_release(struct fleet_wait *fw)
{
	json_decref(fw->asked);
	fw->asked = NULL;
}

int
fleet_moved_served(const char *service, char *why, size_t len, void *payload)
{
	struct fleet_wait *fw = payload;
	struct buf b;
	int asked = 0;

	buf_init(&b, 0);
	for (size_t i = 0; i < fw->m->nfleet; i++) {
		const struct mf_fleet_host *h = &fw->m->fleet[i];
		char e[ERR_LEN], one[512];
		const json_t *st;

		if (!h->url || (fw->self && strcmp(h->name, fw->self) == 0))
			continue;
		asked++;
		if (!(st = status_of(fw, h, e))) {
			buf_addf(&b, "%s%s unreachable (%s)", b.len ? "; " : "", h->name, e);
			continue;
		}
		if (fleet_serves(st, h->name, fw->revision, service, one, sizeof(one))) {
			snprintf(why, len, "%s serves it", h->name);
			buf_release(&b);
			return 1;
		}
		buf_addf(&b, "%s%s", b.len ? "; " : "", one);
	}
	if (!asked) {
		snprintf(why, len, "no other host in the manifest's fleet section to wait for");
		buf_release(&b);
		return 1;
	}
	snprintf(why, len, "waiting for another host to serve it: %s", b.data ? b.data : "");
	buf_release(&b);
	return 0;
}

/* One host's verdict on revision, from its status st. */
static int
approves(const json_t *st, const char *name, const char *revision, char *why, size_t len)
{
	const char *rev = str(st, "revision"), *state = str(st, "state");
	json_t *q;
	size_t i;

	if (strcmp(str(json_object_get(st, "host"), "name"), name) != 0) {
		snprintf(why, len, "%s's listener answers as host '%s'", name,
		    str(json_object_get(st, "host"), "name"));
		return FLEET_WAIT;
	}
	json_array_foreach(json_object_get(st, "quarantined"), i, q)
		if (strcmp(str(q, "revision"), revision) == 0) {
			snprintf(why, len, "%.12s failed on %s (%s: %s)", revision, name,
			    str(q, "service"), str(q, "reason"));
			return FLEET_FAILED;
		}
	if (strcmp(rev, revision) != 0) {
		snprintf(why, len, "%s is at revision %.12s, not yet %.12s", name,
		    *rev ? rev : "(none)", revision);
		return FLEET_WAIT;
	}
	if (strcmp(state, "in-sync") != 0 && strcmp(state, "converged") != 0) {
		snprintf(why, len, "%s is %s at %.12s", name, *state ? state : "?", revision);
		return FLEET_WAIT;	/* failed only once it quarantines the revision */
	}
	return FLEET_GO;
}

int
fleet_approved(const struct manifest *m, char *const *names, size_t n, const char *revision,
    long timeout_ms, char *why, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const struct mf_fleet_host *h = NULL;
		char e[ERR_LEN];
		json_t *st;
		int v;

		for (size_t k = 0; k < m->nfleet; k++)
			if (strcmp(m->fleet[k].name, names[i]) == 0)
				h = &m->fleet[k];
		if (!h || !h->url) {
			snprintf(why, len, "wait_for names %s, which the manifest's fleet section does "
			    "not list: add it there with its url", names[i]);
			return FLEET_WAIT;
		}
		if (fleet_status_get(h->url, timeout_ms, &st, e) < 0) {
			snprintf(why, len, "%s unreachable (%s)", h->name, e);
			return FLEET_WAIT;
		}
		v = approves(st, h->name, revision, why, len);
		json_decref(st);
		if (v != FLEET_GO)
			return v;
	}
	snprintf(why, len, "served healthy by %zu host%s waited for", n, n == 1 ? "" : "s");
	return FLEET_GO;
}
