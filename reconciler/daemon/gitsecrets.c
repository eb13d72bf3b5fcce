/*
 * gitsecrets: the secrets a manifest keeps encrypted in Git, read at the
 * manifest's own revision from the daemon's bare clone and decrypted with
 * the host's age identity. The values live in the cycle's memory only: no
 * copy in the state dir, no log line or label carries one.
 */
#include "daemon_int.h"
#include "gitsrc.h"
#include "manifest.h"
#include "secrets.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct blob_at {
	struct daemon *dm;
	const char *commit;
};

static int
read_blob(const char *path, size_t max, char **data, size_t *len, char *err, void *payload)
{
	const struct blob_at *b = payload;

	return gitsrc_blob(b->dm->cycle.git, b->commit, path, max, data, len, err) < 0 ? -1 : 0;
}

/* What a revision's decryption depends on: the revision (its files and
 * its secrets section), the identity file's path, size and change time (a
 * rotated identity is read again). "" when there is nothing to key on. */
static void
memo_key(const struct daemon *dm, const char *commit, char *key, size_t len)
{
	const char *id = dm->cfg->age_identity;
	struct stat sb;

	*key = '\0';
	if (id && *id && stat(id, &sb) == 0)
		snprintf(key, len, "%s|%s|%lld|%lld.%ld", commit, id, (long long)sb.st_size,
		    (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec);
}

static void
copy_into(struct secrets_git *to, const struct secrets_git *from)
{
	secrets_git_release(to);
	for (size_t i = 0; i < from->n; i++)
		secrets_git_put(to, from->v[i].name, from->v[i].data, from->v[i].len);
}

/* Every cycle reads the head's manifest again: its secrets are decrypted
 * (one age run each) only when the revision or the identity changed. */
int
daemon__git_secrets(struct daemon *dm, const char *commit, const struct manifest *m,
    struct secrets_git *out, char *err)
{
	struct secrets_git_memo *mm = &dm->cycle.gitsecrets;
	struct blob_at b = { dm, commit };
	struct secrets_git tmp = { NULL, 0 };
	char key[sizeof(mm->key)];
	int rc;

	if (!out)
		out = &tmp;
	if (!m->ngit_secrets) {
		secrets_git_release(out);
		return 0;
	}
	memo_key(dm, commit, key, sizeof(key));
	if (*key && mm->v && strcmp(key, mm->key) == 0) {
		copy_into(out, mm->v);
		secrets_git_release(&tmp);
		return 0;
	}
	rc = secrets_git_load(out, m, dm->cfg->age_identity, read_blob, &b, err);
	if (rc == 0 && *key) {
		if (!mm->v)
			mm->v = xcalloc(1, sizeof(*mm->v));
		copy_into(mm->v, out);
		snprintf(mm->key, sizeof(mm->key), "%s", key);
	}
	secrets_git_release(&tmp);
	return rc;
}

void
daemon__git_secrets_release(struct daemon *dm)
{
	if (dm->cycle.gitsecrets.v) {
		secrets_git_release(dm->cycle.gitsecrets.v);
		free(dm->cycle.gitsecrets.v);
		dm->cycle.gitsecrets.v = NULL;
	}
	dm->cycle.gitsecrets.key[0] = '\0';
}
