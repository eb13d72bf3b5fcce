/*
 * gitread: the manifest's text at a revision, for the cycle. From the bare
 * clone; a clone that cannot give the head is re-cloned at once; and when
 * neither the clone nor the remote can give a revision, the copy of its text
 * kept in the state dir (manifest-cache/), so self-heal of the last good
 * revision goes on while Git is broken.
 */
#include "daemon_int.h"
#include "gitsrc.h"
#include "log.h"
#include "util.h"
#include "yamltree.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_DIR "manifest-cache"

/* <state>/manifest-cache/<commit>: the manifest's path in the repository on
 * the first line, then its text. */
static char *
kept_path(struct daemon *dm, const char *commit)
{
	return xasprintf("%s/" CACHE_DIR "/%.40s", dm->cfg->state_dir, commit);
}

/* The kept text of commit at the configured path: 0, or -1 when none. */
static int
kept_read(struct daemon *dm, const char *commit, char **text, size_t *len)
{
	char *p = kept_path(dm, commit), *data = NULL, *nl;
	size_t n, plen = strlen(dm->cfg->manifest);
	int rc = -1;

	if (file_read(p, YT_MAX_SIZE + 4096, &data, &n, NULL) == 0 &&
	    (nl = memchr(data, '\n', n)) && (size_t)(nl - data) == plen &&
	    memcmp(data, dm->cfg->manifest, plen) == 0) {
		*len = n - plen - 1;
		*text = xstrndup(nl + 1, *len);
		rc = 0;
	}
	free(data);
	free(p);
	return rc;
}

/* Only the head's and the last good revision's copies are worth keeping. */
static void
kept_prune(struct daemon *dm, const char *commit)
{
	char *dir = xasprintf("%s/" CACHE_DIR, dm->cfg->state_dir);
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *p;

		if (e->d_name[0] == '.' || strcmp(e->d_name, commit) == 0 ||
		    strcmp(e->d_name, dm->cycle.good) == 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (unlink(p) < 0 && errno != ENOENT)
			log_warn("git", "cannot remove '%s': %s", p, strerror(errno));
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
}

void
daemon__manifest_keep(struct daemon *dm, const char *commit, const char *text, size_t len)
{
	char *dir = xasprintf("%s/" CACHE_DIR, dm->cfg->state_dir), *p = kept_path(dm, commit);
	char err[ERR_LEN], *old = NULL;
	size_t oldlen;
	struct buf b;

	buf_init(&b, 0);
	if (kept_read(dm, commit, &old, &oldlen) == 0 && oldlen == len &&
	    memcmp(old, text, len) == 0)
		goto out;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("git", "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	buf_addf(&b, "%s\n", dm->cfg->manifest);
	buf_add(&b, text, len);
	if (file_write_atomic(p, b.data, b.len, 0600, err) < 0) {
		log_warn("git", "keeping the manifest of %.12s: %s", commit, err);
		goto out;
	}
	kept_prune(dm, commit);
out:
	buf_release(&b);
	free(old);
	free(dir);
	free(p);
}

/* The clone cannot give the head the poll just returned: a fresh clone,
 * and the text read again from it. */
static int
repair(struct daemon *dm, const char *commit, char **text, size_t *len, char *err)
{
	struct gitsrc *g = dm->cycle.git;
	char e2[ERR_LEN];

	log_error("git", "%s", err);
	if (strcmp(gitsrc_head(g), commit) != 0)
		return GITSRC_DAMAGED;	/* not the head the remote gave: nothing to clone it from */
	log_warn("git", "re-cloning '%s' from the remote", gitsrc_dir(g));
	if (gitsrc_reclone(g, dm->cfg->branch, e2) < 0) {
		log_error("git", "%s", e2);
		return GITSRC_DAMAGED;
	}
	log_info("git", "re-cloned '%s': the damaged clone is removed", gitsrc_dir(g));
	return gitsrc_blob(g, commit, dm->cfg->manifest, YT_MAX_SIZE, text, len, err);
}

int
daemon__manifest_text(struct daemon *dm, const char *commit, char **text, size_t *len,
    char *err)
{
	int rc = gitsrc_blob(dm->cycle.git, commit, dm->cfg->manifest, YT_MAX_SIZE, text, len,
	    err);

	if (rc == GITSRC_DAMAGED) {
		daemon__repeat_news(dm);	/* a damaged clone is told, even in a repeat */
		rc = repair(dm, commit, text, len, err);
	}
	/* only a clone that cannot read: a commit without the file has no copy */
	if (rc == GITSRC_DAMAGED && kept_read(dm, commit, text, len) == 0) {
		log_warn("git", "revision %.12s: the local clone cannot give its manifest: using "
		    "the copy kept in '%s/" CACHE_DIR "'", commit, dm->cfg->state_dir);
		rc = 0;
	}
	return rc;
}
