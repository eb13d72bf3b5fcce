/*
 * manifest: the fleet section, the hosts whose reconcilerd follows this same
 * repository, each by its name (the `host` of its config) and the address of
 * its read-only listener. `reconcilerctl fleet status` reads them, and a host
 * a service moves away from reads them to learn when the new host serves it
 * (docs/fleet.md).
 */
#include "manifest_int.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int
manifest_host_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

/* http://HOST[:PORT][/PATH] or https://…: no blanks, no credentials (a
 * status page is read without any, and a secret does not belong here). */
static int
url_ok(const char *u)
{
	const char *rest = strncmp(u, "http://", 7) == 0 ? u + 7 :
	    strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
	size_t host;

	if (!rest || !*rest || strlen(u) > 512)
		return 0;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\')
			return 0;
	host = strcspn(rest, "/?#");
	return host > 0 && !memchr(rest, '@', host);
}

static void
parse_host(struct mf__ctx *c, struct mf_fleet_host *h, const struct yt_node *v, const char *p)
{
	static const char *const keys[] = { "url", NULL };
	const struct yt_node *u;
	char *up;

	if (!mf__is_map(c, v, p))
		return;
	mf__check_keys(c, v, p, keys);
	if (!(u = yt_get(v, "url"))) {
		mf__missing(c, v, p, "url");
		return;
	}
	up = yt_path_key(p, "url");
	if ((h->url = mf__get_str(c, u, up)) && !url_ok(h->url)) {
		mf__err_at(c, u, up, "invalid url '%s' (expected the address of the host's read-only "
		    "listener, http://HOST:PORT, without credentials)", h->url);
		free(h->url);
		h->url = NULL;
	}
	free(up);
	/* the address is compared without a trailing slash */
	while (h->url && strlen(h->url) > 8 && h->url[strlen(h->url) - 1] == '/')
		h->url[strlen(h->url) - 1] = '\0';
}

void
mf__parse_fleet(struct mf__ctx *c, const struct yt_node *n)
{
	struct manifest *m = c->m;

	if (!mf__is_map(c, n, "fleet"))
		return;
	MF__FOR_KEYS(n, "fleet", key, v, p) {
		struct mf_fleet_host *h = MF__GROW(m->fleet, m->nfleet);

		h->name = xstrdup(key);
		if (!manifest_host_name_ok(key))
			mf__err_at(c, n->keys[key_i], p, "invalid host name '%s' (1-63 letters, digits, "
			    "'.', '_', '-', starting with a letter or digit: the host of its daemon's "
			    "config)", key);
		parse_host(c, h, v, p);
	}
}

void
mf__fleet_release(struct manifest *m)
{
	for (size_t i = 0; i < m->nfleet; i++) {
		free(m->fleet[i].name);
		free(m->fleet[i].url);
	}
	free(m->fleet);
}
