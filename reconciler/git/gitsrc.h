/*
 * gitsrc: Git with libgit2, never with a work tree on the daemon's side. It
 * reads a file at a commit of any repository, keeps the daemon's bare clone of
 * the watched branch (a cheap ls-remote each poll, a fetch only on change,
 * re-cloned when missing or damaged, the old clone kept until the new one
 * has the branch), and commits and pushes a one-file edit for
 * `reconcilerctl set-image --commit`.
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
 * fetched into a temporary bare repository, with auth's credentials and
 * host-key pinning (gitsrc_read: none). */
int gitsrc_read(const char *url, const char *ref, const char *path, size_t max, char **data,
    size_t *len, char commit[41], char *err);
int gitsrc_read_auth(const char *url, const char *ref, const char *path,
    const struct gitsrc_auth *auth, size_t max, char **data, size_t *len, char commit[41],
    char *err);

/* What gitsrc_blob answers when the clone cannot give an object it should
 * have (a truncated or missing object file): the error names the clone. */
#define GITSRC_DAMAGED (-2)

struct gitsrc;

/* The daemon's bare clone in dir, tracking url. Never fails today: a clone
 * that is missing, does not open or tracks another URL is replaced by the
 * first poll. */
int gitsrc_open(struct gitsrc **out, const char *dir, const char *url,
    const struct gitsrc_auth *auth, char *err);
void gitsrc_free(struct gitsrc *g);
/* Asks the remote for the branch head; fetches only when it moved (force
 * pushes included). *fetched says whether a fetch happened. A clone that
 * cannot fetch or cannot read the head is re-cloned (gitsrc_reclone) and
 * gitsrc_repaired says why. A missing branch or an unreachable remote is an
 * error; the clone is left as it was. */
int gitsrc_poll(struct gitsrc *g, const char *branch, char commit[41], int *fetched, char *err);
/* The file at a commit of the clone: -1 when the commit has no such file,
 * GITSRC_DAMAGED when the clone cannot read it. */
int gitsrc_blob(struct gitsrc *g, const char *commit, const char *path, size_t max, char **data,
    size_t *len, char *err);
/* A fresh clone of the branch beside the old one, which it replaces only
 * once it holds the branch's head; on failure the old one stays. */
int gitsrc_reclone(struct gitsrc *g, const char *branch, char *err);
/* The clone's directory; the head the last poll returned ("" after a failed
 * one); why the last poll re-cloned (NULL: it did not). Borrowed. */
const char *gitsrc_dir(const struct gitsrc *g);
const char *gitsrc_head(const struct gitsrc *g);
const char *gitsrc_repaired(const struct gitsrc *g);
/* The commit's one-line subject (caller frees), NULL if unknown. */
char *gitsrc_subject(struct gitsrc *g, const char *commit);

/* In the work tree holding `file`: stage it, commit on the current branch
 * with the given author (NULL: $GIT_AUTHOR_NAME/EMAIL, else "reconcilerctl")
 * and message, and optionally push that branch to `remote`. */
int gitsrc_commit_file(const char *file, const char *message, const char *author_name,
    const char *author_email, char commit[41], char *err);
/* The same, the commit signed with the ssh private key at sign_key (NULL:
 * unsigned), as `git commit -S` with gpg.format=ssh makes it. */
int gitsrc_commit_file_signed(const char *file, const char *message, const char *author_name,
    const char *author_email, const char *sign_key, char commit[41], char *err);
int gitsrc_push(const char *file, const char *remote, const struct gitsrc_auth *auth, char *err);
/* The same commit made on branch (created, or reset to it: a bot's branch for
 * a pull request) from HEAD's commit; HEAD, its branch and the index stay. */
int gitsrc_commit_file_branch(const char *file, const char *branch, const char *message,
    const char *author_name, const char *author_email, const char *sign_key, char commit[41],
    char *err);
/* Pushes the local branch (NULL: HEAD's) to the same name on remote. A named
 * branch replaces the remote's whatever it holds (for a local remote, only if
 * it still holds what was read just before). */
int gitsrc_push_branch(const char *file, const char *remote, const char *branch,
    const struct gitsrc_auth *auth, char *err);

#endif
