/*
 * knownhosts: whether an ssh server's host key is pinned, for that host and
 * port, in the text of an OpenSSH known_hosts file: plain, wildcard, negated
 * and hashed host patterns, `[host]:port` entries, `@revoked` keys. Pure: the
 * caller reads the file.
 */
#ifndef RECONCILER_KNOWNHOSTS_H
#define RECONCILER_KNOWNHOSTS_H

#include <stddef.h>

enum knownhosts_result {
	KNOWNHOSTS_PINNED,	/* a line names the host (at that port) with this key */
	KNOWNHOSTS_UNKNOWN,	/* no line does */
	KNOWNHOSTS_REVOKED,	/* an @revoked line names this key: refused, whatever else says */
};

/* text: the file's contents (len bytes, need not end in a newline); host: the
 * name or address connected to; port: its port (22 matches plain entries,
 * any other only `[host]:port` ones, as ssh does); key_b64: the server's raw
 * key blob, base64-encoded as in the file. `@cert-authority` lines are not
 * host keys and never pin one. */
enum knownhosts_result knownhosts_check(const char *text, size_t len, const char *host, int port,
    const char *key_b64);

/* The port of an ssh URL: ssh://[user@]host[:port]/path (also ssh+git://,
 * git+ssh://) or scp-like [user@]host:path (22). */
int knownhosts_url_port(const char *url);

#endif
