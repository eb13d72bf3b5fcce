/*
 * gitsrc internals: what gitsrc.c (reading, the daemon's clone), gitauth.c
 * (credentials, host keys) and gitpush.c (commit and push) share with each
 * other and with nobody else. gitsrc.h is the module's API.
 */
#ifndef RECONCILER_GITSRC_INT_H
#define RECONCILER_GITSRC_INT_H

#include <git2.h>

#include "gitsrc.h"

/* libgit2 gives every callback of a remote one payload: one per operation
 * (a connect, a fetch, a push), zeroed before it. */
struct gitsrc__cbdata {
	const struct gitsrc_auth *auth;
	const char *url;	/* the remote's: its ssh port picks the known_hosts entry */
	char *push_err;
	int offered;		/* secrets offered: a second request means a refusal */
};

/* err from libgit2's last error, about what (a URL loses its password or
 * token); always -1. */
int gitsrc__giterr(char *err, const char *what);
/* A remote's callbacks (gitauth.c): credentials from data->auth, offered
 * once, and the ssh host key checked against its known_hosts file. */
void gitsrc__callbacks(git_remote_callbacks *cb, struct gitsrc__cbdata *data);

/* The daemon's clone's repository (gitverify.c); borrowed. */
git_repository *gitsrc__repo(struct gitsrc *g);

#endif
