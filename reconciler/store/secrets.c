/*
 * secrets: see secrets.h.
 */
#include "secrets.h"
#include "manifest.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int
secrets_open(struct secrets *s, const char *dir, const char *keyfile, int create, char *err)
{
	char *data = NULL;
	size_t len;

	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir ? dir : SECRETS_DIR_DEFAULT);
	if (!keyfile)
		return 0;
	if (file_read(keyfile, 4096, &data, &len, NULL) == 0 && len >= 32) {
		memcpy(s->key, data, 32);
		s->have_key = 1;
		free(data);
		return 0;
	}
	free(data);
	if (!create)
		return errf(err, "cannot read the host key '%s' (run reconcilerd once, or give "
		    "--state-dir where it lives)", keyfile);
	if (getrandom(s->key, sizeof(s->key), 0) != (ssize_t)sizeof(s->key))
		return errf(err, "getrandom: %s", strerror(errno));
	if (file_write_atomic(keyfile, s->key, sizeof(s->key), 0600, err) < 0)
		return -1;
	s->have_key = 1;
	return 0;
}

void
secrets_release(struct secrets *s)
{
	free(s->dir);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	memset(s, 0, sizeof(*s));
}

char *
secrets_path(const struct secrets *s, const char *name)
{
	return xasprintf("%s/%s", s->dir, name);
}

int
secrets_read(const struct secrets *s, const char *name, int trim, char **value, size_t *len,
    char *err)
{
	char e[ERR_LEN], *path;
	int rc;

	*value = NULL;
	if (!manifest_secret_name_ok(name))
		return errf(err, "invalid secret name '%s'", name);
	path = secrets_path(s, name);
	rc = file_read(path, SECRETS_MAX_SIZE, value, len, e);
	if (rc < 0) {
		errf(err, "secret '%s': %s (create it in %s, mode 0600)", name, e, s->dir);
	} else if (trim) {
		if (*len && (*value)[*len - 1] == '\n')
			(*value)[--*len] = '\0';
		if (*len && (*value)[*len - 1] == '\r')
			(*value)[--*len] = '\0';
	}
	free(path);
	return rc;
}

void
secrets_digest(const struct secrets *s, const void *data, size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), s->key, sizeof(s->key), data, len, mac, &maclen);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): hex_encode ends the string */
	memcpy(out, "hmac-sha256:", 12);
	hex_encode(mac, maclen, out + 12);
}
