/*
 * cli_git: the Git options set-image and update-images share (--commit, -m,
 * --author, --sign, --push, --remote and the push credentials), read in one
 * place, and the commit and push they ask for.
 */
#ifndef RECONCILER_CLI_GIT_H
#define RECONCILER_CLI_GIT_H

#include <getopt.h>

#include "gitsrc.h"

enum { CLI_GIT_COMMIT = 300, CLI_GIT_PUSH, CLI_GIT_AUTHOR, CLI_GIT_REMOTE, CLI_GIT_TOKEN,
	CLI_GIT_SSHKEY, CLI_GIT_KNOWN, CLI_GIT_SIGN, CLI_GIT_LAST };

/* The long options, for a command's own table (-m is "m:" in its short ones). */
#define CLI_GIT_OPTIONS \
	{ "commit", no_argument, NULL, CLI_GIT_COMMIT }, \
	{ "push", no_argument, NULL, CLI_GIT_PUSH }, \
	{ "message", required_argument, NULL, 'm' }, \
	{ "author", required_argument, NULL, CLI_GIT_AUTHOR }, \
	{ "remote", required_argument, NULL, CLI_GIT_REMOTE }, \
	{ "token-file", required_argument, NULL, CLI_GIT_TOKEN }, \
	{ "ssh-key", required_argument, NULL, CLI_GIT_SSHKEY }, \
	{ "known-hosts", required_argument, NULL, CLI_GIT_KNOWN }, \
	{ "sign", required_argument, NULL, CLI_GIT_SIGN }

struct cli_git {
	int commit, push;
	const char *message, *remote, *sign, *author;
	char *author_name, *author_email;
	struct gitsrc_auth auth;
};

/* 1 when c (getopt_long's answer) was one of the Git options, else 0. */
int cli_git_option(struct cli_git *g, int c, const char *arg);
/* After the options: -1 (usage) when --author is not "Name <email>". */
int cli_git_check(struct cli_git *g);
void cli_git_release(struct cli_git *g);
/* Commits file with msg (g->message wins) on HEAD's branch, or on branch when
 * not NULL, and pushes it when asked (a branch always). Prints what it did;
 * errors go to stderr as "reconcilerctl CMD: ...". 0 or -1. */
int cli_git_commit_push(struct cli_git *g, const char *cmd, const char *file, const char *msg,
    const char *branch);

#endif
