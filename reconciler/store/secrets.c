/*
 * secrets: see secrets.h.
 */
#include "secrets.h"
#include "manifest.h"
#include "secretmap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
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

int
secrets_read(const struct secrets *s, const char *name, int trim, char **value, size_t *len,
    char *err)
{
	char e[ERR_LEN], *path;
	int rc;

	*value = NULL;
	if (!manifest_secret_name_ok(name))
		return errf(err, "invalid secret name '%s'", name);
	path = xasprintf("%s/%s", s->dir, name);
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

static void
resolve_one(const struct secrets *s, const char *name, struct secretmap *out)
{
	char err[ERR_LEN], *data = NULL;
	size_t len = 0;

	if (secretmap_has(out, name))
		return;
	if (secrets_read(s, name, 0, &data, &len, err) < 0) {
		secretmap_put(out, name, NULL, 0, err);
		return;
	}
	secretmap_put(out, name, data, len, NULL);
	OPENSSL_cleanse(data, len);
	free(data);
}

void
secrets_resolve(const struct secrets *s, const struct manifest *m, struct secretmap *out)
{
	secretmap_init(out, s->dir, s->key);
	for (size_t i = 0; i < m->nservices; i++) {
		const struct mf_service *svc = &m->services[i];

		for (size_t k = 0; k < svc->nenv_files; k++)
			resolve_one(s, svc->env_files[k], out);
		for (size_t k = 0; k < svc->nenv; k++)
			if (svc->env[k].secret)
				resolve_one(s, svc->env[k].secret, out);
		for (size_t k = 0; k < svc->nsecrets; k++)
			resolve_one(s, svc->secrets[k].source, out);
	}
}
