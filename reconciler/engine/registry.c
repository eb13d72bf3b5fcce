/*
 * registry: the digest behind a tag, from the registry itself; see registry.h.
 */
#include "registry.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ACCEPT "Accept: application/vnd.oci.image.index.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.docker.distribution.manifest.v2+json, " \
	"application/vnd.oci.image.manifest.v1+json"
#define TOKEN_MAX (64u << 10)
#define MANIFEST_MAX (4u << 20)		/* the registry's own limit on a manifest */
#define CONFIG_MAX (8u << 20)		/* an image config, with its history */

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
request(const char *url, const char *authz, struct answer *a, struct buf *body, long timeout_ms,
    char *err)
{
	struct curl_slist *h = NULL;
	long status = -1;
	CURL *c;
	CURLcode rc;

	if (!(c = curl_easy_init()))
		return errf(err, "cannot start an HTTP client"), -1;
	h = curl_slist_append(h, ACCEPT);
	if (authz)
		h = curl_slist_append(h, authz);
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

/* "Authorization: Basic …" for the docker CLI's credentials, or NULL. */
static char *
basic_header(const struct registry_cred *cred)
{
	char *up, *enc, *h;
	size_t n;

	if (!cred->username || !cred->password)
		return NULL;
	up = xasprintf("%s:%s", cred->username, cred->password);
	n = strlen(up);
	enc = xmalloc((n + 2) / 3 * 4 + 1);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)up, (int)n);
	h = xasprintf("Authorization: Basic %s", enc);
	explicit_bzero(up, n);
	explicit_bzero(enc, strlen(enc));
	free(up);
	free(enc);
	return h;
}

/* A pull token from the realm the registry named: with the docker CLI's
 * credentials for the registry when it has some (basic NULL: anonymous). */
static char *
fetch_token(const struct registry_ref *r, const char *challenge, const char *basic,
    long timeout_ms, char *err)
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
		errf(err, "%s asks for credentials (%.40s) and none are in the docker CLI's "
		    "config.json: docker login %s", r->host, challenge, r->host);
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
	status = request(url, basic, &a, &body, timeout_ms, err);
	if (status < 0)
		goto out;
	if (status != 200) {
		errf(err, "%s: the token service answered %ld%s", r->host, status,
		    basic ? " to the credentials of config.json" : "");
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

/* The exchanges with one registry for one repository: the credentials of
 * config.json (read once), and the Authorization a first 401 led to, reused
 * by the requests after it. */
struct session {
	struct registry_ref r;
	struct registry_cred cred;
	char *basic;		/* "Authorization: Basic …" from cred, or NULL */
	char *authz;		/* what the requests send, once a 401 asked */
	long timeout_ms;
};

static int
session_open(struct session *s, const char *ref, long timeout_ms, char *err)
{
	memset(s, 0, sizeof(*s));
	s->timeout_ms = timeout_ms;
	if (registry_ref_parse(&s->r, ref) < 0) {
		errf(err, "'%s' is not NAME[:TAG]", ref);
		return -1;
	}
	if (registry_cred_lookup(&s->cred, strcmp(s->r.host, "registry-1.docker.io") == 0 ?
	    "docker.io" : s->r.host, err) < 0)
		return -1;
	s->basic = basic_header(&s->cred);
	return 0;
}

static void
session_close(struct session *s)
{
	if (s->basic)
		explicit_bzero(s->basic, strlen(s->basic));
	if (s->authz)
		explicit_bzero(s->authz, strlen(s->authz));
	free(s->basic);
	free(s->authz);
	registry_cred_release(&s->cred);
	registry_ref_release(&s->r);
}

/* GET (body) or HEAD (body NULL) of /v2/<repo>/<what>; a 401 answered once,
 * with a token (Bearer) or the credentials (Basic). The status, or -1. */
static long
session_do(struct session *s, const char *what, struct answer *a, struct buf *body, char *err)
{
	char *url = xasprintf("%s://%s/v2/%s/%s", loopback(s->r.host) ? "http" : "https",
	    s->r.host, s->r.repo, what);
	long status = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		a->digest[0] = '\0';
		free(a->auth);
		a->auth = NULL;
		if (body)
			buf_reset(body);
		if ((status = request(url, s->authz, a, body, s->timeout_ms, err)) < 0)
			break;
		if (status != 401 || attempt > 0 || !a->auth || s->authz)
			break;
		if (strncasecmp(a->auth, "Basic", 5) == 0 && s->basic) {
			s->authz = xstrdup(s->basic);
		} else {
			char *token = fetch_token(&s->r, a->auth, s->basic, s->timeout_ms, err);

			if (!token) {
				status = -1;
				break;
			}
			s->authz = xasprintf("Authorization: Bearer %s", token);
			explicit_bzero(token, strlen(token));
			free(token);
		}
	}
	free(url);
	return status;
}

/* An answer other than 200 in words: what it means for NAME:TAG. */
static void
status_error(const struct session *s, long status, const char *tag, char *err)
{
	if (status == 404)
		errf(err, "%s has no tag '%s' of %s", s->r.host, tag, s->r.repo);
	else if ((status == 401 || status == 403) && !s->basic)
		errf(err, "%s refused access to %s:%s (%ld) and the docker CLI's config.json has no "
		    "credentials for it: docker login %s", s->r.host, s->r.repo, tag, status,
		    s->r.host);
	else if (status == 401 || status == 403)
		errf(err, "%s refused access to %s:%s (%ld) with the credentials of config.json",
		    s->r.host, s->r.repo, tag, status);
	else
		errf(err, "%s answered %ld for %s:%s", s->r.host, status, s->r.repo, tag);
}

/* GET one manifest or blob into body (capped), 200 or an error. */
static int
session_get(struct session *s, const char *what, const char *tag, struct buf *body, char *err)
{
	struct answer a = { { 0 }, NULL, 0 };
	char why[ERR_LEN];
	long status = session_do(s, what, &a, body, why);

	free(a.auth);
	if (status == 200)
		return 0;
	if (status < 0)
		return errf(err, "registry %s, %s:%s: %s", s->r.host, s->r.repo, tag, why);
	status_error(s, status, tag, why);
	return errf(err, "%s (reading %s)", why, what);
}

int
registry_manifest_pick(const char *body, size_t len, char **config, char **child, char *err)
{
	json_t *j = json_loadb(body, len, 0, NULL), *m, *pick = NULL, *d;
	size_t i;
	int rc = -1;

	*config = *child = NULL;
	if (!json_is_object(j)) {
		errf(err, "the manifest is not a JSON object");
		goto out;
	}
	if (json_is_array(m = json_object_get(j, "manifests"))) {
		json_array_foreach(m, i, d) {
			json_t *p = json_object_get(d, "platform");

			if (!pick && json_is_object(d))
				pick = d;
			if (json_is_object(p) && json_is_string(json_object_get(p, "os")) &&
			    strcmp(json_string_value(json_object_get(p, "os")), "linux") == 0 &&
			    json_is_string(json_object_get(p, "architecture")) &&
			    strcmp(json_string_value(json_object_get(p, "architecture")),
			    "amd64") == 0) {
				pick = d;
				break;
			}
		}
		d = json_object_get(pick, "digest");
		if (!json_is_string(d) || !digest_ok(json_string_value(d))) {
			errf(err, "the index names no usable manifest");
			goto out;
		}
		*child = xstrdup(json_string_value(d));
		rc = 1;
		goto out;
	}
	d = json_object_get(json_object_get(j, "config"), "digest");
	if (!json_is_string(d) || !digest_ok(json_string_value(d))) {
		errf(err, "the manifest names no usable config");
		goto out;
	}
	*config = xstrdup(json_string_value(d));
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
registry_config_created(const char *body, size_t len, char **created)
{
	json_t *j = json_loadb(body, len, 0, NULL), *c = json_object_get(j, "created");
	int rc = -1;

	*created = NULL;
	if (json_is_string(c) && json_string_length(c) > 0 && json_string_length(c) < 64) {
		*created = xstrdup(json_string_value(c));
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* The image's creation date: the manifest at digest (for an index, its
 * linux/amd64 entry, else its first), then its config blob. */
static int
read_created(struct session *s, const char *digest, char **created, char *err)
{
	char *config = NULL, *child = NULL, *what = NULL, why[ERR_LEN];
	struct buf body;
	int rc = -1, kind;

	buf_init(&body, MANIFEST_MAX);
	what = xasprintf("manifests/%s", digest);
	if (session_get(s, what, s->r.tag, &body, err) < 0)
		goto out;
	if ((kind = registry_manifest_pick(body.data ? body.data : "", body.len, &config, &child,
	    why)) < 0)
		goto bad;
	if (kind == 1) {
		free(what);
		what = xasprintf("manifests/%s", child);
		free(child);
		child = NULL;
		if (session_get(s, what, s->r.tag, &body, err) < 0)
			goto out;
		if (registry_manifest_pick(body.data ? body.data : "", body.len, &config, &child,
		    why) != 0)
			goto bad;
	}
	free(what);
	what = xasprintf("blobs/%s", config);
	buf_release(&body);
	buf_init(&body, CONFIG_MAX);
	if (session_get(s, what, s->r.tag, &body, err) < 0)
		goto out;
	/* an image config may leave created out (OCI): the caller judges */
	registry_config_created(body.data ? body.data : "", body.len, created);
	rc = 0;
	goto out;
bad:
	errf(err, "registry %s, %s:%s: %s (%s)", s->r.host, s->r.repo, s->r.tag, why, what);
out:
	free(config);
	free(child);
	free(what);
	buf_release(&body);
	return rc;
}

int
registry_query(const char *ref, const char *pinned, struct registry_answer *out, long timeout_ms,
    char *err)
{
	struct session s;
	struct answer a = { { 0 }, NULL, 0 };
	char *what = NULL, why[ERR_LEN];
	long status;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (session_open(&s, ref, timeout_ms, err) < 0)
		goto out;
	what = xasprintf("manifests/%s", s.r.tag);
	if ((status = session_do(&s, what, &a, NULL, why)) < 0) {
		errf(err, "registry %s, %s:%s: %s", s.r.host, s.r.repo, s.r.tag, why);
	} else if (status != 200) {
		status_error(&s, status, s.r.tag, err);
	} else if (!digest_ok(a.digest)) {
		errf(err, "%s sent no usable Docker-Content-Digest for %s:%s", s.r.host, s.r.repo,
		    s.r.tag);
	} else {
		snprintf(out->digest, sizeof(out->digest), "%s", a.digest);
		rc = pinned && strcmp(pinned, a.digest) != 0 ?
		    read_created(&s, a.digest, &out->created, err) : 0;
	}
out:
	free(what);
	free(a.auth);
	session_close(&s);
	return rc;
}

void
registry_answer_release(struct registry_answer *a)
{
	free(a->created);
	memset(a, 0, sizeof(*a));
}

int
registry_digest(const char *ref, char *digest, size_t len, long timeout_ms, char *err)
{
	struct registry_answer a;

	if (registry_query(ref, NULL, &a, timeout_ms, err) < 0)
		return -1;
	if (strlen(a.digest) >= len)
		return errf(err, "digest buffer too small");
	snprintf(digest, len, "%s", a.digest);
	return 0;
}
