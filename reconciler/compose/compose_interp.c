/*
 * compose_interp: ${VAR} interpolation as Compose reads it ($VAR, ${VAR},
 * ${VAR:-default}, ${VAR:?error}, ${VAR:+alt}, $$), split into literal text
 * and variables. The manifest reads no variables of the host: the callers
 * make each variable a secret file, or report it.
 */
#include "compose_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void
compose__interp_release(struct cinterp *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->v[i].text);
		free(in->v[i].var);
	}
	free(in->v);
	memset(in, 0, sizeof(*in));
}

static void
interp_push(struct cinterp *in, char *text, char *var)
{
	in->v = xrealloc(in->v, (in->n + 1) * sizeof(*in->v));
	memset(&in->v[in->n], 0, sizeof(*in->v));
	in->v[in->n].text = text;
	in->v[in->n].var = var;
	if (var)
		in->nvars++;
	in->n++;
}

static int
var_start(char ch)
{
	return isalpha((unsigned char)ch) || ch == '_';
}

static int
var_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Splits s into literal text and variable references as Compose reads them.
 * -1 with why filled on a malformed reference. */
int
compose__interp_parse(const char *s, struct cinterp *out, char *why)
{
	struct buf lit;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&lit, 0);
	while (s[i]) {
		size_t j, k;
		int depth;

		if (s[i] != '$') {
			buf_add(&lit, &s[i++], 1);
			continue;
		}
		if (s[i + 1] == '$') {
			buf_adds(&lit, "$");
			i += 2;
			continue;
		}
		if (s[i + 1] != '{' && !var_start(s[i + 1])) {
			buf_adds(&lit, "$");	/* a lone '$' is kept */
			i++;
			continue;
		}
		if (lit.len)
			interp_push(out, buf_detach(&lit, NULL), NULL);
		if (s[i + 1] != '{') {
			for (j = i + 1; var_char(s[j]); j++)
				;
			interp_push(out, NULL, xstrndup(s + i + 1, j - i - 1));
			i = j;
			continue;
		}
		j = i + 2;
		if (!var_start(s[j])) {
			errf(why, "invalid variable reference '%.40s' (expected ${NAME})", s + i);
			goto bad;
		}
		for (k = j; var_char(s[k]); k++)
			;
		interp_push(out, NULL, xstrndup(s + j, k - j));
		if (s[k] == '}') {
			i = k + 1;
			continue;
		}
		if (s[k] == ':')
			k++;
		if (s[k] != '-' && s[k] != '?' && s[k] != '+') {
			errf(why, "invalid variable reference '%.40s' (expected ${NAME}, "
			    "${NAME:-default} or ${NAME:?error})", s + i);
			goto bad;
		}
		out->v[out->n - 1].alt = s[k] == '+';
		out->v[out->n - 1].has_default = s[k] == '-';
		for (depth = 1, k++; s[k] && depth; k++) {
			if (s[k] == '$' && s[k + 1] == '{')
				depth++, k++;
			else if (s[k] == '}')
				depth--;
		}
		if (depth) {
			errf(why, "unterminated variable reference '%.40s'", s + i);
			goto bad;
		}
		i = k;
	}
	if (lit.len || out->n == 0)
		interp_push(out, buf_detach(&lit, NULL), NULL);
	buf_release(&lit);
	return 0;
bad:
	buf_release(&lit);
	compose__interp_release(out);
	return -1;
}

/* The value as a reader should see it: literal text and ${NAME}, with every
 * default left out (a default may be the secret itself). */
char *
compose__interp_show(const struct cinterp *in)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < in->n; i++) {
		if (in->v[i].var)
			buf_addf(&b, "${%s}", in->v[i].var);
		else
			buf_adds(&b, in->v[i].text);
	}
	return buf_detach(&b, NULL);
}

/* The literal text when s has no variable; NULL (why filled) otherwise. */
char *
compose__literal(const char *s, char *why)
{
	struct cinterp in;
	char *r = NULL, *show;

	if (compose__interp_parse(s, &in, why) < 0)
		return NULL;
	if (in.nvars == 0) {
		r = xstrdup(in.v[0].text);
	} else {
		show = compose__interp_show(&in);
		errf(why, "'%s' needs ${%s}, and the manifest reads no variables of the host "
		    "here: write the value", show, in.v[in.n > 1 && !in.v[0].var ? 1 : 0].var);
		free(show);
	}
	compose__interp_release(&in);
	return r;
}
