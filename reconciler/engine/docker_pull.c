/*
 * docker_pull: pulls an image unless the engine has it (POST /images/create,
 * its progress stream decoded line by line), with the registry credentials the
 * docker CLI keeps in config.json sent as X-Registry-Auth; see docker.h.
 */
#include "docker_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#define CONFIG_MAX_LEN (1u << 20)	/* ~/.docker/config.json */

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * base64url with '=' padding, as the engine decodes X-Registry-Auth (Go's
 * base64.URLEncoding): OpenSSL's encoding with the two characters that
 * differ swapped. n is small (a few credentials, from a capped file).
 */
static char *
base64url_encode(const unsigned char *in, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

/*
 * Standard alphabet, padding optional; NULL if malformed. Nothing after the
 * first '=' is read; a last group of 2 or 3 characters gives 1 or 2 bytes, a
 * lone last character none. OpenSSL decodes whole groups only: a short last
 * group is completed with 'A's (zero bits) and its output cut back.
 */
static char *
base64_decode(const char *in)
{
	size_t n = strcspn(in, "="), whole = n - n % 4, o = whole / 4 * 3;
	unsigned char *out, last[4] = { 'A', 'A', 'A', 'A' };

	if (strspn(in, b64std) < n)
		return NULL;
	out = xmalloc(n / 4 * 3 + 4);
	if (whole && EVP_DecodeBlock(out, (const unsigned char *)in, (int)whole) < 0) {
		explicit_bzero(out, n / 4 * 3 + 4);
		free(out);
		return NULL;
	}
	if (n % 4 > 1) {
		memcpy(last, in + whole, n % 4);
		EVP_DecodeBlock(out + o, last, 4);
		o += n % 4 - 1;
	}
	out[o] = '\0';
	return (char *)out;
}

/* Registry host of a reference, the way docker names it ("docker.io" for Hub). */
static char *
ref_registry(const char *ref)
{
	const char *slash = strchr(ref, '/');

	if (slash) {
		char *first = xstrndup(ref, (size_t)(slash - ref));

		if (strchr(first, '.') || strchr(first, ':') || strcmp(first, "localhost") == 0)
			return first;
		free(first);
	}
	return xstrdup("docker.io");
}

/* "name[:tag][@digest]" -> fromImage name and tag (the digest wins), as the
 * docker CLI sends them. */
static void
ref_split(const char *ref, char **name, char **tag)
{
	const char *at = strchr(ref, '@'), *end = at ? at : ref + strlen(ref);
	const char *slash = NULL, *colon = NULL, *p;

	for (p = ref; p < end; p++) {
		if (*p == '/')
			slash = p;
		else if (*p == ':')
			colon = p;
	}
	if (colon && slash && colon < slash)
		colon = NULL;
	*name = xstrndup(ref, (size_t)((colon ? colon : end) - ref));
	if (at)
		*tag = xstrdup(at + 1);
	else if (colon)
		*tag = xstrndup(colon + 1, (size_t)(end - colon - 1));
	else
		*tag = xstrdup("latest");
}

/* An auths key ("https://host/v1/", "host") reduced to its host. */
static int
auth_key_matches(const char *key, const char *registry)
{
	static const char *const hub[] = { "docker.io", "index.docker.io", "registry-1.docker.io" };
	size_t n;

	if (strncmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncmp(key, "http://", 7) == 0)
		key += 7;
	n = strcspn(key, "/");
	if (strcmp(registry, "docker.io") == 0) {
		for (size_t i = 0; i < sizeof(hub) / sizeof(hub[0]); i++)
			if (strlen(hub[i]) == n && strncmp(key, hub[i], n) == 0)
				return 1;
		return 0;
	}
	return strlen(registry) == n && strncmp(key, registry, n) == 0;
}

/* "X-Registry-Auth: …" for registry from the docker CLI's config, or NULL. */
int
docker__registry_auth(const char *registry, char **header, char *err)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME"), *key;
	char *path = NULL, *data = NULL, *userpass = NULL, *text = NULL, *enc = NULL;
	json_t *cfg = NULL, *auths, *entry, *found = NULL, *ac = NULL;
	const char *user = NULL, *pass = NULL, *token;
	json_error_t je;
	struct stat st;
	size_t len;
	int rc = -1;

	*header = NULL;
	if (dir && *dir)
		path = xasprintf("%s/config.json", dir);
	else if (home && *home)
		path = xasprintf("%s/.docker/config.json", home);
	else
		return 0;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		rc = 0;
		goto out;
	}
	if (file_read(path, CONFIG_MAX_LEN, &data, &len, err) < 0)
		goto out;
	if (!(cfg = json_loadb(data, len, 0, &je))) {
		errf(err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		goto out;
	}
	auths = json_object_get(cfg, "auths");
	json_object_foreach(auths, key, entry) {
		if (json_is_object(entry) && auth_key_matches(key, registry)) {
			found = entry;
			break;
		}
	}
	if (!found) {
		rc = 0;
		goto out;
	}
	ac = json_object();
	if ((token = json_string_value(json_object_get(found, "auth"))) && *token) {
		char *colon;

		if (!(userpass = base64_decode(token)) || !(colon = strchr(userpass, ':'))) {
			errf(err, "%s: auths.\"%s\".auth: expected base64 of 'user:password'", path,
			    key);
			goto out;
		}
		*colon = '\0';
		user = userpass;
		pass = colon + 1;
	} else {
		user = json_string_value(json_object_get(found, "username"));
		pass = json_string_value(json_object_get(found, "password"));
	}
	if (user)
		json_object_set_new(ac, "username", json_string(user));
	if (pass)
		json_object_set_new(ac, "password", json_string(pass));
	if ((token = json_string_value(json_object_get(found, "identitytoken"))))
		json_object_set_new(ac, "identitytoken", json_string(token));
	json_object_set_new(ac, "serveraddress", json_string(strcmp(registry, "docker.io") == 0 ?
	    "https://index.docker.io/v1/" : registry));
	if (!(text = json_dumps(ac, JSON_COMPACT))) {
		errf(err, "cannot encode registry credentials");
		goto out;
	}
	enc = base64url_encode((const unsigned char *)text, strlen(text));
	*header = xasprintf("X-Registry-Auth: %s", enc);
	rc = 0;
out:
	docker__secret_free(enc);
	docker__secret_free(text);
	docker__secret_free(userpass);
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	json_decref(ac);
	json_decref(cfg);
	free(path);
	return rc;
}

static int
pull_line(json_t *j, void *payload, char *err)
{
	json_t *e = json_object_get(j, "error");
	const char *msg;

	(void)payload;
	if (!e)
		return 0;
	msg = json_string_value(e);
	if (!msg)
		msg = json_string_value(json_object_get(json_object_get(j, "errorDetail"),
		    "message"));
	errf(err, "%s", msg && *msg ? msg : "the engine reported an error");
	return -1;
}

int
docker__image_auth(const char *ref, char **header, char *err)
{
	char *name, *tag, *registry;
	int rc;

	ref_split(ref, &name, &tag);
	registry = ref_registry(name);
	rc = docker__registry_auth(registry, header, err);
	free(name);
	free(tag);
	free(registry);
	return rc;
}

int
docker_image_pull(struct docker *d, const char *ref, char *err)
{
	struct docker__sink s;
	struct docker__req r = { 0 };
	struct buf p;
	json_t *img = NULL;
	char *name = NULL, *tag = NULL, *registry = NULL, *auth = NULL;
	long status = 0;
	int rc = -1, have;

	docker__sink_init(&s, d, DOCKER__SINK_LINES);
	buf_init(&p, 0);
	if ((have = docker_image_inspect(d, ref, &img, err)) < 0)
		goto out;
	if (have == 0) {
		rc = 0;
		goto out;
	}
	ref_split(ref, &name, &tag);
	registry = ref_registry(name);
	if (docker__registry_auth(registry, &auth, err) < 0)
		goto out;
	buf_adds(&p, "/images/create");
	docker__query_add(&p, "fromImage", name);
	docker__query_add(&p, "tag", tag);
	s.line_cb = pull_line;
	r.method = "POST";
	r.path = p.data;
	r.header = auth;
	r.idle_ms = d->timeout_ms;
	if (docker__http_do(d, &r, &s, &status, err) < 0) {
		if (s.failed)
			errf(err, "pull '%s': %s", ref, s.err);
		goto out;
	}
	if (status >= 300) {
		char msg[ERR_LEN];

		if (docker__proxy_denied("POST", p.data, status, s.body.data, s.body.len,
		    msg) < 0) {
			errf(err, "pull '%s': %s", ref, msg);
			goto out;
		}
		docker__engine_message(s.body.data, s.body.len, msg, sizeof(msg));
		errf(err, "pull '%s': engine: %ld: %s", ref, status, msg);
		goto out;
	}
	/* the stream can end early without an error line: check the result */
	json_decref(img);
	img = NULL;
	if ((have = docker_image_inspect(d, ref, &img, err)) < 0)
		goto out;
	if (have) {
		errf(err, "pull '%s': the engine ended the pull but does not have the image", ref);
		goto out;
	}
	rc = 0;
out:
	json_decref(img);
	docker__secret_free(auth);
	free(name);
	free(tag);
	free(registry);
	buf_release(&p);
	docker__sink_release(&s);
	return rc;
}
