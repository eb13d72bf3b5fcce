/*
 * compose_env: a service's environment and env_file. A value that uses a
 * variable of the host becomes a {secret: NAME} ref (the whole value when it
 * is only partly a variable); env files go to the secrets directory.
 */
#include "compose_int.h"
#include "manifest.h"

#include <stdlib.h>
#include <string.h>

struct cenv {
	char *name;
	char *line;		/* rendered value, comment included */
	const struct yt_node *node;
};

static void
env_set(struct cenv **v, size_t *n, const char *name, char *line, const struct yt_node *node,
    struct cctx *c, const char *path)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i].name, name) == 0) {
			compose__report(c, node, path, L_NOTE, "'%s' is given again (first at line %d): the last "
			    "one is kept", name, (*v)[i].node->line);
			free((*v)[i].line);
			(*v)[i].line = line;
			(*v)[i].node = node;
			return;
		}
	}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].line = line;
	(*v)[*n].node = node;
	(*n)++;
}

/* One variable's value (NULL value: passed through from the host). Returns
 * the rendered value, or NULL with a report. */
static char *
env_value(struct cctx *c, struct csvc *s, const char *name, const char *value,
    const struct yt_node *n, const char *path)
{
	struct cinterp in;
	char why[ERR_LEN], *show, *r = NULL;
	const char *sec;
	struct buf b;

	if (!value) {
		if (!(sec = compose__var_secret(c, name, s->name))) {
			compose__report(c, n, path, L_UNMAPPED, "'%s' is passed from the host's environment, and "
			    "no secret file name can be made from it", name);
			return NULL;
		}
		compose__report(c, n, path, L_SECRET, "'%s' is passed from the host's environment: it becomes "
		    "{secret: %s}", name, sec);
		return xasprintf("{secret: %s}", sec);
	}
	if (compose__interp_parse(value, &in, why) < 0) {
		compose__report(c, n, path, L_UNMAPPED, "%s", why);
		return NULL;
	}
	buf_init(&b, 0);
	for (size_t i = 0; i < in.n; i++) {
		if (in.v[i].alt) {
			compose__report(c, n, path, L_UNMAPPED, "${%s:+…} picks a text by whether %s is set on the "
			    "host: write the value", in.v[i].var, in.v[i].var);
			goto out;
		}
	}
	if (in.nvars == 0) {
		compose__put_scalar(&b, in.v[0].text);
		r = buf_detach(&b, NULL);
	} else if (in.n == 1) {
		if ((sec = compose__var_secret(c, in.v[0].var, s->name))) {
			r = xasprintf("{secret: %s}", sec);
			compose__report(c, n, path, L_SECRET, "${%s} becomes {secret: %s}%s", in.v[0].var, sec,
			    in.v[0].has_default ? " (its default is not copied)" : "");
		} else {
			compose__report(c, n, path, L_UNMAPPED, "no secret file name can be made from ${%s}",
			    in.v[0].var);
		}
	} else {
		/* The manifest has no templates: the whole value is the secret. */
		char *want = compose__var_secret_name(name);

		show = compose__interp_show(&in);
		if (want && (sec = compose__secret_add(c, want, show, s->name))) {
			buf_addf(&b, "{secret: %s}", sec);
			compose__put_comment(&b, show);
			r = buf_detach(&b, NULL);
			compose__report(c, n, path, L_SECRET, "'%s' is only partly a variable, and the manifest has "
			    "no templates: the whole value becomes {secret: %s}; write the complete "
			    "value into that file", show, sec);
		} else {
			compose__report(c, n, path, L_UNMAPPED, "no secret file name can be made from '%s'", name);
		}
		free(want);
		free(show);
	}
out:
	buf_release(&b);
	compose__interp_release(&in);
	return r;
}

void
compose__conv_environment(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path)
{
	struct cenv *v = NULL;
	size_t nv = 0;

	if (yt_is_null(n))
		return;
	if (n->type == YT_SEQ) {
		for (size_t i = 0; i < n->n; i++) {
			const struct yt_node *it = n->items[i];
			char *p = yt_path_idx(path, i), *name, *line;
			const char *t = compose__text_of(it), *eq;

			if (!t) {
				compose__report(c, it, p, L_UNMAPPED, "expected NAME=VALUE, found %s",
				    yt_type_name(it));
				free(p);
				continue;
			}
			eq = strchr(t, '=');
			name = eq ? xstrndup(t, (size_t)(eq - t)) : xstrdup(t);
			if (!manifest_env_name_ok(name))
				compose__report(c, it, p, L_UNMAPPED, "invalid variable name '%s'", name);
			else if ((line = env_value(c, s, name, eq ? eq + 1 : NULL, it, p)))
				env_set(&v, &nv, name, line, it, c, p);
			free(name);
			free(p);
		}
	} else if (n->type == YT_MAP) {
		for (size_t i = 0; i < n->n; i++) {
			const struct yt_node *k = n->keys[i], *it = n->items[i];
			const char *name = k->type == YT_SCALAR ? k->value : "?";
			char *p = yt_path_key(path, name), *line;

			if (!manifest_env_name_ok(name))
				compose__report(c, k, p, L_UNMAPPED, "invalid variable name '%s'", name);
			else if (it->type != YT_SCALAR || (!yt_is_null(it) && !compose__text_of(it)))
				compose__report(c, it, p, L_UNMAPPED, "expected a string, number or boolean, found %s",
				    yt_type_name(it));
			else if ((line = env_value(c, s, name, compose__text_of(it), it, p)))
				env_set(&v, &nv, name, line, it, c, p);
			free(p);
		}
	} else {
		compose__report(c, n, path, L_UNMAPPED, "expected a list or a mapping, found %s",
		    yt_type_name(n));
	}
	if (nv)
		buf_adds(&s->sec[S_ENV], "    environment:\n");
	for (size_t i = 0; i < nv; i++) {
		buf_adds(&s->sec[S_ENV], "      ");
		compose__put_scalar(&s->sec[S_ENV], v[i].name);
		buf_addf(&s->sec[S_ENV], ": %s\n", v[i].line);
		free(v[i].name);
		free(v[i].line);
	}
	free(v);
}

/* env_file: the files go to the secrets directory, under their base name. */
void
compose__conv_env_file(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	const struct yt_node *one[1] = { n };
	const struct yt_node *const *items = n->type == YT_SEQ ? (const struct yt_node *const *)n->items :
	    one;
	size_t count = n->type == YT_SEQ ? n->n : 1;
	char **names = xcalloc(count + 1, sizeof(*names));
	size_t nn = 0;

	for (size_t i = 0; i < count; i++) {
		const struct yt_node *it = items[i], *pn = it;
		char *p = n->type == YT_SEQ ? yt_path_idx(path, i) : xstrdup(path), *lit, *want, *what;
		char why[ERR_LEN];
		const char *base, *name;

		if (it->type == YT_MAP) {
			const struct yt_node *req = yt_get(it, "required");

			pn = yt_get(it, "path");
			if (req && yt_kind(req) == YT_KIND_BOOL && strcasecmp(req->value, "false") == 0)
				compose__report(c, req, p, L_NOTE, "the manifest needs every env file: create it, "
				    "even empty");
		}
		if (!compose__str_of(pn)) {
			compose__report(c, it, p, L_UNMAPPED, "expected a file path");
			free(p);
			continue;
		}
		if (!(lit = compose__literal(pn->value, why))) {
			compose__report(c, pn, p, L_UNMAPPED, "%s", why);
			free(p);
			continue;
		}
		base = strrchr(lit, '/') ? strrchr(lit, '/') + 1 : lit;
		while (*base == '.')
			base++;
		want = xstrdup(base);
		what = xasprintf("KEY=VALUE lines, from %s", lit);
		if (!manifest_secret_name_ok(want) || !(name = compose__secret_add(c, want, what, s->name))) {
			compose__report(c, pn, p, L_UNMAPPED, "no env file name can be made from '%s'", lit);
		} else {
			size_t k;

			for (k = 0; k < nn; k++)
				if (strcmp(names[k], name) == 0)
					break;
			if (k == nn)
				names[nn++] = xstrdup(name);
			compose__report(c, pn, p, L_SECRET, "'%s' becomes env_files: [%s]: copy it into the secrets "
			    "directory under that name", lit, name);
		}
		free(what);
		free(want);
		free(lit);
		free(p);
	}
	if (nn) {
		buf_adds(&s->sec[S_ENVFILES], "    env_files: ");
		compose__put_flow_list(&s->sec[S_ENVFILES], names, nn, 0);
		buf_adds(&s->sec[S_ENVFILES], "\n");
	}
	strv_free(names, nn);
}
