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

#include <string.h>

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

int
daemon__git_secrets(struct daemon *dm, const char *commit, const struct manifest *m,
    struct secrets_git *out, char *err)
{
	struct blob_at b = { dm, commit };
	struct secrets_git tmp = { NULL, 0 };
	int rc;

	if (!out)
		out = &tmp;
	rc = secrets_git_load(out, m, dm->cfg->age_identity, read_blob, &b, err);
	secrets_git_release(&tmp);
	return rc;
}
