/*
 * cli_git: the Git options of set-image and update-images; see cli_git.h.
 */
#include "cli_git.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_author(const char *a, char **name, char **email)
{
	const char *lt = strchr(a, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t n;

	if (!lt || !gt || gt[1])
		return -1;
	n = (size_t)(lt - a);
	while (n && a[n - 1] == ' ')
		n--;
	if (!n)
		return -1;
	*name = xstrndup(a, n);
	*email = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return 0;
}

int
cli_git_option(struct cli_git *g, int c, const char *arg)
{
	switch (c) {
	case CLI_GIT_COMMIT: g->commit = 1; break;
	case CLI_GIT_PUSH: g->push = g->commit = 1; break;
	case 'm': g->message = arg; break;
	case CLI_GIT_AUTHOR: g->author = arg; break;
	case CLI_GIT_REMOTE: g->remote = arg; break;
	case CLI_GIT_TOKEN: g->auth.token_file = arg; break;
	case CLI_GIT_SSHKEY: g->auth.ssh_key = arg; break;
	case CLI_GIT_KNOWN: g->auth.known_hosts = arg; break;
	case CLI_GIT_SIGN: g->sign = arg; g->commit = 1; break;
	default: return 0;
	}
	return 1;
}

int
cli_git_check(struct cli_git *g)
{
	if (g->author && parse_author(g->author, &g->author_name, &g->author_email) < 0)
		return -1;
	return 0;
}

void
cli_git_release(struct cli_git *g)
{
	free(g->author_name);
	free(g->author_email);
	g->author_name = g->author_email = NULL;
}

int
cli_git_commit_push(struct cli_git *g, const char *cmd, const char *file, const char *msg,
    const char *branch)
{
	char err[ERR_LEN] = "", commit[41];

	if (g->message)
		msg = g->message;
	if ((branch ? gitsrc_commit_file_branch(file, branch, msg, g->author_name,
	    g->author_email, g->sign, commit, err) : gitsrc_commit_file_signed(file, msg,
	    g->author_name, g->author_email, g->sign, commit, err)) < 0) {
		fprintf(stderr, "reconcilerctl %s: commit: %s\n", cmd, err);
		return -1;
	}
	printf("committed %.12s%s%s%s: %.*s\n", commit, g->sign ? " (signed)" : "",
	    branch ? " on " : "", branch ? branch : "", (int)strcspn(msg, "\n"), msg);
	if (!g->push && !branch)
		return 0;
	if (gitsrc_push_branch(file, g->remote, branch, &g->auth, err) < 0) {
		fprintf(stderr, "reconcilerctl %s: push: %s\n", cmd, err);
		return -1;
	}
	printf("pushed %s%sto %s\n", branch ? branch : "", branch ? " " : "",
	    g->remote ? g->remote : "origin");
	return 0;
}
