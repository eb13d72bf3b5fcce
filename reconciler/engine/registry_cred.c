/*
 * registry_cred: the credentials the docker CLI keeps for a registry in
 * $DOCKER_CONFIG/config.json (~/.docker/config.json), read once for the
 * engine's pulls (X-Registry-Auth, docker_pull.c) and for the registry
 * client's own requests (registry.c); see registry.h.
 */
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#define CONFIG_MAX_LEN (1u << 20)	/* ~/.docker/config.json */

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
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

static int
cred_fill(struct registry_cred *out, const json_t *found, const char *path, const char *key,
    char *err)
{
	const char *token;
	char *userpass, *colon;

	if ((token = json_string_value(json_object_get(found, "auth"))) && *token) {
		if (!(userpass = base64_decode(token)) || !(colon = strchr(userpass, ':'))) {
			wipe(userpass);
			return errf(err, "%s: auths.\"%s\".auth: expected base64 of 'user:password'",
			    path, key);
		}
		*colon = '\0';
		out->username = xstrdup(userpass);
		out->password = xstrdup(colon + 1);
		*colon = ':';
		wipe(userpass);
	} else {
		if ((token = json_string_value(json_object_get(found, "username"))))
			out->username = xstrdup(token);
		if ((token = json_string_value(json_object_get(found, "password"))))
			out->password = xstrdup(token);
	}
	if ((token = json_string_value(json_object_get(found, "identitytoken"))))
		out->identitytoken = xstrdup(token);
	return 0;
}

int
registry_cred_lookup(struct registry_cred *out, const char *registry, char *err)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME"), *key;
	char *path = NULL, *data = NULL;
	json_t *cfg = NULL, *auths, *entry;
	json_error_t je;
	struct stat st;
	size_t len = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (strcmp(registry, "registry-1.docker.io") == 0 || strcmp(registry, "index.docker.io") == 0)
		registry = "docker.io";
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
	rc = 0;
	auths = json_object_get(cfg, "auths");
	json_object_foreach(auths, key, entry) {
		if (json_is_object(entry) && auth_key_matches(key, registry)) {
			if (cred_fill(out, entry, path, key, err) < 0) {
				registry_cred_release(out);
				rc = -1;
			} else {
				rc = 1;
			}
			break;
		}
	}
out:
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	json_decref(cfg);
	free(path);
	return rc;
}

void
registry_cred_release(struct registry_cred *c)
{
	wipe(c->username);
	wipe(c->password);
	wipe(c->identitytoken);
	memset(c, 0, sizeof(*c));
}
