/*
 * snapshot: what the last cycle built (revision, manifest, desired state),
 * kept immutable for GET /v1/diff, so a diff lists and diffs instead of
 * reading the clone, parsing the manifest and decrypting the secrets kept in
 * Git (an age run each) again. The host's secret files are re-read at each
 * diff and compared by digest: a file changed since the cycle makes the diff
 * read everything afresh, as it did before, so the answer stays the same.
 */
#include "daemon_int.h"
#include "config.h"
#include "manifest.h"
#include "placement.h"
#include "secretmap.h"
#include "secrets.h"
#include "state.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

char *
daemon__snapshot_cfgkey(const struct config *cfg)
{
	json_t *k = json_pack("{s:s?,s:s?,s:s?,s:s?,s:o}", "manifest", cfg->manifest,
	    "secrets_dir", cfg->secrets_dir, "backend", cfg->backend, "age_identity",
	    cfg->age_identity, "host", fleet_host_json(&cfg->host));
	char *s = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(k);
	return s ? s : xstrdup("");
}

static void
snap_free(struct dm_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsecrets; i++) {
		free(s->secrets[i].name);
		free(s->secrets[i].error);
	}
	free(s->secrets);
	if (s->ds)
		desired_release(s->ds);
	free(s->ds);
	manifest_free(s->m);
	free(s->cfgkey);
	free(s);
}

/* The digests of the host's files the desired state was built from: the
 * values kept in Git are the revision's, the same at every diff. */
static void
snap_secrets(struct dm_snapshot *s, const struct secretmap *sm)
{
	s->secrets = xcalloc(sm->n + 1, sizeof(*s->secrets));
	for (size_t i = 0; i < sm->n; i++) {
		const struct secretmap_entry *e = &sm->v[i];
		struct snap_secret *o;

		if (manifest_git_secret(s->m, e->name))
			continue;
		o = &s->secrets[s->nsecrets++];
		o->name = xstrdup(e->name);
		if (e->data)
			secretmap_digest(sm, e->data, e->len, o->digest);
		else
			o->error = xstrdup(e->error ? e->error : "");
	}
}

/* s (may be NULL) in place of the last snapshot, let go when unused. */
static void
snap_swap(struct daemon *dm, struct dm_snapshot *s)
{
	struct dm_snapshot *old;

	pthread_mutex_lock(&dm->shared.mu);
	old = dm->shared.snap;
	dm->shared.snap = s;
	if (old && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&dm->shared.mu);
	snap_free(old);
}

void
daemon__snapshot_keep(struct daemon *dm, const char *rev, const char *cfgkey,
    const struct backend_ops *backend, struct manifest **m, struct desired *ds,
    const struct secretmap *sm)
{
	struct dm_snapshot *s = NULL;

	if (m && *m && rev) {
		s = xcalloc(1, sizeof(*s));
		s->refs = 1;
		snprintf(s->rev, sizeof(s->rev), "%s", rev);
		s->cfgkey = xstrdup(cfgkey);
		s->backend = backend;
		s->m = *m;
		*m = NULL;
		s->ds = xmalloc(sizeof(*s->ds));
		*s->ds = *ds;
		memset(ds, 0, sizeof(*ds));
		snap_secrets(s, sm);
	}
	snap_swap(dm, s);
}

void
daemon__snapshot_drop(struct daemon *dm)
{
	snap_swap(dm, NULL);
}

struct dm_snapshot *
daemon__snapshot_get(struct daemon *dm, const char *rev, const char *cfgkey)
{
	struct dm_snapshot *s;

	pthread_mutex_lock(&dm->shared.mu);
	s = dm->shared.snap;
	if (s && strcmp(s->rev, rev) == 0 && strcmp(s->cfgkey, cfgkey) == 0)
		s->refs++;
	else
		s = NULL;
	pthread_mutex_unlock(&dm->shared.mu);
	return s;
}

void
daemon__snapshot_put(struct daemon *dm, struct dm_snapshot *s)
{
	int last;

	if (!s)
		return;
	pthread_mutex_lock(&dm->shared.mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&dm->shared.mu);
	if (last)
		snap_free(s);
}

int
daemon__snapshot_fresh(const struct dm_snapshot *s, const char *secrets_dir,
    const char *keyfile)
{
	struct secrets sec = { 0 };
	struct secretmap dg;
	char err[ERR_LEN];
	int same = 0;

	if (secrets_open(&sec, secrets_dir, keyfile, 0, err) < 0)
		goto out;
	secretmap_init(&dg, secrets_dir, sec.key);
	same = 1;
	for (size_t i = 0; same && i < s->nsecrets; i++) {
		const struct snap_secret *o = &s->secrets[i];
		char *data = NULL, digest[80];
		size_t len = 0;

		if (secrets_read(&sec, o->name, 0, &data, &len, err) < 0) {
			same = o->error && strcmp(o->error, err) == 0;
			continue;
		}
		secretmap_digest(&dg, data, len, digest);
		same = !o->error && strcmp(digest, o->digest) == 0;
		secret_free(data, len);
	}
	secretmap_release(&dg);
out:
	secrets_release(&sec);
	return same;
}
