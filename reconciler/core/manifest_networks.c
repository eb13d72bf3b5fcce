/*
 * manifest: how services reach each other and the outside: a service's
 * published ports and its networks (with aliases), and the top-level
 * networks section with the implicit default network.
 */
#include "manifest_int.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_port_num(const char *s, size_t n, int *out)
{
	int v = 0;

	if (n > 1 && s[0] == '0')	/* 080 is a typo more often than 80 */
		return -2;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = v;
	return 0;
}

static void
parse_port(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	struct mf_port port = { 0 };
	const char *v, *slash, *colon;
	char *spec = NULL, *ip = NULL;
	const char *rest;
	size_t plen;
	int rc;

	if (n->type != YT_SCALAR || yt_is_null(n)) {
		mf__err_at(c, n, path, "expected a port string like \"127.0.0.1:8080:80\", found %s",
		    yt_type_name(n));
		return;
	}
	v = n->value;
	slash = strchr(v, '/');
	snprintf(port.proto, sizeof(port.proto), "tcp");
	if (slash) {
		if (strcmp(slash + 1, "tcp") != 0 && strcmp(slash + 1, "udp") != 0)
			goto bad;
		snprintf(port.proto, sizeof(port.proto), "%s", slash + 1);
	}
	spec = xstrndup(v, slash ? (size_t)(slash - v) : strlen(v));
	if (strchr(spec, '-')) {
		mf__err_at(c, n, path, "port ranges are not supported ('%s'): publish each port", v);
		goto out;
	}
	rest = spec;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			goto bad;
		ip = xstrndup(spec + 1, (size_t)(rb - spec - 1));
		rest = rb + 2;
	} else if ((colon = strchr(spec, ':')) && strchr(colon + 1, ':')) {
		ip = xstrndup(spec, (size_t)(colon - spec));
		rest = colon + 1;
	}
	if (ip) {
		unsigned char addr[16];

		/* [::1]:8443:443 as Compose writes it; an IPv4 address goes bare */
		if (inet_pton(spec[0] == '[' ? AF_INET6 : AF_INET, ip, addr) != 1) {
			mf__err_at(c, n, path, "invalid host IP '%s' in port '%s' (expected an IPv4 "
			    "address, or an IPv6 address in brackets)", ip, v);
			goto out;
		}
	}
	colon = strchr(rest, ':');
	if (!colon)
		goto bad;
	plen = (size_t)(colon - rest);
	if ((rc = parse_port_num(rest, plen, &port.host_port)) == 0)
		rc = parse_port_num(colon + 1, strlen(colon + 1), &port.container_port);
	if (rc == -2) {
		mf__err_at(c, n, path, "invalid port '%s' (port numbers have no leading zeros)", v);
		goto out;
	}
	if (rc < 0)
		goto bad;
	port.host_ip = ip ? ip : xstrdup("0.0.0.0");
	ip = NULL;
	port.line = n->line;
	port.col = n->col;
	*MF__GROW(s->ports, s->nports) = port;
	goto out;
bad:
	mf__err_at(c, n, path, "invalid port '%s' (expected "
	    "[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], ports 1-65535)", v);
out:
	free(ip);
	free(spec);
}

void
mf__parse_ports(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v, const char *p)
{
	if (mf__is_seq(c, v, p)) {
		for (size_t i = 0; i < v->n; i++) {
			char *ip = yt_path_idx(p, i);

			parse_port(c, s, v->items[i], ip);
			free(ip);
		}
	}
}

static void
add_netref(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path,
    const char *name, const struct yt_node *top_networks)
{
	struct mf_netref *r;

	if (strcmp(name, "default") != 0 && !yt_get(top_networks, name)) {
		mf__err_at(c, n, path, "network '%s' is not declared under top-level 'networks'", name);
		return;
	}
	r = MF__GROW(s->networks, s->nnetworks);
	r->name = xstrdup(name);
}

void
mf__parse_networks(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path, const struct yt_node *top_networks)
{
	if (n->type == YT_SEQ) {
		char **names = xcalloc(n->n + 1, sizeof(*names));

		for (size_t i = 0; i < n->n; i++) {
			char *p = yt_path_idx(path, i);

			if ((names[i] = mf__get_str(c, n->items[i], p)))
				add_netref(c, s, n->items[i], p, names[i], top_networks);
			free(p);
		}
		mf__check_dups(c, n, path, names, n->n, "network");
		strv_free(names, n->n);
		return;
	}
	if (!mf__is_map(c, n, path))
		return;
	MF__FOR_KEYS(n, path, key, v, p) {
		size_t before = s->nnetworks;

		add_netref(c, s, n->keys[key_i], p, key, top_networks);
		if (yt_is_null(v) || s->nnetworks == before)
			continue;
		if (mf__is_map(c, v, p)) {
			static const char *const keys[] = { "aliases", NULL };
			const struct yt_node *al = yt_get(v, "aliases");
			struct mf_netref *r = &s->networks[s->nnetworks - 1];

			mf__check_keys(c, v, p, keys);
			if (al) {
				char *ap = yt_path_key(p, "aliases");

				r->aliases = mf__get_str_list(c, al, ap, &r->naliases, NULL);
				for (size_t i = 0; i < r->naliases; i++) {
					if (!mf__alias_ok(r->aliases[i])) {
						char *ip = yt_path_idx(ap, i);

						mf__err_at(c, al->items[i], ip, "invalid alias '%s' (names of "
						    "lowercase letters, digits, '_', '-', joined by '.')",
						    r->aliases[i]);
						free(ip);
					}
				}
				if (r->aliases)
					mf__check_dups(c, al, ap, r->aliases, r->naliases, "alias");
				free(ap);
			}
		}
	}
}

void
mf__parse_networks_top(struct mf__ctx *c, const struct yt_node *n)
{
	static const char *const keys[] = { "driver", "internal", "external", "name", NULL };
	struct manifest *m = c->m;

	if (n && mf__is_map(c, n, "networks")) {
		MF__FOR_KEYS(n, "networks", key, v, p) {
			struct mf_network *net = MF__GROW(m->networks, m->nnetworks);

			mf__check_name(c, n->keys[key_i], p, "network");
			net->key = xstrdup(key);
			if (!yt_is_null(v) && mf__is_map(c, v, p)) {
				mf__check_keys(c, v, p, keys);
				MF__FOR_KEYS(v, p, nk, nv, np) {
					if (strcmp(nk, "driver") == 0)
						net->driver = mf__get_name_str(c, nv, np);
					else if (strcmp(nk, "internal") == 0)
						mf__get_bool(c, nv, np, &net->internal);
					else if (strcmp(nk, "external") == 0)
						mf__get_bool(c, nv, np, &net->external);
					else if (strcmp(nk, "name") == 0)
						net->name = mf__get_name_str(c, nv, np);
				}
			}
		}
	}
	/* The implicit default network, when some service uses it. */
	if (!manifest_network(m, "default")) {
		for (size_t i = 0; i < m->nservices; i++) {
			for (size_t j = 0; j < m->services[i].nnetworks; j++) {
				if (strcmp(m->services[i].networks[j].name, "default") == 0) {
					struct mf_network *net = MF__GROW(m->networks, m->nnetworks);

					net->key = xstrdup("default");
					i = m->nservices - 1;
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < m->nnetworks; i++) {
		if (!m->networks[i].driver)
			m->networks[i].driver = xstrdup("bridge");
		if (!m->networks[i].name)
			m->networks[i].name = xasprintf("%s_%s", m->project ? m->project : "",
			    m->networks[i].key);
	}
}
