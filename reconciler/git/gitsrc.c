/*
 * gitsrc: see gitsrc.h. This file reads: a file at a commit of any
 * repository, and the daemon's bare clone with its polls and its repair.
 * gitauth.c holds the credentials every remote uses, gitpush.c commits and
 * pushes.
 */
#include "gitsrc_int.h"
#include "util.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gitsrc {
	git_repository *repo;
	/* Looked up once: libgit2 1.5 leaks PCRE2 match data on every remote
	 * lookup (its insteadOf matching), so a per-poll lookup would grow the
	 * daemon without bound. */
	git_remote *remote;
	char *dir;
	char *url;
	char *shown;		/* url without a password or token, for errors */
	struct gitsrc_auth auth;
	char head[41];		/* what the last poll returned, "" when it failed */
	char repaired[ERR_LEN];	/* the damage the last poll re-cloned for, "" if none */
};

#define FETCHSPEC "+refs/heads/*:refs/remotes/origin/*"


static int initialized;

void
gitsrc_init(void)
{
	if (!initialized) {
		git_libgit2_init();
		initialized = 1;
	}
}

void
gitsrc_shutdown(void)
{
	if (initialized) {
		git_libgit2_shutdown();
		initialized = 0;
	}
}

/* what: a URL or a path; a URL loses its password or token (url_redact). */
int
gitsrc__giterr(char *err, const char *what)
{
	const git_error *e = git_error_last();
	char *shown = url_redact(what);

	errf(err, "%s: %s", shown, e && e->message ? e->message : "unknown libgit2 error");
	free(shown);
	return -1;
}

static int
is_local(const char *url)
{
	return url[0] == '/' || url[0] == '.' || strncmp(url, "file://", 7) == 0;
}

static int
resolve(git_repository *repo, const char *ref, git_commit **out, char *err)
{
	git_object *obj = NULL;
	static const char *const prefixes[] = { "", "refs/remotes/origin/", "refs/tags/", NULL };
	int rc = -1;

	for (int i = 0; prefixes[i] && !obj; i++) {
		char *spec = xasprintf("%s%s", prefixes[i], ref ? ref : "HEAD");

		git_revparse_single(&obj, repo, spec);
		free(spec);
	}
	if (!obj) {
		errf(err, "ref '%s' not found in the repository", ref ? ref : "HEAD");
		return -1;
	}
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0)
		gitsrc__giterr(err, "ref does not name a commit");
	else
		rc = 0;
	git_object_free(obj);
	return rc;
}

/* An object the repository should have does not read: "object not found"
 * for a truncated pack as for a missing file. */
static int
unreadable(char *err, const char *what, const char *commit)
{
	const git_error *e = git_error_last();

	errf(err, "cannot read %s of %.12s: %s", what, commit,
	    e && e->message ? e->message : "unknown libgit2 error");
	return GITSRC_DAMAGED;
}

/* The file at `path` in commit c, at most max bytes, walked tree by tree: a
 * name missing from a tree is the manifest's fault (-1), a tree or blob that
 * does not read is the repository's (GITSRC_DAMAGED). */
static int
read_path(git_repository *repo, git_commit *c, const char *path, size_t max, char **data,
    size_t *len, char *err)
{
	git_tree *tree = NULL, *sub = NULL;
	const git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char commit[41], *rest = xstrdup(path), *name, *slash;
	int rc = -1;

	git_oid_tostr(commit, sizeof(commit), git_commit_id(c));
	if (git_commit_tree(&tree, c) < 0) {
		rc = unreadable(err, "the tree", commit);
		goto out;
	}
	for (name = rest;; name = slash + 1) {
		if ((slash = strchr(name, '/')))
			*slash = '\0';
		if (!(e = git_tree_entry_byname(tree, name)) ||
		    (slash && git_tree_entry_type(e) != GIT_OBJECT_TREE)) {
			errf(err, "'%s' not found at %.12s", path, commit);
			goto out;
		}
		if (!slash)
			break;
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0) {
			rc = unreadable(err, "a tree on the way to the file", commit);
			goto out;
		}
		git_tree_free(tree);
		tree = sub;
		sub = NULL;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		errf(err, "'%s' at %.12s is not a file", path, commit);
		goto out;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
		rc = unreadable(err, path, commit);
		goto out;
	}
	if ((size_t)git_blob_rawsize(blob) > max) {
		errf(err, "'%s' at %.12s is larger than %zu bytes", path, commit, max);
		goto out;
	}
	*len = (size_t)git_blob_rawsize(blob);
	*data = xstrndup(git_blob_rawcontent(blob), *len);
	rc = 0;
out:
	git_blob_free(blob);
	git_tree_free(tree);
	free(rest);
	return rc;
}

int
gitsrc_read(const char *url, const char *ref, const char *path, size_t max, char **data,
    size_t *len, char commit[41], char *err)
{
	return gitsrc_read_auth(url, ref, path, NULL, max, data, len, commit, err);
}

int
gitsrc_read_auth(const char *url, const char *ref, const char *path,
    const struct gitsrc_auth *auth, size_t max, char **data, size_t *len, char commit[41],
    char *err)
{
	struct gitsrc__cbdata cbd = { auth, url, NULL, 0 };
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_commit *c = NULL;
	char tmpl[] = "/tmp/reconciler-git.XXXXXX", *tmp = NULL, *defref = NULL;
	const char *local = url;
	int rc = -1;

	gitsrc_init();
	*data = NULL;
	if (strncmp(url, "file://", 7) == 0)
		local = url + 7;
	if (is_local(url)) {
		if (git_repository_open_ext(&repo, local, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
			gitsrc__giterr(err, url);
			goto out;
		}
	} else {
		/* a branch or tag by name, else every branch (a commit id is in one) */
		const char *one = ref && strlen(ref) != 40 ? ref : "*";
		char *refspec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", one, one);
		char *specs[] = { refspec };
		git_strarray arr = { specs, 1 };
		git_fetch_options fo;
		git_buf head = GIT_BUF_INIT;

		git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
		gitsrc__callbacks(&fo.callbacks, &cbd);
		if (!(tmp = mkdtemp(tmpl))) {
			free(refspec);
			errf(err, "cannot create a temporary directory");
			goto out;
		}
		if (git_repository_init(&repo, tmp, 1) < 0 ||
		    git_remote_create_anonymous(&remote, repo, url) < 0 ||
		    git_remote_fetch(remote, &arr, &fo, NULL) < 0) {
			free(refspec);
			gitsrc__giterr(err, url);
			goto out;
		}
		free(refspec);
		/* no ref: the remote's HEAD, its default branch */
		if (!ref && git_remote_default_branch(&head, remote) == 0 &&
		    strncmp(head.ptr, "refs/heads/", 11) == 0)
			ref = defref = xstrdup(head.ptr + 11);
		git_buf_dispose(&head);
	}
	if (resolve(repo, ref, &c, err) < 0)
		goto out;
	git_oid_tostr(commit, 41, git_commit_id(c));
	if (read_path(repo, c, path, max, data, len, err) == 0)
		rc = 0;
out:
	git_commit_free(c);
	git_remote_free(remote);
	git_repository_free(repo);
	if (tmp)
		rmtree(tmp);
	free(defref);
	return rc;
}

/* --- the daemon's bare clone ---------------------------------------------- */

static void
clone_close(struct gitsrc *g)
{
	git_remote_free(g->remote);
	g->remote = NULL;
	git_repository_free(g->repo);
	g->repo = NULL;
}

/* The clone in g->dir, if it opens and tracks g->url; else none (g->repo
 * NULL), and the next poll makes a fresh one. */
static void
clone_open(struct gitsrc *g)
{
	clone_close(g);
	if (git_repository_open_bare(&g->repo, g->dir) < 0 ||
	    git_remote_lookup(&g->remote, g->repo, "origin") < 0 ||
	    strcmp(git_remote_url(g->remote), g->url) != 0)
		clone_close(g);
}

int
gitsrc_open(struct gitsrc **out, const char *dir, const char *url,
    const struct gitsrc_auth *auth, char *err)
{
	struct gitsrc *g = xcalloc(1, sizeof(*g));

	(void)err;
	gitsrc_init();
	g->dir = xstrdup(dir);
	g->url = xstrdup(url);
	g->shown = url_redact(url);
	if (auth)
		g->auth = *auth;
	/* A clone that cannot be opened, or that tracks another URL, is replaced
	 * by the first poll (gitsrc_reclone): it is a cache of the remote, never
	 * the truth, but it stays until its replacement has the branch. */
	clone_open(g);
	*out = g;
	return 0;
}

void
gitsrc_free(struct gitsrc *g)
{
	if (!g)
		return;
	clone_close(g);
	free(g->dir);
	free(g->url);
	free(g->shown);
	free(g);
}

const char *
gitsrc_dir(const struct gitsrc *g)
{
	return g->dir;
}

const char *
gitsrc_head(const struct gitsrc *g)
{
	return g->head;
}

const char *
gitsrc_repaired(const struct gitsrc *g)
{
	return g->repaired[0] ? g->repaired : NULL;
}

static int
remote_head(struct gitsrc *g, git_remote *r, const char *branch, git_oid *oid, char *err)
{
	struct gitsrc__cbdata data = { &g->auth, g->url, NULL, 0 };
	git_remote_callbacks cb;
	const git_remote_head **heads;
	char *ref = xasprintf("refs/heads/%s", branch);
	size_t n;
	int rc = -1;

	gitsrc__callbacks(&cb, &data);
	if (git_remote_connect(r, GIT_DIRECTION_FETCH, &cb, NULL, NULL) < 0) {
		gitsrc__giterr(err, g->shown);
		goto out;
	}
	if (git_remote_ls(&heads, &n, r) < 0) {
		gitsrc__giterr(err, g->shown);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(heads[i]->name, ref) == 0) {
			git_oid_cpy(oid, &heads[i]->oid);
			rc = 0;
			goto out;
		}
	}
	errf(err, "%s: branch '%s' not found on the remote", g->shown, branch);
out:
	git_remote_disconnect(r);
	free(ref);
	return rc;
}

static int
fetch(struct gitsrc *g, git_remote *r, const char *branch, char *err)
{
	struct gitsrc__cbdata data = { &g->auth, g->url, NULL, 0 };
	git_fetch_options fo;
	char *spec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", branch, branch);
	char *specs[] = { spec };
	git_strarray arr = { specs, 1 };
	int rc = 0;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	gitsrc__callbacks(&fo.callbacks, &data);
	fo.prune = GIT_FETCH_PRUNE;
	if (git_remote_fetch(r, &arr, &fo, "reconciler fetch") < 0)
		rc = gitsrc__giterr(err, g->shown);
	free(spec);
	return rc;
}

/* The branch's head in repo (fetched before), readable as a commit. */
static int
local_head(git_repository *repo, const char *branch, git_oid *oid, char *err)
{
	char *ref = xasprintf("refs/remotes/origin/%s", branch);
	git_commit *c = NULL;
	int rc = 0;

	if (git_reference_name_to_id(oid, repo, ref) < 0 || git_commit_lookup(&c, repo, oid) < 0)
		rc = gitsrc__giterr(err, ref);
	git_commit_free(c);
	free(ref);
	return rc;
}

/* A fresh clone of the branch in dir.new; once it has the head, it takes
 * dir's place and the old clone goes. Until then the old one is kept. */
static int
reclone(struct gitsrc *g, const char *branch, char *err)
{
	char *fresh = xasprintf("%s.new", g->dir), *old = xasprintf("%s.old", g->dir);
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_oid oid;
	int rc = -1;

	rmtree(fresh);
	if (git_repository_init(&repo, fresh, 1) < 0 ||
	    git_remote_create_with_fetchspec(&remote, repo, "origin", g->url, FETCHSPEC) < 0) {
		gitsrc__giterr(err, fresh);
		goto out;
	}
	if (fetch(g, remote, branch, err) < 0 || local_head(repo, branch, &oid, err) < 0)
		goto out;
	git_remote_free(remote);
	remote = NULL;
	git_repository_free(repo);
	repo = NULL;
	clone_close(g);
	rmtree(old);
	if (rename(g->dir, old) < 0 && errno != ENOENT) {
		errf(err, "cannot move '%s' aside: %s", g->dir, strerror(errno));
	} else if (rename(fresh, g->dir) < 0) {
		errf(err, "cannot rename '%s' to '%s': %s", fresh, g->dir, strerror(errno));
		/* put back; if that fails too, the next poll clones into dir anew */
		(void)rename(old, g->dir);
	} else {
		rmtree(old);
		rc = 0;
	}
	clone_open(g);
	if (rc == 0 && !g->repo)
		rc = gitsrc__giterr(err, g->dir);
out:
	git_remote_free(remote);
	git_repository_free(repo);
	rmtree(fresh);
	free(fresh);
	free(old);
	return rc;
}

int
gitsrc_reclone(struct gitsrc *g, const char *branch, char *err)
{
	char why[ERR_LEN];

	if (reclone(g, branch, why) < 0)
		return errf(err, "local clone '%s': a fresh clone from %s failed, the old one is "
		    "kept: %s", g->dir, g->shown, why);
	return 0;
}

/* Fetches when the remote's head is not the clone's; the clone is replaced
 * when it cannot fetch or cannot read the head it has. */
static int
poll_clone(struct gitsrc *g, const char *branch, git_oid *want, int *fetched, char *err)
{
	char *local = xasprintf("refs/remotes/origin/%s", branch), why[ERR_LEN];
	git_commit *c = NULL;
	git_oid have;
	int rc = -1;

	if (remote_head(g, g->remote, branch, want, err) < 0)
		goto out;
	if (git_reference_name_to_id(&have, g->repo, local) < 0 || !git_oid_equal(&have, want)) {
		if (fetch(g, g->remote, branch, why) < 0) {
			errf(g->repaired, "local clone '%s': fetching failed: %s", g->dir, why);
			if (gitsrc_reclone(g, branch, err) < 0)
				goto out;
			*fetched = 1;
			rc = local_head(g->repo, branch, want, err);
			goto out;
		}
		*fetched = 1;
	}
	if (git_commit_lookup(&c, g->repo, want) < 0) {
		char head[41];

		git_oid_tostr(head, sizeof(head), want);
		unreadable(why, "the head", head);
		errf(g->repaired, "local clone '%s': %s", g->dir, why);
		if (gitsrc_reclone(g, branch, err) < 0)
			goto out;
		*fetched = 1;
		rc = local_head(g->repo, branch, want, err);
		goto out;
	}
	rc = 0;
out:
	git_commit_free(c);
	free(local);
	return rc;
}

int
gitsrc_poll(struct gitsrc *g, const char *branch, char commit[41], int *fetched, char *err)
{
	git_oid want;
	int rc;

	*fetched = 0;
	g->head[0] = '\0';
	g->repaired[0] = '\0';
	if (!g->repo) {
		/* none yet, or one that does not open or tracks another URL */
		rc = gitsrc_reclone(g, branch, err);
		if (rc == 0 && (rc = local_head(g->repo, branch, &want, err)) == 0)
			*fetched = 1;
	} else {
		rc = poll_clone(g, branch, &want, fetched, err);
	}
	if (rc < 0)
		return -1;
	git_oid_tostr(commit, 41, &want);
	snprintf(g->head, sizeof(g->head), "%s", commit);
	return 0;
}

int
gitsrc_blob(struct gitsrc *g, const char *commit, const char *path, size_t max, char **data,
    size_t *len, char *err)
{
	git_commit *c = NULL;
	char why[ERR_LEN];
	git_oid oid;
	int rc;

	*data = NULL;
	if (git_oid_fromstr(&oid, commit) < 0)
		return errf(err, "'%s' is not a commit id", commit);
	if (!g->repo) {
		errf(why, "it does not open as a bare clone of %s", g->shown);
		rc = GITSRC_DAMAGED;
	} else if (git_commit_lookup(&c, g->repo, &oid) < 0) {
		rc = unreadable(why, "the commit", commit);
	} else {
		rc = read_path(g->repo, c, path, max, data, len, why);
	}
	git_commit_free(c);
	if (rc == GITSRC_DAMAGED)
		errf(err, "local clone '%s': %s", g->dir, why);
	else if (rc < 0)
		errf(err, "%s", why);
	return rc;
}

git_repository *
gitsrc__repo(struct gitsrc *g)
{
	return g->repo;
}

char *
gitsrc_subject(struct gitsrc *g, const char *commit)
{
	git_oid oid;
	git_commit *c = NULL;
	char *s = NULL;

	if (g->repo && git_oid_fromstr(&oid, commit) == 0 &&
	    git_commit_lookup(&c, g->repo, &oid) == 0) {
		const char *sum = git_commit_summary(c);

		s = sum ? xstrdup(sum) : NULL;
	}
	git_commit_free(c);
	return s;
}
