/*
 * gitsrc: commit and push, for `reconcilerctl set-image --commit [--push]`
 * (see gitsrc.h). Unlike the daemon's side (gitsrc.c), these work in the
 * user's work tree.
 */
#include "gitsrc_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int
open_worktree(git_repository **repo, const char *file, char **rel, char *err)
{
	char *abs = realpath(file, NULL);
	const char *wd;

	*rel = NULL;
	if (!abs)
		return errf(err, "cannot resolve '%s'", file);
	if (git_repository_open_ext(repo, abs, 0, NULL) < 0) {
		free(abs);
		return gitsrc__giterr(err, "no Git repository holds the file");
	}
	if (!(wd = git_repository_workdir(*repo)) || strncmp(abs, wd, strlen(wd)) != 0) {
		free(abs);
		return errf(err, "'%s' is not inside the work tree of its repository", file);
	}
	*rel = xstrdup(abs + strlen(wd));
	free(abs);
	return 0;
}

/* Commits exactly one file: HEAD's tree with that path replaced, whatever else
 * is staged (a deploy commit must never sweep up someone's other work). */
int
gitsrc_commit_file(const char *file, const char *message, const char *author_name,
    const char *author_email, char commit[41], char *err)
{
	git_repository *repo = NULL;
	git_index *idx = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_reference *head = NULL;
	git_commit *parent = NULL;
	git_tree_update upd;
	git_oid blob, tree_oid, oid;
	char *rel = NULL;
	int rc = -1;

	gitsrc_init();
	if (open_worktree(&repo, file, &rel, err) < 0)
		goto out;
	if (!author_name)
		author_name = getenv("GIT_AUTHOR_NAME");
	if (!author_email)
		author_email = getenv("GIT_AUTHOR_EMAIL");
	if (git_signature_now(&sig, author_name ? author_name : "reconcilerctl",
	    author_email ? author_email : "reconcilerctl@localhost") < 0) {
		gitsrc__giterr(err, "author");
		goto out;
	}
	if (git_repository_head(&head, repo) == 0) {
		if (git_reference_peel((git_object **)&parent, head, GIT_OBJECT_COMMIT) < 0 ||
		    git_commit_tree(&base, parent) < 0) {
			gitsrc__giterr(err, "reading HEAD");
			goto out;
		}
	} else if (git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_write(&tree_oid, tb) < 0 || git_tree_lookup(&base, repo, &tree_oid) < 0) {
		gitsrc__giterr(err, "an empty tree for the first commit");
		goto out;
	}
	if (git_blob_create_from_workdir(&blob, repo, rel) < 0) {
		gitsrc__giterr(err, rel);
		goto out;
	}
	memset(&upd, 0, sizeof(upd));
	upd.action = GIT_TREE_UPDATE_UPSERT;
	upd.id = blob;
	upd.filemode = GIT_FILEMODE_BLOB;
	upd.path = rel;
	if (git_tree_create_updated(&tree_oid, repo, base, 1, &upd) < 0 ||
	    git_tree_lookup(&tree, repo, &tree_oid) < 0) {
		gitsrc__giterr(err, "building the tree");
		goto out;
	}
	if (parent && git_oid_equal(git_commit_tree_id(parent), &tree_oid)) {
		errf(err, "nothing to commit: '%s' is unchanged", rel);
		goto out;
	}
	if (git_commit_create_v(&oid, repo, "HEAD", sig, sig, NULL, message, tree,
	    parent ? 1 : 0, parent) < 0) {
		gitsrc__giterr(err, "committing");
		goto out;
	}
	/* the index follows for that one path, so `git status` stays clean */
	if (git_repository_index(&idx, repo) == 0 && git_index_add_bypath(idx, rel) == 0)
		git_index_write(idx);
	git_oid_tostr(commit, 41, &oid);
	rc = 0;
out:
	git_commit_free(parent);
	git_reference_free(head);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_treebuilder_free(tb);
	git_index_free(idx);
	git_repository_free(repo);
	free(rel);
	return rc;
}

static int
push_status_cb(const char *ref, const char *status, void *payload)
{
	char *err = ((struct gitsrc__cbdata *)payload)->push_err;

	if (status)
		errf(err, "the remote refused %s: %s", ref, status);
	return 0;
}

int
gitsrc_push(const char *file, const char *remote_name, const struct gitsrc_auth *auth, char *err)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_reference *head = NULL;
	struct gitsrc__cbdata data = { auth, err };
	git_push_options po;
	char *rel = NULL, *spec = NULL;
	int rc = -1;

	gitsrc_init();
	if (open_worktree(&repo, file, &rel, err) < 0)
		goto out;
	if (git_repository_head(&head, repo) < 0 || !git_reference_is_branch(head)) {
		errf(err, "HEAD is not on a branch: nothing to push");
		goto out;
	}
	if (git_remote_lookup(&remote, repo, remote_name ? remote_name : "origin") < 0) {
		gitsrc__giterr(err, "remote");
		goto out;
	}
	spec = xasprintf("%s:%s", git_reference_name(head), git_reference_name(head));
	{
		char *specs[] = { spec };
		git_strarray arr = { specs, 1 };

		git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
		gitsrc__callbacks(&po.callbacks, &data);
		/* rejections come through this callback, not the return code */
		po.callbacks.push_update_reference = push_status_cb;
		err[0] = '\0';
		if (git_remote_push(remote, &arr, &po) < 0) {
			gitsrc__giterr(err, "push");
			goto out;
		}
		if (err[0])
			goto out;
	}
	rc = 0;
out:
	free(spec);
	free(rel);
	git_reference_free(head);
	git_remote_free(remote);
	git_repository_free(repo);
	return rc;
}
