/*
 * registry: the digest behind a tag, from the registry itself; see registry.h.
 */
#include "registry.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ACCEPT "Accept: application/vnd.oci.image.index.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.docker.distribution.manifest.v2+json, " \
	"application/vnd.oci.image.manifest.v1+json"
#define TOKEN_MAX (64u << 10)

void
registry_ref_release(struct registry_ref *r)
{
	free(r->host);
	free(r->repo);
	free(r->tag);
	memset(r, 0, sizeof(*r));
}

int
registry_ref_parse(struct registry_ref *out, const char *ref)
{
	const char *slash = strchr(ref, '/'), *rest = ref, *last, *colon;

	memset(out, 0, sizeof(*out));
	if (!*ref || strchr(ref, '@'))
		return -1;
	if (slash && (memchr(ref, '.', (size_t)(slash - ref)) || memchr(ref, ':',
	    (size_t)(slash - ref)) || strncmp(ref, "localhost/", 10) == 0)) {
		out->host = xstrndup(ref, (size_t)(slash - ref));
		rest = slash + 1;
	} else {
		out->host = xstrdup("docker.io");
	}
	last = strrchr(rest, '/');
	colon = strrchr(last ? last : rest, ':');
	out->repo = colon ? xstrndup(rest, (size_t)(colon - rest)) : xstrdup(rest);
	out->tag = xstrdup(colon ? colon + 1 : "latest");
	if (strcmp(out->host, "docker.io") == 0 || strcmp(out->host, "index.docker.io") == 0) {
		free(out->host);
		out->host = xstrdup("registry-1.docker.io");
		if (!strchr(out->repo, '/')) {
			char *full = xasprintf("library/%s", out->repo);

			free(out->repo);
			out->repo = full;
		}
	}
	if (!*out->repo || !*out->tag) {
		registry_ref_release(out);
		return -1;
	}
	return 0;
}

/* Plain HTTP is for a registry on this machine only. */
static int
loopback(const char *host)
{
	if (strncmp(host, "localhost", 9) == 0 && (host[9] == '\0' || host[9] == ':'))
		return 1;
	return strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0;
}

struct answer {
	char digest[80];
	char *auth;		/* WWW-Authenticate */
	int overflow;
};

static void
trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t n, void *payload)
{
	struct answer *a = payload;
	size_t len = size * n;
	char *line;

	if (len > 8192)
		return len;
	line = xstrndup(data, len);
	trim(line);
	if (strncasecmp(line, "docker-content-digest:", 22) == 0) {
		const char *v = line + 22;

		while (*v == ' ')
			v++;
		snprintf(a->digest, sizeof(a->digest), "%s", v);
	} else if (strncasecmp(line, "www-authenticate:", 17) == 0) {
		const char *v = line + 17;

		while (*v == ' ')
			v++;
		free(a->auth);
		a->auth = xstrdup(v);
	}
	free(line);
	return len;
}

static size_t
on_body(char *data, size_t size, size_t n, void *payload)
{
	return buf_add(payload, data, size * n) < 0 ? 0 : size * n;
}

/* One request: HEAD (body NULL) or GET into body. Returns the status or -1. */
static long
request(const char *url, const char *token, struct answer *a, struct buf *body, long timeout_ms,
    char *err)
{
	struct curl_slist *h = NULL;
	char *bearer = NULL;
	long status = -1;
	CURL *c;
	CURLcode rc;

	if (!(c = curl_easy_init()))
		return errf(err, "cannot start an HTTP client"), -1;
	h = curl_slist_append(h, ACCEPT);
	if (token) {
		bearer = xasprintf("Authorization: Bearer %s", token);
		h = curl_slist_append(h, bearer);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "reconciler/" RECONCILER_VERSION);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	if (body) {
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	} else {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	}
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		errf(err, "%s: %s", url, rc == CURLE_WRITE_ERROR ? "answer too large" :
		    curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(bearer);
	return status;
}

/* The value of one parameter of a `Bearer k="v",…` challenge, or NULL. */
static char *
challenge_param(const char *ch, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = ch; (p = strstr(p, key)); p += kl) {
		const char *v, *end;

		if (p > ch && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		if (strncmp(p + kl, "=\"", 2) != 0)
			continue;
		v = p + kl + 2;
		if (!(end = strchr(v, '"')))
			return NULL;
		return xstrndup(v, (size_t)(end - v));
	}
	return NULL;
}

/* An anonymous pull token from the realm the registry named. */
static char *
fetch_token(const struct registry_ref *r, const char *challenge, long timeout_ms, char *err)
{
	char *realm = NULL, *service = NULL, *scope = NULL, *url = NULL, *token = NULL;
	char *es = NULL, *esc = NULL;
	struct answer a = { { 0 }, NULL, 0 };
	struct buf body;
	json_t *j = NULL, *t;
	CURL *c = curl_easy_init();
	long status;

	buf_init(&body, TOKEN_MAX);
	if (strncasecmp(challenge, "Bearer ", 7) != 0) {
		errf(err, "%s asks for credentials (%.40s): pull the image on this host first, so the "
		    "engine answers", r->host, challenge);
		goto out;
	}
	realm = challenge_param(challenge, "realm");
	service = challenge_param(challenge, "service");
	scope = challenge_param(challenge, "scope");
	if (!realm || !(strncmp(realm, "https://", 8) == 0 || (loopback(r->host) &&
	    strncmp(realm, "http://", 7) == 0))) {
		errf(err, "%s names no usable token realm", r->host);
		goto out;
	}
	if (!scope)
		scope = xasprintf("repository:%s:pull", r->repo);
	es = c ? curl_easy_escape(c, service ? service : "", 0) : NULL;
	esc = c ? curl_easy_escape(c, scope, 0) : NULL;
	if (!es || !esc) {
		errf(err, "cannot build the token request");
		goto out;
	}
	url = xasprintf("%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", es, esc);
	status = request(url, NULL, &a, &body, timeout_ms, err);
	if (status < 0)
		goto out;
	if (status != 200) {
		errf(err, "%s: the token service answered %ld", r->host, status);
		goto out;
	}
	j = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
	t = json_object_get(j, "token");
	if (!json_is_string(t))
		t = json_object_get(j, "access_token");
	if (!json_is_string(t) || !*json_string_value(t)) {
		errf(err, "%s: the token service sent no token", r->host);
		goto out;
	}
	token = xstrdup(json_string_value(t));
out:
	json_decref(j);
	buf_release(&body);
	free(a.auth);
	if (es)
		curl_free(es);
	if (esc)
		curl_free(esc);
	if (c)
		curl_easy_cleanup(c);
	free(url);
	free(realm);
	free(service);
	free(scope);
	return token;
}

static int
digest_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (d += 7; *d; d++)
		if (!isdigit((unsigned char)*d) && !(*d >= 'a' && *d <= 'f'))
			return 0;
	return 1;
}

int
registry_digest(const char *ref, char *digest, size_t len, long timeout_ms, char *err)
{
	struct registry_ref r;
	struct answer a = { { 0 }, NULL, 0 };
	char *url = NULL, *token = NULL;
	long status;
	int rc = -1;

	if (registry_ref_parse(&r, ref) < 0)
		return errf(err, "'%s' is not NAME[:TAG]", ref);
	url = xasprintf("%s://%s/v2/%s/manifests/%s", loopback(r.host) ? "http" : "https", r.host,
	    r.repo, r.tag);
	for (int attempt = 0; attempt < 2; attempt++) {
		a.digest[0] = '\0';
		if ((status = request(url, token, &a, NULL, timeout_ms, err)) < 0)
			goto out;
		if (status == 401 && attempt == 0 && a.auth) {
			if (!(token = fetch_token(&r, a.auth, timeout_ms, err)))
				goto out;
			continue;
		}
		break;
	}
	if (status == 404) {
		errf(err, "%s has no tag '%s' of %s", r.host, r.tag, r.repo);
	} else if (status == 401 || status == 403) {
		errf(err, "%s refused access to %s (%ld): a private image? pull it on this host first, "
		    "so the engine answers", r.host, r.repo, status);
	} else if (status != 200) {
		errf(err, "%s answered %ld for %s:%s", r.host, status, r.repo, r.tag);
	} else if (!digest_ok(a.digest)) {
		errf(err, "%s sent no usable Docker-Content-Digest for %s:%s", r.host, r.repo, r.tag);
	} else if (strlen(a.digest) >= len) {
		errf(err, "digest buffer too small");
	} else {
		snprintf(digest, len, "%s", a.digest);
		rc = 0;
	}
out:
	free(a.auth);
	free(token);
	free(url);
	registry_ref_release(&r);
	return rc;
}
