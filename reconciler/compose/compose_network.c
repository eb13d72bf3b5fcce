/*
 * compose_network: how a service is reached: its published ports (never a
 * random host port, never one host port twice) and the networks it joins,
 * with their aliases.
 */
#include "compose_int.h"
#include "manifest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* --- ports ---------------------------------------------------------------- */

static int
port_num(const char *s, size_t n)
{
	int v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

static int
ip_any(const char *ip)
{
	return strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

/* Adds one published port; reports what the manifest would refuse. */
static void
port_add(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path,
    const char *ip, int host, int cport, const char *proto, char **names, size_t *nn)
{
	int v6 = strchr(ip, ':') != NULL;
	unsigned char addr[16];

	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, addr) != 1) {
		compose__report(c, n, path, L_UNMAPPED, "invalid host IP '%s'", ip);
		return;
	}
	for (size_t i = 0; i < c->nports; i++) {
		struct cport *q = &c->ports[i];

		if (q->port == host && strcmp(q->proto, proto) == 0 && (strcmp(q->ip, ip) == 0 ||
		    ip_any(q->ip) || ip_any(ip))) {
			compose__report(c, n, path, L_UNMAPPED, "host port %d/%s is already published by "
			    "service '%s' (line %d)", host, proto, q->service, q->line);
			return;
		}
	}
	c->ports = xrealloc(c->ports, (c->nports + 1) * sizeof(*c->ports));
	c->ports[c->nports].ip = xstrdup(ip);
	c->ports[c->nports].port = host;
	snprintf(c->ports[c->nports].proto, sizeof(c->ports[c->nports].proto), "%s", proto);
	c->ports[c->nports].service = s->name;
	c->ports[c->nports].line = n->line;
	c->nports++;
	if (ip_any(ip))
		compose__report(c, n, path, L_NOTE, "port %d is published on every interface, as written; if "
		    "only a local proxy needs it, write \"127.0.0.1:%d:%d\"", host, host, cport);
	names[(*nn)++] = ip_any(ip) && !v6 ?
	    xasprintf("%d:%d%s%s", host, cport, strcmp(proto, "tcp") ? "/" : "",
	    strcmp(proto, "tcp") ? proto : "") :
	    xasprintf("%s%s%s:%d:%d%s%s", v6 ? "[" : "", ip, v6 ? "]" : "", host, cport,
	    strcmp(proto, "tcp") ? "/" : "", strcmp(proto, "tcp") ? proto : "");
	s->has_ports = 1;
}

static void
conv_port_short(struct cctx *c, struct csvc *s, const struct yt_node *it, const char *p,
    char **names, size_t *nn)
{
	char why[ERR_LEN], *spec, *ip = NULL, *slash;
	const char *rest, *colon, *proto = "tcp";
	int host, cport;

	if (!compose__text_of(it) || !(spec = compose__literal(it->value, why))) {
		compose__report(c, it, p, L_UNMAPPED, "%s", compose__text_of(it) ? why :
		    "expected a port string");
		return;
	}
	if ((slash = strchr(spec, '/'))) {
		*slash = '\0';
		proto = slash + 1;
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
			compose__report(c, it, p, L_UNMAPPED, "protocol '%s' (the manifest publishes tcp and udp)",
			    proto);
			goto out;
		}
	}
	rest = spec;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (rb && rb[1] == ':') {
			ip = xstrndup(spec + 1, (size_t)(rb - spec - 1));
			rest = rb + 2;
		}
	} else if ((colon = strchr(spec, ':')) && strchr(colon + 1, ':')) {
		ip = xstrndup(spec, (size_t)(colon - spec));
		rest = colon + 1;
	}
	if (strchr(rest, '-')) {
		compose__report(c, it, p, L_UNMAPPED, "port ranges are not supported: publish each port");
		goto out;
	}
	if (!(colon = strchr(rest, ':')) || colon == rest) {
		compose__report(c, it, p, L_UNMAPPED, "no host port: the reconciler never publishes a random "
		    "host port; write HOST_PORT:%s", colon ? colon + 1 : rest);
		goto out;
	}
	host = port_num(rest, (size_t)(colon - rest));
	cport = port_num(colon + 1, strlen(colon + 1));
	if (host < 0 || cport < 0) {
		compose__report(c, it, p, L_UNMAPPED, "invalid port '%s'", it->value);
		goto out;
	}
	port_add(c, s, it, p, ip && *ip ? ip : "0.0.0.0", host, cport, proto, names, nn);
out:
	free(ip);
	free(spec);
}

static void
conv_port_long(struct cctx *c, struct csvc *s, const struct yt_node *it, const char *p,
    char **names, size_t *nn)
{
	const struct yt_node *t = yt_get(it, "target"), *pub = yt_get(it, "published");
	const struct yt_node *ipn = yt_get(it, "host_ip"), *pr = yt_get(it, "protocol");
	const char *ip = compose__str_of(ipn) ? ipn->value : "0.0.0.0";
	const char *proto = compose__str_of(pr) ? pr->value : "tcp";
	int host, cport;

	for (size_t k = 0; k < it->n; k++) {
		const char *kk = it->keys[k]->type == YT_SCALAR ? it->keys[k]->value : "?";

		if (strcmp(kk, "mode") == 0 || strcmp(kk, "name") == 0 ||
		    strcmp(kk, "app_protocol") == 0) {
			char *kp = yt_path_key(p, kk);

			compose__report(c, it->keys[k], kp, L_NOTE, "'%s' has no effect on a single host: left out",
			    kk);
			free(kp);
		} else if (strcmp(kk, "target") != 0 && strcmp(kk, "published") != 0 &&
		    strcmp(kk, "host_ip") != 0 && strcmp(kk, "protocol") != 0) {
			char *kp = yt_path_key(p, kk);

			compose__report(c, it->keys[k], kp, L_UNMAPPED, "not a port key the manifest has");
			free(kp);
		}
	}
	cport = compose__text_of(t) ? port_num(t->value, strlen(t->value)) : -1;
	host = compose__text_of(pub) ? port_num(pub->value, strlen(pub->value)) : -1;
	if (cport < 0 || host < 0) {
		compose__report(c, it, p, L_UNMAPPED, "%s", cport < 0 ?
		    "expected a target port from 1 to 65535" :
		    "no usable published port: the reconciler never publishes a random host port, "
		    "nor ranges");
		return;
	}
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
		compose__report(c, it, p, L_UNMAPPED, "protocol '%s' (the manifest publishes tcp and "
		    "udp)", proto);
		return;
	}
	port_add(c, s, it, p, ip, host, cport, proto, names, nn);
}

void
compose__conv_ports(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	char **names;
	size_t nn = 0;

	if (n->type != YT_SEQ) {
		compose__report(c, n, path, L_UNMAPPED, "expected a list, found %s", yt_type_name(n));
		return;
	}
	names = xcalloc(n->n + 1, sizeof(*names));
	for (size_t i = 0; i < n->n; i++) {
		char *p = yt_path_idx(path, i);

		if (n->items[i]->type == YT_MAP)
			conv_port_long(c, s, n->items[i], p, names, &nn);
		else
			conv_port_short(c, s, n->items[i], p, names, &nn);
		free(p);
	}
	if (nn) {
		buf_adds(&s->sec[S_PORTS], "    ports:\n");
		for (size_t i = 0; i < nn; i++) {
			buf_adds(&s->sec[S_PORTS], "      - ");
			compose__put_quoted(&s->sec[S_PORTS], names[i]);
			buf_adds(&s->sec[S_PORTS], "\n");
		}
	}
	strv_free(names, nn);
}

/* --- networks ------------------------------------------------------------- */

static int
network_known(struct cctx *c, const char *name)
{
	return strcmp(name, "default") == 0 || compose__strv_has(c->networks, c->nnetworks, name);
}

void
compose__conv_networks(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	struct buf *b = &s->sec[S_NETWORKS];
	char **names;
	size_t nn = 0;
	int any_alias = 0;
	struct buf body;

	if (n->type != YT_SEQ && n->type != YT_MAP) {
		compose__report(c, n, path, L_UNMAPPED, "expected a list or a mapping, found %s",
		    yt_type_name(n));
		return;
	}
	names = xcalloc(n->n + 1, sizeof(*names));
	buf_init(&body, 0);
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *kn = n->type == YT_SEQ ? n->items[i] : n->keys[i];
		const struct yt_node *v = n->type == YT_MAP ? n->items[i] : NULL;
		const char *name = compose__str_of(kn);
		char *p = n->type == YT_SEQ ? yt_path_idx(path, i) : yt_path_key(path, name ? name : "?");
		char **aliases = NULL;
		size_t na = 0;

		if (!name || !network_known(c, name) || compose__strv_has(names, nn, name)) {
			compose__report(c, kn, p, L_UNMAPPED, !name ? "expected a network name" :
			    compose__strv_has(names, nn, name) ? "network given twice" :
			    "network '%s' is not declared under the top-level 'networks' (or could not "
			    "be converted)", name ? name : "");
			free(p);
			continue;
		}
		if (v && v->type == YT_MAP) {
			const struct yt_node *al = yt_get(v, "aliases");

			for (size_t k = 0; k < v->n; k++) {
				const char *kk = v->keys[k]->type == YT_SCALAR ? v->keys[k]->value : "?";
				char *kp = yt_path_key(p, kk);

				if (strcmp(kk, "aliases") != 0)
					compose__report(c, v->keys[k], kp, L_UNMAPPED, "'%s' has no equivalent: the "
					    "engine assigns addresses, and the service name is always an alias",
					    kk);
				free(kp);
			}
			if (al && al->type == YT_SEQ) {
				aliases = xcalloc(al->n + 1, sizeof(*aliases));
				for (size_t k = 0; k < al->n; k++) {
					const char *a = compose__str_of(al->items[k]);
					char *ap = xasprintf("%s.aliases[%zu]", p, k);

					if (a && manifest_alias_ok(a) && !compose__strv_has(aliases, na, a))
						aliases[na++] = xstrdup(a);
					else
						compose__report(c, al->items[k], ap, L_UNMAPPED, "alias %s%s%s cannot be "
						    "used (lowercase DNS names only, each once)", a ? "'" : "",
						    a ? a : yt_type_name(al->items[k]), a ? "'" : "");
					free(ap);
				}
			} else if (al && !yt_is_null(al)) {
				compose__report(c, al, p, L_UNMAPPED, "expected a list of aliases");
			}
		} else if (v && !yt_is_null(v)) {
			compose__report(c, v, p, L_UNMAPPED, "expected a mapping or nothing");
		}
		names[nn++] = xstrdup(name);
		buf_adds(&body, "      ");
		compose__put_scalar(&body, name);
		if (na) {
			any_alias = 1;
			buf_adds(&body, ": {aliases: ");
			compose__put_flow_list(&body, aliases, na, 0);
			buf_adds(&body, "}\n");
		} else {
			buf_adds(&body, ":\n");
		}
		strv_free(aliases, na);
		free(p);
	}
	if (nn && any_alias) {
		buf_addf(b, "    networks:\n%s", body.data);
	} else if (nn) {
		buf_adds(b, "    networks: ");
		compose__put_flow_list(b, names, nn, 0);
		buf_adds(b, "\n");
	} else if (n->n) {
		/* every network was refused: the manifest's default is [default] */
		compose__report(c, n, path, L_NOTE, "no network left: the service joins 'default'");
	}
	buf_release(&body);
	strv_free(names, nn);
}
