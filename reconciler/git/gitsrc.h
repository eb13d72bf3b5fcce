/*
 * gitsrc: Git with libgit2, never with a work tree on the daemon's side. It
 * reads a file at a commit of any repository, keeps the daemon's bare clone of
 * the watched branch (a cheap ls-remote each poll, a fetch only on change,
 * re-created when missing or corrupt), and commits and pushes a one-file edit
 * for `reconcilerctl set-image --commit`.
 */
#ifndef RECONCILER_GITSRC_H
#define RECONCILER_GITSRC_H

#include <stddef.h>

/* Credentials: an https token (read from a file, sent as the password) and/or
 * an ssh deploy key with the known_hosts file its server must appear in. */
struct gitsrc_auth {
	const char *token_file;
	const char *token_user;		/* default "x-access-token" */
	const char *ssh_key;		/* private key path */
	const char *known_hosts;	/* required with ssh */
};

void gitsrc_init(void);
/* Releases libgit2's global state (once, at exit). */
void gitsrc_shutdown(void);

/* Reads `path` at `ref` (branch, tag, commit id, or NULL for HEAD) of `url`.
 * A local repository (path or file://) is opened in place; any other URL is
 * fetched into a temporary bare repository. */
int gitsrc_read(const char *url, const char *ref, const char *path, size_t max, char **data,
    size_t *len, char commit[41], char *err);

struct gitsrc;

/* The daemon's bare clone in dir, tracking url (created when missing). */
int gitsrc_open(struct gitsrc **out, const char *dir, const char *url,
    const struct gitsrc_auth *auth, char *err);
void gitsrc_free(struct gitsrc *g);
/* Asks the remote for the branch head; fetches only when it moved (force
 * pushes included). *fetched says whether a fetch happened. A missing branch
 * or an unreachable remote is an error; the clone is left as it was. */
int gitsrc_poll(struct gitsrc *g, const char *branch, char commit[41], int *fetched, char *err);
/* The file at a commit of the clone. */
int gitsrc_blob(struct gitsrc *g, const char *commit, const char *path, size_t max, char **data,
    size_t *len, char *err);
/* The commit's one-line subject (caller frees), NULL if unknown. */
char *gitsrc_subject(struct gitsrc *g, const char *commit);

/* In the work tree holding `file`: stage it, commit on the current branch
 * with the given author (NULL: $GIT_AUTHOR_NAME/EMAIL, else "reconcilerctl")
 * and message, and optionally push that branch to `remote`. */
int gitsrc_commit_file(const char *file, const char *message, const char *author_name,
    const char *author_email, char commit[41], char *err);
int gitsrc_push(const char *file, const char *remote, const struct gitsrc_auth *auth, char *err);

#endif
