/*
 * compose: Compose file to manifest; see compose.h. The Compose tree is read
 * with yamltree, so every report has the position of the key it is about.
 * Each service is converted into a set of rendered sections first, the global
 * checks (dependency cycles, host ports published twice) drop what the
 * manifest would refuse, and only then is the text assembled and validated.
 * This file runs those passes and converts the file's top level (project,
 * volumes, networks); compose_int.h lists the files that do the rest.
 */
#include "compose.h"
#include "compose_int.h"
#include "manifest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORTS 5000

/* --- reading the tree ----------------------------------------------------- */

/* The text of a scalar that is a string in Compose's eyes (numbers and
 * booleans taken as written); NULL for null, collections and text with NUL. */
const char *
compose__text_of(const struct yt_node *n)
{
	if (!n || n->type != YT_SCALAR || yt_is_null(n) || strlen(n->value) != n->vlen)
		return NULL;
	return n->value;
}

const char *
compose__str_of(const struct yt_node *n)
{
	return yt_kind(n) == YT_KIND_STR ? compose__text_of(n) : NULL;
}

int
compose__strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* --- top level ------------------------------------------------------------ */

/* What the engine takes as a network or volume name. */
static int
engine_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 256 && isalnum((unsigned char)s[0]) &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* volumes: and networks: at the top level. */
static void
conv_top_objects(struct cctx *c, struct buf *b, const struct yt_node *n, const char *section,
    char ***keys, size_t *nkeys)
{
	int is_net = strcmp(section, "networks") == 0;

	if (!n || yt_is_null(n))
		return;
	if (n->type != YT_MAP) {
		compose__report(c, n, section, L_UNMAPPED, "expected a mapping, found %s", yt_type_name(n));
		return;
	}
	*keys = xcalloc(n->n + 1, sizeof(**keys));
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = n->keys[i], *v = n->items[i], *ext, *nm;
		const char *key = compose__str_of(k);
		char *p = yt_path_key(section, key ? key : "?"), *name = NULL;
		int external = 0;
		struct buf body;

		if (!key || !manifest_name_ok(key)) {
			compose__report(c, k, p, L_UNMAPPED, "the manifest names %s with 1-63 lowercase letters, "
			    "digits, '_', '-': rename it here and where it is used", section);
			free(p);
			continue;
		}
		buf_init(&body, 0);
		if (v && v->type == YT_MAP) {
			ext = yt_get(v, "external");
			nm = yt_get(v, "name");
			if (ext && ext->type == YT_MAP && compose__str_of(yt_get(ext, "name")))
				nm = yt_get(ext, "name");	/* the old external: {name: …} */
			external = ext && (ext->type == YT_MAP || (yt_kind(ext) == YT_KIND_BOOL &&
			    strcasecmp(ext->value, "true") == 0));
			if (nm && (!compose__str_of(nm) || !engine_name_ok(nm->value)))
				compose__report(c, nm, p, L_UNMAPPED, "expected an engine name (letters, digits, '_', "
				    "'.', '-')");
			else if (nm)
				name = xstrdup(nm->value);
			for (size_t j = 0; j < v->n; j++) {
				const char *kk = v->keys[j]->type == YT_SCALAR ? v->keys[j]->value : "?";
				const struct yt_node *vv = v->items[j];
				char *kp = yt_path_key(p, kk);

				if (strcmp(kk, "driver") == 0) {
					if (compose__str_of(vv) && *vv->value) {
						buf_adds(&body, "    driver: ");
						compose__put_scalar(&body, vv->value);
						buf_adds(&body, "\n");
					} else {
						compose__report(c, vv, kp, L_UNMAPPED, "expected a driver name");
					}
				} else if (strcmp(kk, "internal") == 0 && is_net) {
					if (yt_kind(vv) == YT_KIND_BOOL)
						buf_addf(&body, "    internal: %s\n",
						    strcasecmp(vv->value, "true") == 0 ? "true" : "false");
					else
						compose__report(c, vv, kp, L_UNMAPPED, "expected true or false");
				} else if (strcmp(kk, "driver_opts") == 0 && !is_net) {
					struct buf ob;

					buf_init(&ob, 0);
					compose__conv_kv(c, &ob, "      ", vv, kp, 0);
					if (ob.len)
						buf_addf(&body, "    driver_opts:\n%s", ob.data);
					buf_release(&ob);
				} else if (strcmp(kk, "external") == 0 || strcmp(kk, "name") == 0) {
					if (strcmp(kk, "external") == 0 && !external && vv->type != YT_MAP &&
					    yt_kind(vv) != YT_KIND_BOOL)
						compose__report(c, vv, kp, L_UNMAPPED, "expected true or false");
				} else {
					compose__report(c, v->keys[j], kp, L_UNMAPPED, "'%s' has no equivalent for %s",
					    kk, section);
				}
				free(kp);
			}
		} else if (v && !yt_is_null(v)) {
			compose__report(c, v, p, L_UNMAPPED, "expected a mapping or nothing, found %s",
			    yt_type_name(v));
		}
		if (external) {
			buf_adds(&body, "    external: true\n");
			if (!name) {
				/* Compose looks an external object up by its key, unprefixed */
				name = xstrdup(key);
				compose__report(c, k, p, L_NOTE, "external: the engine's '%s' is used, as in Compose",
				    key);
			}
		}
		if (name)
			buf_addf(&body, "    name: %s\n", name);
		buf_adds(b, "  ");
		compose__put_scalar(b, key);
		if (body.len)
			buf_addf(b, ":\n%s", body.data);
		else
			buf_adds(b, ":\n");
		(*keys)[(*nkeys)++] = xstrdup(key);
		buf_release(&body);
		free(name);
		free(p);
	}
}

static char *
pick_project(struct cctx *c)
{
	const struct yt_node *nm = yt_get(c->root, "name");
	const char *want = c->o->project;

	if (!want && nm) {
		if (compose__str_of(nm) && manifest_name_ok(nm->value))
			want = nm->value;
		else
			compose__report(c, nm, "name", L_NOTE, "not a usable project name: the directory's name "
			    "is used (or give --project)");
	}
	if (!want)
		want = c->o->default_project;
	if (!want || !manifest_name_ok(want)) {
		compose__report(c, c->root, "", L_ERROR, "no usable project name%s%s%s: give --project NAME "
		    "(1-63 lowercase letters, digits, '_', '-')", want ? " ('" : "", want ? want : "",
		    want ? "')" : "");
		return NULL;
	}
	return xstrdup(want);
}

/* --- the conversion ------------------------------------------------------- */

static void
svc_release(struct csvc *s)
{
	for (int i = 0; i < S_NSECTIONS; i++)
		buf_release(&s->sec[i]);
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].source);
		free(s->mounts[i].target);
		free(s->mounts[i].mode);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->ndeps; i++) {
		free(s->deps[i].name);
		free(s->deps[i].path);
	}
	free(s->deps);
	free(s->path);
}

static void
ctx_release(struct cctx *c)
{
	for (size_t i = 0; i < c->nsvcs; i++)
		svc_release(&c->svcs[i]);
	free(c->svcs);
	for (size_t i = 0; i < c->nsecrets; i++) {
		free(c->secrets[i].name);
		free(c->secrets[i].what);
	}
	free(c->secrets);
	for (size_t i = 0; i < c->nports; i++)
		free(c->ports[i].ip);
	free(c->ports);
	strv_free(c->volumes, c->nvolumes);
	strv_free(c->networks, c->nnetworks);
	free(c->project);
}

/* The output must be a manifest the validator accepts; anything else is a
 * bug here, said as such rather than written out. */
static int
self_check(struct cctx *c, const char *text, size_t len)
{
	struct manifest *m = NULL;
	struct diag d;
	int rc;

	diag_init(&d, "import-compose output");
	rc = manifest_parse(&m, "import-compose output", text, len, &d);
	for (size_t i = 0; i < d.n; i++)
		compose__report(c, NULL, "", L_ERROR, "the converted manifest does not validate, which is a bug "
		    "in import-compose: line %d:%d: %s: %s", d.v[i].line, d.v[i].col, d.v[i].path,
		    d.v[i].msg);
	manifest_free(m);
	diag_release(&d);
	return rc;
}

/* The service names the manifest refuses, and --image for no service:
 * errors that stop the conversion. */
static void
check_services(struct cctx *c, const struct yt_node *svcs)
{
	for (size_t i = 0; i < svcs->n; i++) {
		const char *name = compose__text_of(svcs->keys[i]);
		char *p = yt_path_key("services", name ? name : "?");

		if (!name || !manifest_name_ok(name))
			compose__report(c, svcs->keys[i], p, L_ERROR, "the manifest names services with "
			    "1-63 lowercase letters, digits, '_', '-': rename it (and where it is used)");
		else if (svcs->items[i]->type != YT_MAP)
			compose__report(c, svcs->items[i], p, L_ERROR, "expected a mapping, found %s",
			    yt_type_name(svcs->items[i]));
		free(p);
	}
	for (size_t i = 0; c->o->images && c->o->images[i]; i++) {
		const char *eq = strchr(c->o->images[i], '=');
		char *name = eq ? xstrndup(c->o->images[i], (size_t)(eq - c->o->images[i])) : NULL;

		if (!name || !yt_get(svcs, name))
			compose__report(c, NULL, "", L_ERROR, "--image %s: there is no service '%s'",
			    c->o->images[i], name ? name : c->o->images[i]);
		free(name);
	}
}

int
compose_convert(struct compose_result *out, const char *file, const char *src, size_t len,
    const struct compose_options *opts, struct diag *d)
{
	struct compose_options defaults = COMPOSE_OPTIONS_INIT;
	struct cctx c = { 0 };
	struct yt_doc *doc = NULL;
	const struct yt_node *svcs;
	struct buf b;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&b, 0);
	c.d = d;
	c.o = opts ? opts : &defaults;
	if (!d->max)
		d->max = MAX_REPORTS;
	if (yt_parse(&doc, src, len, d) < 0)
		goto out;
	c.root = doc->root;
	if (!c.root || c.root->type != YT_MAP) {
		compose__report(&c, c.root, "", L_ERROR, "a Compose file is a mapping with 'services', found %s",
		    c.root ? yt_type_name(c.root) : "an empty document");
		goto out;
	}
	svcs = yt_get(c.root, "services");
	if (!svcs || svcs->type != YT_MAP) {
		compose__report(&c, svcs ? svcs : c.root, "services", L_ERROR, "expected a mapping of services, "
		    "found %s", svcs ? yt_type_name(svcs) : "nothing");
		goto out;
	}
	check_services(&c, svcs);
	if (c.failed || !(c.project = pick_project(&c)))
		goto out;
	c.top_volumes = yt_get(c.root, "volumes");
	c.top_networks = yt_get(c.root, "networks");
	c.top_secrets = yt_get(c.root, "secrets");
	if (c.top_secrets && c.top_secrets->type != YT_MAP)
		c.top_secrets = NULL;
	compose__check_top_keys(&c);

	struct buf nets, vols;

	buf_init(&nets, 0);
	buf_init(&vols, 0);
	conv_top_objects(&c, &nets, c.top_networks, "networks", &c.networks, &c.nnetworks);
	conv_top_objects(&c, &vols, c.top_volumes, "volumes", &c.volumes, &c.nvolumes);
	c.svcs = xcalloc(svcs->n + 1, sizeof(*c.svcs));
	for (size_t i = 0; i < svcs->n; i++) {
		struct csvc *s = &c.svcs[c.nsvcs++];

		s->name = svcs->keys[i]->value;
		s->key = svcs->keys[i];
		s->node = svcs->items[i];
		s->path = yt_path_key("services", s->name);
	}
	for (size_t i = 0; i < c.nsvcs; i++)
		compose__conv_service(&c, &c.svcs[i]);
	compose__check_depends(&c);

	compose__write_manifest(&c, &b, file, &nets, &vols);
	buf_release(&nets);
	buf_release(&vols);
	if (c.failed || self_check(&c, b.data, b.len) < 0)
		goto out;
	out->nservices = c.nsvcs;
	out->nunmapped = c.unmapped;
	out->nsecrets = c.nsecrets;
	out->text = buf_detach(&b, &out->len);
	rc = c.unmapped ? 1 : 0;
out:
	diag_sort(d);
	buf_release(&b);
	ctx_release(&c);
	yt_free(doc);
	return rc;
}

void
compose_result_release(struct compose_result *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}

char *
compose_project_name(const char *dirname)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (const char *p = dirname; *p; p++) {
		char ch = (char)tolower((unsigned char)*p);

		if ((isalnum((unsigned char)ch) && !(ch & 0x80)) || ((ch == '_' || ch == '-') && b.len))
			buf_add(&b, &ch, 1);
	}
	s = buf_detach(&b, NULL);
	if (strlen(s) > 63)
		s[63] = '\0';
	if (!*s || !manifest_name_ok(s)) {
		free(s);
		return NULL;
	}
	return s;
}
