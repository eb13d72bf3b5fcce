/*
 * gitsrc: commit and push, for `reconcilerctl set-image --commit [--push]`
 * (see gitsrc.h). Unlike the daemon's side (gitsrc.c), these work in the
 * user's work tree.
 */
#include "gitsrc_int.h"
#include "gitverify.h"
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

/* The commit signed with the ssh key: its text signed by ssh-keygen, written
 * with the signature, and HEAD's branch moved to it only if it still points
 * at parent (or is unborn), as git commit -S does; or branch_ref set to it. */
static int
commit_signed_to(git_repository *repo, const char *branch_ref, const char *key,
    const git_signature *sig, const char *message, const git_tree *tree, git_commit *parent,
    git_oid *oid, char *err)
{
	git_buf text = GIT_BUF_INIT;
	git_reference *head = NULL, *moved = NULL;
	const git_commit *parents[1] = { parent };
	char *armor = NULL;
	int rc = -1;

	if (git_commit_create_buffer(&text, repo, sig, sig, NULL, message, tree, parent ? 1 : 0,
	    parents) < 0) {
		gitsrc__giterr(err, "committing");
		goto out;
	}
	if (gitverify_sign_ssh(key, text.ptr, text.size, &armor, err) < 0)
		goto out;
	if (git_commit_create_with_signature(oid, repo, text.ptr, armor, NULL) < 0) {
		gitsrc__giterr(err, "writing the signed commit");
		goto out;
	}
	if (branch_ref) {	/* a branch of its own, whatever it held: HEAD stays */
		if (git_reference_create(&moved, repo, branch_ref, oid, 1, "commit (signed)") < 0) {
			gitsrc__giterr(err, branch_ref);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (git_reference_lookup(&head, repo, "HEAD") < 0) {
		gitsrc__giterr(err, "writing the signed commit");
		goto out;
	}
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC ?
	    (parent ? git_reference_create_matching(&moved, repo,
	    git_reference_symbolic_target(head), oid, 1, git_commit_id(parent),
	    "commit (signed)") : git_reference_create(&moved, repo,
	    git_reference_symbolic_target(head), oid, 0, "commit (signed)")) :
	    git_repository_set_head_detached(repo, oid)) {
		gitsrc__giterr(err, "moving the branch to the signed commit");
		goto out;
	}
	rc = 0;
out:
	free(armor);
	git_reference_free(moved);
	git_reference_free(head);
	git_buf_dispose(&text);
	return rc;
}

int
gitsrc_commit_file(const char *file, const char *message, const char *author_name,
    const char *author_email, char commit[41], char *err)
{
	return gitsrc_commit_file_signed(file, message, author_name, author_email, NULL, commit,
	    err);
}

/* Commits exactly one file: HEAD's tree with that path replaced, whatever else
 * is staged (a deploy commit must never sweep up someone's other work), on
 * HEAD's branch, or with branch_ref on that branch (HEAD and the index stay). */
static int
commit_file(const char *file, const char *branch_ref, const char *message,
    const char *author_name, const char *author_email, const char *sign_key, char commit[41],
    char *err)
{
	git_repository *repo = NULL;
	git_index *idx = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_reference *head = NULL, *moved = NULL;
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
	if (sign_key) {
		if (commit_signed_to(repo, branch_ref, sign_key, sig, message, tree, parent, &oid,
		    err) < 0)
			goto out;
	} else if (git_commit_create_v(&oid, repo, branch_ref ? NULL : "HEAD", sig, sig, NULL,
	    message, tree, parent ? 1 : 0, parent) < 0) {
		gitsrc__giterr(err, "committing");
		goto out;
	} else if (branch_ref && git_reference_create(&moved, repo, branch_ref, &oid, 1,
	    "commit") < 0) {
		gitsrc__giterr(err, branch_ref);
		goto out;
	}
	/* the index follows for that one path, so `git status` stays clean */
	if (!branch_ref && git_repository_index(&idx, repo) == 0 &&
	    git_index_add_bypath(idx, rel) == 0)
		git_index_write(idx);
	git_oid_tostr(commit, 41, &oid);
	rc = 0;
out:
	git_commit_free(parent);
	git_reference_free(moved);
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

int
gitsrc_commit_file_signed(const char *file, const char *message, const char *author_name,
    const char *author_email, const char *sign_key, char commit[41], char *err)
{
	return commit_file(file, NULL, message, author_name, author_email, sign_key, commit, err);
}

int
gitsrc_commit_file_branch(const char *file, const char *branch, const char *message,
    const char *author_name, const char *author_email, const char *sign_key, char commit[41],
    char *err)
{
	char *ref = xasprintf("refs/heads/%s", branch);
	int rc;

	if (git_reference_is_valid_name(ref) != 1)
		rc = errf(err, "'%s' is not a valid branch name", branch);
	else
		rc = commit_file(file, ref, message, author_name, author_email, sign_key, commit,
		    err);
	free(ref);
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

/* One push: where to, what, and what the remote's branch was before it. */
struct push {
	git_repository *repo;
	git_remote *remote;
	const struct gitsrc_auth *auth;
	const char *url;	/* the push URL */
	char *shown;		/* url without credentials, for errors */
	char *ref;		/* refs/heads/<branch>, the same name on both sides */
	git_oid commit;		/* what is pushed: the local branch's head */
	git_oid before;		/* the remote's branch before the push */
	int exists;		/* whether the remote has the branch */
	int force;		/* replace the remote's branch (compare and swap) */
};

/* The remote's value of p->ref (*exists 0 when it has no such branch). */
static int
remote_ref(struct push *p, git_oid *out, int *exists, char *err)
{
	struct gitsrc__cbdata data = { p->auth, p->url, NULL, 0 };
	git_remote_callbacks cb;
	const git_remote_head **heads;
	size_t n;
	int rc = -1;

	*exists = 0;
	gitsrc__callbacks(&cb, &data);
	if (git_remote_connect(p->remote, GIT_DIRECTION_PUSH, &cb, NULL, NULL) < 0 ||
	    git_remote_ls(&heads, &n, p->remote) < 0) {
		gitsrc__giterr(err, p->url);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(heads[i]->name, p->ref) == 0) {
			git_oid_cpy(out, &heads[i]->oid);
			*exists = 1;
		}
	}
	rc = 0;
out:
	git_remote_disconnect(p->remote);
	return rc;
}

static int
is_local(const char *url)
{
	return url[0] == '/' || url[0] == '.' || strncmp(url, "file://", 7) == 0;
}

/* A repository on this machine: libgit2's local transport moves the branch
 * with a forced write, whatever it holds by then, so two pushes at once both
 * "succeed" and one commit is lost. Here the objects go into the remote's
 * object store as one pack, and the branch moves only if it still holds
 * p->before, under the ref's lock (compare and swap). 1: the branch moved. */
static int
local_push(struct push *p, char *err)
{
	const char *path = strncmp(p->url, "file://", 7) == 0 ? p->url + 7 : p->url;
	git_repository *dst = NULL;
	git_revwalk *walk = NULL;
	git_packbuilder *pb = NULL;
	git_reference *ref = NULL;
	char *packdir = NULL;
	int rc = -1, e;

	if (git_repository_open_ext(&dst, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		gitsrc__giterr(err, p->shown);
		goto out;
	}
	if (!git_repository_is_bare(dst)) {
		errf(err, "%s is not a bare repository: a push would leave its work tree behind "
		    "its branch", p->shown);
		goto out;
	}
	packdir = xasprintf("%sobjects/pack", git_repository_path(dst));
	if (git_revwalk_new(&walk, p->repo) < 0 || git_revwalk_push(walk, &p->commit) < 0 ||
	    (p->exists && git_revwalk_hide(walk, &p->before) < 0) ||
	    git_packbuilder_new(&pb, p->repo) < 0 || git_packbuilder_insert_walk(pb, walk) < 0 ||
	    git_packbuilder_write(pb, packdir, 0, NULL, NULL) < 0) {
		gitsrc__giterr(err, p->shown);
		goto out;
	}
	if (p->exists)
		e = git_reference_create_matching(&ref, dst, p->ref, &p->commit, 1, &p->before,
		    "push: reconcilerctl set-image");
	else
		e = git_reference_create(&ref, dst, p->ref, &p->commit, 0,
		    "push: reconcilerctl set-image");
	if (e == GIT_EMODIFIED || e == GIT_EEXISTS || e == GIT_ELOCKED)
		rc = 1;
	else if (e < 0)
		gitsrc__giterr(err, p->shown);
	else
		rc = 0;
out:
	git_reference_free(ref);
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	git_repository_free(dst);
	free(packdir);
	return rc;
}

/* Any other transport: the server's receive-pack moves the branch only from
 * the value libgit2 saw (a compare and swap of its own). */
static int
smart_push(struct push *p, char *err)
{
	struct gitsrc__cbdata data = { p->auth, p->url, err, 0 };
	char *spec = xasprintf("%s%s:%s", p->force ? "+" : "", p->ref, p->ref), *specs[] = { spec };
	git_strarray arr = { specs, 1 };
	git_push_options po;
	int rc = -1;

	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	gitsrc__callbacks(&po.callbacks, &data);
	/* rejections come through this callback, not the return code */
	po.callbacks.push_update_reference = push_status_cb;
	err[0] = '\0';
	if (git_remote_push(p->remote, &arr, &po) < 0)
		gitsrc__giterr(err, p->shown);
	else if (!err[0])
		rc = 0;
	free(spec);
	return rc;
}

/* now: the branch's value, NULL when the remote no longer has it. */
static void
branch_moved(const struct push *p, const git_oid *now, const char *when, char *err)
{
	char c[41], n[41] = "nothing";

	git_oid_tostr(c, sizeof(c), &p->commit);
	if (now)
		git_oid_tostr(n, 13, now);
	errf(err, "%s: branch '%s' moved %s (it holds %s now, not %.12s, the commit made "
	    "here): fetch, reset to it and run set-image again", p->shown,
	    p->ref + strlen("refs/heads/"), when, n, c);
}

/* After the push: the remote's branch holds the commit (is it, or has moved
 * on from it), else the push was lost and says so. */
static int
push_verify(struct push *p, char *err)
{
	git_oid now;
	int exists;

	if (remote_ref(p, &now, &exists, err) < 0)
		return -1;
	if (exists && (git_oid_equal(&now, &p->commit) ||
	    git_graph_descendant_of(p->repo, &now, &p->commit) == 1))
		return 0;
	branch_moved(p, exists ? &now : NULL, "right after the push", err);
	return -1;
}

/* Before: the commit must be built on what the remote's branch holds. */
static int
push_check(struct push *p, char *err)
{
	if (remote_ref(p, &p->before, &p->exists, err) < 0)
		return -1;
	if (!p->exists || p->force || git_oid_equal(&p->before, &p->commit) ||
	    git_graph_descendant_of(p->repo, &p->commit, &p->before) == 1)
		return 0;
	branch_moved(p, &p->before, "since this work tree was last fetched", err);
	return -1;
}

static int
push_open(struct push *p, const char *file, const char *remote_name, const char *branch,
    char *err)
{
	git_reference *head = NULL;
	char *rel = NULL;
	int rc = -1;

	if (open_worktree(&p->repo, file, &rel, err) < 0)
		goto out;
	if (branch) {
		if (git_branch_lookup(&head, p->repo, branch, GIT_BRANCH_LOCAL) < 0) {
			gitsrc__giterr(err, branch);
			goto out;
		}
	} else if (git_repository_head(&head, p->repo) < 0 || !git_reference_is_branch(head)) {
		errf(err, "HEAD is not on a branch: nothing to push");
		goto out;
	}
	if (git_remote_lookup(&p->remote, p->repo, remote_name) < 0) {
		gitsrc__giterr(err, remote_name);
		goto out;
	}
	p->url = git_remote_pushurl(p->remote) ? git_remote_pushurl(p->remote) :
	    git_remote_url(p->remote);
	p->shown = url_redact(p->url);
	p->ref = xstrdup(git_reference_name(head));
	git_oid_cpy(&p->commit, git_reference_target(head));
	rc = 0;
out:
	git_reference_free(head);
	free(rel);
	return rc;
}

int
gitsrc_push(const char *file, const char *remote_name, const struct gitsrc_auth *auth, char *err)
{
	return gitsrc_push_branch(file, remote_name, NULL, auth, err);
}

int
gitsrc_push_branch(const char *file, const char *remote_name, const char *branch,
    const struct gitsrc_auth *auth, char *err)
{
	struct push p = { .auth = auth, .force = branch != NULL };
	char why[ERR_LEN];
	git_oid now;
	int rc = -1, moved = 0, exists;

	gitsrc_init();
	if (push_open(&p, file, remote_name ? remote_name : "origin", branch, err) < 0 ||
	    push_check(&p, err) < 0)
		goto out;
	if (p.exists && git_oid_equal(&p.before, &p.commit)) {
		rc = 0;		/* the remote has it already */
		goto out;
	}
	if (is_local(p.url)) {
		if ((moved = local_push(&p, err)) < 0)
			goto out;
	} else if (smart_push(&p, err) < 0) {
		/* refused: because the branch moved meanwhile, or for the server's reason */
		if (remote_ref(&p, &now, &exists, why) == 0 &&
		    (exists != p.exists || (exists && !git_oid_equal(&now, &p.before))))
			branch_moved(&p, exists ? &now : NULL, "during the push", err);
		goto out;
	}
	if (moved) {
		if (remote_ref(&p, &now, &exists, why) == 0)
			branch_moved(&p, exists ? &now : NULL, "during the push", err);
		else
			errf(err, "%s: branch '%s' moved during the push", p.shown,
			    p.ref + strlen("refs/heads/"));
		goto out;
	}
	rc = push_verify(&p, err);
out:
	free(p.ref);
	free(p.shown);
	git_remote_free(p.remote);
	git_repository_free(p.repo);
	return rc;
}
