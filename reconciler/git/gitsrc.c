/*
 * gitsrc: see gitsrc.h. This file reads: a file at a commit of any
 * repository, and the daemon's bare clone with its polls; and it holds the
 * credentials every remote uses. gitpush.c commits and pushes.
 */
#include "gitsrc_int.h"
#include "util.h"

#include <git2.h>
#include <openssl/evp.h>
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
};

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

/* The file at `path` in commit c, at most max bytes. */
static int
read_path(git_repository *repo, git_commit *c, const char *path, size_t max, char **data,
    size_t *len, char *err)
{
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	char commit[41];
	int rc = -1;

	git_oid_tostr(commit, sizeof(commit), git_commit_id(c));
	if (git_commit_tree(&tree, c) < 0) {
		gitsrc__giterr(err, "reading the commit's tree");
		goto out;
	}
	if (git_tree_entry_bypath(&entry, tree, path) < 0) {
		errf(err, "'%s' not found at %.12s", path, commit);
		goto out;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
		errf(err, "'%s' at %.12s is not a file", path, commit);
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
	git_tree_entry_free(entry);
	git_tree_free(tree);
	return rc;
}

int
gitsrc_read(const char *url, const char *ref, const char *path, size_t max, char **data,
    size_t *len, char commit[41], char *err)
{
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_commit *c = NULL;
	char tmpl[] = "/tmp/reconciler-git.XXXXXX", *tmp = NULL;
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
		git_fetch_options fo;
		char *refspec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", ref ? ref : "*",
		    ref ? ref : "*");
		char *specs[] = { refspec };
		git_strarray arr = { specs, 1 };

		git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
		if (!(tmp = mkdtemp(tmpl))) {
			free(refspec);
			errf(err, "cannot create a temporary directory");
			goto out;
		}
		if (git_repository_init(&repo, tmp, 1) < 0 ||
		    git_remote_create_anonymous(&remote, repo, url) < 0 ||
		    git_remote_fetch(remote, ref && strlen(ref) != 40 ? &arr : NULL, &fo, NULL) < 0) {
			free(refspec);
			gitsrc__giterr(err, url);
			goto out;
		}
		free(refspec);
	}
	if (resolve(repo, ref, &c, err) < 0)
		goto out;
	git_oid_tostr(commit, 41, git_commit_id(c));
	rc = read_path(repo, c, path, max, data, len, err);
out:
	git_commit_free(c);
	git_remote_free(remote);
	git_repository_free(repo);
	if (tmp)
		rmtree(tmp);
	return rc;
}

/* --- credentials --------------------------------------------------------- */

static int
cred_cb(git_credential **out, const char *url, const char *user_from_url,
    unsigned int allowed, void *payload)
{
	const struct gitsrc_auth *a = ((struct gitsrc__cbdata *)payload)->auth;
	char err[ERR_LEN], *token = NULL;
	size_t len;
	int rc;

	if (!a)
		return GIT_PASSTHROUGH;
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && a->ssh_key) {
		/* libssh2 reads the key; the mode is checked here, as ssh does */
		if (file_check_private(a->ssh_key, err) < 0) {
			git_error_set_str(GIT_ERROR_SSH, err);
			return -1;
		}
		return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", NULL,
		    a->ssh_key, NULL);
	}
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && a->token_file) {
		if (file_read_secret(a->token_file, 4096, 1, &token, &len, err) < 0) {
			git_error_set_str(GIT_ERROR_NET, err);
			return -1;
		}
		while (len && (token[len - 1] == '\n' || token[len - 1] == '\r'))
			token[--len] = '\0';
		rc = git_credential_userpass_plaintext_new(out, a->token_user ? a->token_user :
		    "x-access-token", token);
		secret_free(token, len);
		return rc;
	}
	return GIT_PASSTHROUGH;
}

/* The server's raw host key must appear, base64-encoded, on a line of the
 * known_hosts file naming that host (plain host names; hashed entries are not
 * read). */
static int
hostkey_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	const struct gitsrc_auth *a = ((struct gitsrc__cbdata *)payload)->auth;
	git_cert_hostkey *hk = (git_cert_hostkey *)cert;
	char *data = NULL, *line, *save = NULL, err[ERR_LEN];
	unsigned char *b64 = NULL;
	size_t len;
	int ok = 0;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return valid ? 0 : GIT_PASSTHROUGH;
	if (!a || !a->known_hosts) {
		git_error_set_str(GIT_ERROR_SSH, "ssh remotes need a known_hosts file "
		    "(git.known_hosts in the config)");
		return GIT_ECERTIFICATE;
	}
	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		git_error_set_str(GIT_ERROR_SSH, "the ssh server sent no raw host key");
		return GIT_ECERTIFICATE;
	}
	if (file_read(a->known_hosts, 1 << 20, &data, &len, err) < 0) {
		git_error_set_str(GIT_ERROR_SSH, err);
		return GIT_ECERTIFICATE;
	}
	b64 = xmalloc(4 * ((hk->hostkey_len + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)hk->hostkey, (int)hk->hostkey_len);
	for (line = strtok_r(data, "\n", &save); line && !ok; line = strtok_r(NULL, "\n", &save)) {
		char hosts[512], type[64], key[8192];

		if (line[0] == '#' || sscanf(line, "%511s %63s %8191s", hosts, type, key) != 3)
			continue;
		if (strcmp(key, (char *)b64) != 0)
			continue;
		for (char *h = hosts, *next; h; h = next) {
			char *port;

			if ((next = strchr(h, ',')))
				*next++ = '\0';
			if (h[0] == '[' && (port = strchr(h, ']'))) {
				*port = '\0';
				h++;
			}
			if (strcmp(h, host) == 0)
				ok = 1;
		}
	}
	free(b64);
	free(data);
	if (!ok) {
		git_error_set_str(GIT_ERROR_SSH, "the ssh host key is not in the known_hosts file");
		return GIT_ECERTIFICATE;
	}
	return 0;
}

void
gitsrc__callbacks(git_remote_callbacks *cb, struct gitsrc__cbdata *data)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = cred_cb;
	cb->certificate_check = hostkey_cb;
	cb->payload = data;
}

/* --- the daemon's bare clone ---------------------------------------------- */

static int
clone_init(struct gitsrc *g, char *err)
{
	git_remote_free(g->remote);
	g->remote = NULL;
	git_repository_free(g->repo);
	g->repo = NULL;
	rmtree(g->dir);
	if (git_repository_init(&g->repo, g->dir, 1) < 0)
		return gitsrc__giterr(err, g->dir);
	if (git_remote_create_with_fetchspec(&g->remote, g->repo, "origin", g->url,
	    "+refs/heads/*:refs/remotes/origin/*") < 0)
		return gitsrc__giterr(err, "creating the remote");
	return 0;
}

int
gitsrc_open(struct gitsrc **out, const char *dir, const char *url,
    const struct gitsrc_auth *auth, char *err)
{
	struct gitsrc *g = xcalloc(1, sizeof(*g));

	gitsrc_init();
	*out = NULL;
	g->dir = xstrdup(dir);
	g->url = xstrdup(url);
	g->shown = url_redact(url);
	if (auth)
		g->auth = *auth;
	/* A clone that cannot be opened, or that tracks another URL, is rebuilt:
	 * it is a cache of the remote, never the truth. */
	if (git_repository_open_bare(&g->repo, dir) < 0 ||
	    git_remote_lookup(&g->remote, g->repo, "origin") < 0 ||
	    strcmp(git_remote_url(g->remote), url) != 0) {
		if (clone_init(g, err) < 0) {
			gitsrc_free(g);
			return -1;
		}
	}
	*out = g;
	return 0;
}

void
gitsrc_free(struct gitsrc *g)
{
	if (!g)
		return;
	git_remote_free(g->remote);
	git_repository_free(g->repo);
	free(g->dir);
	free(g->url);
	free(g->shown);
	free(g);
}

static int
remote_head(struct gitsrc *g, git_remote *r, const char *branch, git_oid *oid, char *err)
{
	struct gitsrc__cbdata data = { &g->auth, NULL };
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
	struct gitsrc__cbdata data = { &g->auth, NULL };
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

int
gitsrc_poll(struct gitsrc *g, const char *branch, char commit[41], int *fetched, char *err)
{
	git_oid want, have;
	char *local = xasprintf("refs/remotes/origin/%s", branch);
	int rc = -1;

	*fetched = 0;
	if (remote_head(g, g->remote, branch, &want, err) < 0)
		goto out;
	if (git_reference_name_to_id(&have, g->repo, local) < 0 || !git_oid_equal(&have, &want)) {
		git_commit *c = NULL;

		if (fetch(g, g->remote, branch, err) < 0) {
			/* A corrupt clone fails here too: rebuild it once and retry. */
			char e2[ERR_LEN];

			if (clone_init(g, e2) < 0 || fetch(g, g->remote, branch, e2) < 0)
				goto out;
		}
		*fetched = 1;
		if (git_commit_lookup(&c, g->repo, &want) < 0) {
			gitsrc__giterr(err, "the fetched head is not a commit");
			goto out;
		}
		git_commit_free(c);
	}
	git_oid_tostr(commit, 41, &want);
	rc = 0;
out:
	free(local);
	return rc;
}

int
gitsrc_blob(struct gitsrc *g, const char *commit, const char *path, size_t max, char **data,
    size_t *len, char *err)
{
	git_commit *c = NULL;
	git_oid oid;
	int rc;

	*data = NULL;
	if (git_oid_fromstr(&oid, commit) < 0 || git_commit_lookup(&c, g->repo, &oid) < 0)
		return gitsrc__giterr(err, commit);
	rc = read_path(g->repo, c, path, max, data, len, err);
	git_commit_free(c);
	return rc;
}

char *
gitsrc_subject(struct gitsrc *g, const char *commit)
{
	git_oid oid;
	git_commit *c = NULL;
	char *s = NULL;

	if (git_oid_fromstr(&oid, commit) == 0 && git_commit_lookup(&c, g->repo, &oid) == 0) {
		const char *sum = git_commit_summary(c);

		s = sum ? xstrdup(sum) : NULL;
	}
	git_commit_free(c);
	return s;
}
