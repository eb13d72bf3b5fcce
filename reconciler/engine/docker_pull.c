/*
 * docker_pull: pulls an image unless the engine has it (POST /images/create,
 * its progress stream decoded line by line), with the registry credentials the
 * docker CLI keeps in config.json sent as X-Registry-Auth; see docker.h.
 */
#include "docker_int.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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

/* "X-Registry-Auth: …" for registry from the docker CLI's config, or NULL. */
int
docker__registry_auth(const char *registry, char **header, char *err)
{
	struct registry_cred rc_ = { 0 };
	char *text = NULL, *enc = NULL;
	json_t *ac = NULL;
	int found, rc = -1;

	*header = NULL;
	if ((found = registry_cred_lookup(&rc_, registry, err)) <= 0)
		return found;
	ac = json_object();
	if (rc_.username)
		json_object_set_new(ac, "username", json_string(rc_.username));
	if (rc_.password)
		json_object_set_new(ac, "password", json_string(rc_.password));
	if (rc_.identitytoken)
		json_object_set_new(ac, "identitytoken", json_string(rc_.identitytoken));
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
	registry_cred_release(&rc_);
	json_decref(ac);
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
