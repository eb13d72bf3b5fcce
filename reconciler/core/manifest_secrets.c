/*
 * manifest: the secrets section, the secrets kept in the repository itself,
 * each a file encrypted with age to the hosts' recipients. A reference to
 * NAME anywhere in the manifest then takes the decrypted file's value
 * instead of the host's secrets directory (docs/security.md).
 */
#include "manifest_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define REPO_PATH_MAX 1024

int
manifest_repo_path_ok(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n > REPO_PATH_MAX || path[0] == '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < ' ' || path[i] == 0x7f || path[i] == '\\')
			return 0;
	for (const char *seg = path;; seg++) {
		size_t k = strcspn(seg, "/");

		if (k == 0 || (k == 1 && seg[0] == '.') || (k == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		seg += k;
		if (!*seg)
			return 1;
	}
}

static void
parse_one(struct mf__ctx *c, struct mf_git_secret *g, const struct yt_node *v, const char *p)
{
	static const char *const keys[] = { "file", NULL };
	const struct yt_node *f;
	char *fp;

	if (!mf__is_map(c, v, p))
		return;
	mf__check_keys(c, v, p, keys);
	if (!(f = yt_get(v, "file"))) {
		mf__missing(c, v, p, "file");
		return;
	}
	fp = yt_path_key(p, "file");
	if ((g->file = mf__get_str(c, f, fp)) && !manifest_repo_path_ok(g->file)) {
		mf__err_at(c, f, fp, "file '%s' must be a path inside the repository, relative to its "
		    "top (e.g. secrets/db_password.age; no leading '/', no '.', '..' or empty "
		    "component)", g->file);
		free(g->file);
		g->file = NULL;
	}
	free(fp);
}

void
mf__parse_git_secrets(struct mf__ctx *c, const struct yt_node *n)
{
	struct manifest *m = c->m;

	if (!mf__is_map(c, n, "secrets"))
		return;
	MF__FOR_KEYS(n, "secrets", key, v, p) {
		struct mf_git_secret *g = MF__GROW(m->git_secrets, m->ngit_secrets);

		g->name = xstrdup(key);
		g->line = n->keys[key_i]->line;
		g->col = n->keys[key_i]->col;
		if (!manifest_secret_name_ok(key))
			mf__err_at(c, n->keys[key_i], p, "secret name '%s' must be a plain file name "
			    "(letters, digits, '.', '_', '-'; no '/' or '..'), as references write it",
			    key);
		parse_one(c, g, v, p);
	}
}

const struct mf_git_secret *
manifest_git_secret(const struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->ngit_secrets; i++)
		if (strcmp(m->git_secrets[i].name, name) == 0)
			return &m->git_secrets[i];
	return NULL;
}

void
mf__git_secrets_release(struct manifest *m)
{
	for (size_t i = 0; i < m->ngit_secrets; i++) {
		free(m->git_secrets[i].name);
		free(m->git_secrets[i].file);
	}
	free(m->git_secrets);
}
