/*
 * secrets: see secrets.h.
 */
#include "secrets.h"
#include "age.h"
#include "manifest.h"
#include "log.h"
#include "secretmap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0 with the key in s, 1 when keyfile does not exist, -1 with err for any
 * other failure: a key that exists is never replaced, since a new one
 * changes every digest and so recreates every service with a secret. */
static int
key_load(struct secrets *s, const char *keyfile, char *err)
{
	char e[ERR_LEN], *data = NULL;
	size_t len = 0;

	if (file_read_secret(keyfile, 4096, 0, &data, &len, e) < 0) {
		if (errno == ENOENT)
			return 1;
		return errf(err, "host key: %s (it is not replaced: a new key would recreate "
		    "every service with a secret)", e);
	}
	if (len < sizeof(s->key)) {
		secret_free(data, len);
		return errf(err, "the host key '%s' is %zu bytes, not %zu: restore it, or remove it "
		    "to make a new one (every service with a secret is then recreated)", keyfile,
		    len, sizeof(s->key));
	}
	memcpy(s->key, data, sizeof(s->key));
	secret_free(data, len);
	s->have_key = 1;
	return 0;
}

int
secrets_open(struct secrets *s, const char *dir, const char *keyfile, int create, char *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->dir = xstrdup(dir ? dir : SECRETS_DIR_DEFAULT);
	if (!keyfile)
		return 0;
	if ((rc = key_load(s, keyfile, err)) <= 0)
		goto out;
	rc = -1;
	if (!create) {
		errf(err, "cannot read the host key '%s': %s (run reconcilerd once, or give "
		    "--state-dir where it lives)", keyfile, strerror(ENOENT));
		goto out;
	}
	if (getrandom(s->key, sizeof(s->key), 0) != (ssize_t)sizeof(s->key)) {
		errf(err, "getrandom: %s", strerror(errno));
		goto out;
	}
	/* made only where none exists: of two processes making it, one wins
	 * and the other reads the winner's */
	rc = file_write_new(keyfile, s->key, sizeof(s->key), 0600, err);
	if (rc == 1)
		rc = key_load(s, keyfile, err) == 0 ? 0 : -1;
	else if (rc == 0)
		s->have_key = 1;
out:
	if (rc < 0)
		explicit_bzero(s->key, sizeof(s->key));
	return rc;
}

void
secrets_release(struct secrets *s)
{
	free(s->dir);
	explicit_bzero(s->key, sizeof(s->key));
	memset(s, 0, sizeof(*s));
}

/* Secret files are not refused for their mode: a deploy group often reads
 * them, and a file bind-mounted into a container must be readable by the
 * container's user. A file every user of the host may read (o+r, in a
 * directory others may enter) is warned about, once per file and mode in a
 * process (every cycle reads it). */
static void
warn_world_readable(const char *dir, const char *path)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char **seen;
	static size_t nseen;
	struct stat st, dst;
	char *k;

	if (stat(path, &st) < 0 || !(st.st_mode & S_IROTH))
		return;
	if (stat(dir, &dst) < 0 || !(dst.st_mode & S_IXOTH))
		return;
	k = xasprintf("%o %s", (unsigned)(st.st_mode & 07777), path);
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nseen; i++) {
		if (strcmp(seen[i], k) == 0) {
			pthread_mutex_unlock(&mu);
			free(k);
			return;
		}
	}
	seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
	seen[nseen++] = k;
	pthread_mutex_unlock(&mu);
	log_warn("secrets", "secret file '%s' is readable by every user of the host (mode %04o): "
	    "chmod 640 or 600, unless a container's user needs to read it", path,
	    (unsigned)(st.st_mode & 07777));
}

static const struct secrets_git_value *
git_find(const struct secrets_git *g, const char *name)
{
	for (size_t i = 0; g && i < g->n; i++)
		if (strcmp(g->v[i].name, name) == 0)
			return &g->v[i];
	return NULL;
}

int
secrets_read(const struct secrets *s, const char *name, int trim, char **value, size_t *len,
    char *err)
{
	const struct secrets_git_value *gv = git_find(s->git, name);
	char e[ERR_LEN], *path = NULL;
	int rc = 0;

	*value = NULL;
	if (!manifest_secret_name_ok(name))
		return errf(err, "invalid secret name '%s'", name);
	if (gv) {
		*value = xmalloc(gv->len + 1);
		memcpy(*value, gv->data, gv->len + 1);
		*len = gv->len;
		goto trim;
	}
	path = xasprintf("%s/%s", s->dir, name);
	rc = file_read_secret(path, SECRETS_MAX_SIZE, 0, value, len, e);
	if (rc < 0) {
		errf(err, "secret '%s': %s (create it in %s, mode 0600)", name, e, s->dir);
		goto out;
	}
	warn_world_readable(s->dir, path);
trim:
	if (trim) {
		if (*len && (*value)[*len - 1] == '\n')
			(*value)[--*len] = '\0';
		if (*len && (*value)[*len - 1] == '\r')
			(*value)[--*len] = '\0';
	}
out:
	free(path);
	return rc;
}

void
secrets_git_put(struct secrets_git *g, const char *name, const void *data, size_t len)
{
	struct secrets_git_value *v;

	g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
	v = &g->v[g->n++];
	v->name = xstrdup(name);
	v->data = xmalloc(len + 1);
	memcpy(v->data, data, len);
	v->data[len] = '\0';
	v->len = len;
}

void
secrets_git_release(struct secrets_git *g)
{
	for (size_t i = 0; i < g->n; i++) {
		secret_free(g->v[i].data, g->v[i].len);
		free(g->v[i].name);
	}
	free(g->v);
	memset(g, 0, sizeof(*g));
}

int
secrets_git_load(struct secrets_git *g, const struct manifest *m, const char *identity,
    secrets_git_reader read, void *payload, char *err)
{
	char e[ERR_LEN], *cipher = NULL, *plain = NULL;
	size_t clen = 0, plen = 0;
	int rc = 0;

	secrets_git_release(g);
	for (size_t i = 0; i < m->ngit_secrets && rc == 0; i++) {
		const struct mf_git_secret *gs = &m->git_secrets[i];

		if (!identity || !*identity) {
			rc = errf(err, "secret '%s' (%s) is kept encrypted in Git and no age identity "
			    "is configured (age_identity in reconcilerd's config)", gs->name, gs->file);
		} else if (read(gs->file, SECRETS_MAX_SIZE + (1u << 20), &cipher, &clen, e,
		    payload) < 0) {
			rc = errf(err, "secret '%s': cannot read %s: %s", gs->name, gs->file, e);
		} else if (age_decrypt(identity, cipher, clen, SECRETS_MAX_SIZE, &plain, &plen,
		    e) < 0) {
			rc = errf(err, "secret '%s': %s does not decrypt with the identity %s: %s",
			    gs->name, gs->file, identity, e);
		} else {
			secrets_git_put(g, gs->name, plain, plen);
		}
		free(cipher);
		cipher = NULL;
		secret_free(plain, plen);
		plain = NULL;
		plen = 0;
	}
	if (rc < 0)
		secrets_git_release(g);
	return rc;
}

static void
resolve_one(const struct secrets *s, const struct manifest *m, const char *name,
    struct secretmap *out)
{
	const struct mf_git_secret *gs = manifest_git_secret(m, name);
	char err[ERR_LEN], *data = NULL;
	size_t len = 0;

	if (secretmap_has(out, name))
		return;
	if (gs && !git_find(s->git, name)) {
		errf(err, "secret '%s' is kept encrypted in Git (%s) and was not decrypted",
		    name, gs->file ? gs->file : "?");
		secretmap_put(out, name, NULL, 0, err);
		return;
	}
	if (secrets_read(s, name, 0, &data, &len, err) < 0) {
		secretmap_put(out, name, NULL, 0, err);
		return;
	}
	secretmap_put(out, name, data, len, NULL);
	secret_free(data, len);
}

void
secrets_resolve(const struct secrets *s, const struct manifest *m, struct secretmap *out)
{
	secretmap_init(out, s->dir, s->key);
	for (size_t i = 0; i < m->nservices; i++) {
		const struct mf_service *svc = &m->services[i];

		for (size_t k = 0; k < svc->nenv_files; k++)
			resolve_one(s, m, svc->env_files[k], out);
		for (size_t k = 0; k < svc->nenv; k++)
			if (svc->env[k].secret)
				resolve_one(s, m, svc->env[k].secret, out);
		for (size_t k = 0; k < svc->nsecrets; k++)
			resolve_one(s, m, svc->secrets[k].source, out);
	}
}
