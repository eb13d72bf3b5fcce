/*
 * gitsrc internals: what gitsrc.c (reading, the daemon's clone, credentials)
 * shares with gitpush.c (commit and push) and with nobody else. gitsrc.h is
 * the module's API.
 */
#ifndef RECONCILER_GITSRC_INT_H
#define RECONCILER_GITSRC_INT_H

#include <git2.h>

#include "gitsrc.h"

/* libgit2 gives every callback of a remote one payload. */
struct gitsrc__cbdata {
	const struct gitsrc_auth *auth;
	char *push_err;
};

/* err from libgit2's last error, about what (a URL loses its password or
 * token); always -1. */
int gitsrc__giterr(char *err, const char *what);
/* A remote's callbacks: credentials from data->auth, and the ssh host key
 * checked against its known_hosts file. */
void gitsrc__callbacks(git_remote_callbacks *cb, struct gitsrc__cbdata *data);

#endif
