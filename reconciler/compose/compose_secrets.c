/*
 * compose_secrets: the secret files the operator must create (one name per
 * content, listed at the end of the manifest), the files mounted in each
 * service, and Compose's own `secrets:` of a service.
 */
#include "compose_int.h"
#include "manifest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* --- the secret files ----------------------------------------------------- */

/* The secret file for a variable: its name lowercased (DB_PASSWORD ->
 * db_password). NULL when that is not a usable file name. */
char *
compose__var_secret_name(const char *var)
{
	char *s;

	while (*var == '_')
		var++;
	s = xstrdup(var);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!manifest_secret_name_ok(s)) {
		free(s);
		return NULL;
	}
	return s;
}

/* Registers the secret file `want` holding `what` and returns the name to
 * use (borrowed): the same name for the same content; another one (prefixed
 * with the service) when the name is taken by something else. */
const char *
compose__secret_add(struct cctx *c, const char *want, const char *what, const char *service)
{
	char *name = xstrdup(want);

	for (int attempt = 0; attempt < 100; attempt++) {
		size_t i;

		for (i = 0; i < c->nsecrets; i++)
			if (strcmp(c->secrets[i].name, name) == 0)
				break;
		if (i < c->nsecrets && strcmp(c->secrets[i].what, what) == 0) {
			free(name);
			return c->secrets[i].name;
		}
		if (i == c->nsecrets && manifest_secret_name_ok(name)) {
			c->secrets = xrealloc(c->secrets, (c->nsecrets + 1) * sizeof(*c->secrets));
			c->secrets[c->nsecrets].name = name;
			c->secrets[c->nsecrets].what = xstrdup(what);
			return c->secrets[c->nsecrets++].name;
		}
		free(name);
		name = attempt == 0 ? xasprintf("%s_%s", service, want) :
		    xasprintf("%s_%s-%d", service, want, attempt + 1);
	}
	free(name);
	return NULL;
}

const char *
compose__var_secret(struct cctx *c, const char *var, const char *service)
{
	char *want = compose__var_secret_name(var), *what;
	const char *name;

	if (!want)
		return NULL;
	what = xasprintf("${%s}", var);
	name = compose__secret_add(c, want, what, service);
	free(what);
	free(want);
	return name;
}

/* --- mounts --------------------------------------------------------------- */

/* Mounts a secret file in the service (once per target). */
void
compose__mount_add(struct csvc *s, const char *source, const char *target, const char *mode)
{
	char *t = target ? xstrdup(target) : xasprintf("/run/secrets/%s", source);

	for (size_t i = 0; i < s->nmounts; i++) {
		if (strcmp(s->mounts[i].target, t) == 0) {
			free(t);
			return;
		}
	}
	s->mounts = xrealloc(s->mounts, (s->nmounts + 1) * sizeof(*s->mounts));
	s->mounts[s->nmounts].source = xstrdup(source);
	s->mounts[s->nmounts].target = t;
	s->mounts[s->nmounts].mode = mode ? xstrdup(mode) : NULL;
	s->nmounts++;
}

/* The service's secrets: section, from the files mounted in it. */
void
compose__put_mounts(struct csvc *s)
{
	struct buf *b = &s->sec[S_SECRETS];

	buf_adds(b, "    secrets:\n");
	for (size_t i = 0; i < s->nmounts; i++) {
		struct cmount *m = &s->mounts[i];
		char *def = xasprintf("/run/secrets/%s", m->source);

		if (strcmp(m->target, def) == 0 && !m->mode) {
			buf_adds(b, "      - ");
			compose__put_scalar(b, m->source);
		} else {
			buf_adds(b, "      - {source: ");
			compose__put_flow_item(b, m->source);
			buf_adds(b, ", target: ");
			compose__put_quoted(b, m->target);
			if (m->mode)
				buf_addf(b, ", mode: %s", m->mode);
			buf_adds(b, "}");
		}
		buf_adds(b, "\n");
		free(def);
	}
}

/* --- services: secrets ---------------------------------------------------- */

/* A file mode as the manifest reads it: octal digits, at most 0777. */
static int
mode_ok(const char *s)
{
	if (strncmp(s, "0o", 2) == 0)
		s += 2;
	return *s && strlen(s) <= 6 && strspn(s, "01234567") == strlen(s) &&
	    strtol(s, NULL, 8) <= 0777;
}

/* secrets: Compose's file/environment secrets become files in the secrets
 * directory, mounted where Compose mounts them. */
void
compose__conv_secrets(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	if (n->type != YT_SEQ) {
		compose__report(c, n, path, L_UNMAPPED, "expected a list, found %s", yt_type_name(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *it = n->items[i], *src = it, *def;
		char *p = yt_path_idx(path, i), *target = NULL, *what = NULL;
		const char *mode = NULL, *name;

		if (it->type == YT_MAP) {
			const struct yt_node *t = yt_get(it, "target"), *m = yt_get(it, "mode");

			src = yt_get(it, "source");
			for (size_t k = 0; k < it->n; k++) {
				const char *kk = it->keys[k]->type == YT_SCALAR ? it->keys[k]->value : "?";

				if (strcmp(kk, "uid") == 0 || strcmp(kk, "gid") == 0) {
					char *kp = yt_path_key(p, kk);

					compose__report(c, it->keys[k], kp, L_UNMAPPED, "secret files keep the host "
					    "file's owner: chown it in the secrets directory");
					free(kp);
				}
			}
			if (compose__str_of(t))
				target = t->value[0] == '/' ? xstrdup(t->value) :
				    xasprintf("/run/secrets/%s", t->value);
			if (m && yt_kind(m) == YT_KIND_INT && mode_ok(m->value))
				mode = m->value;
			else if (m)
				compose__report(c, m, p, L_UNMAPPED, "expected a file mode in octal digits");
		}
		if (!compose__str_of(src) || !manifest_secret_name_ok(src->value)) {
			compose__report(c, it, p, L_UNMAPPED, "expected a secret name the secrets directory can "
			    "hold (letters, digits, '.', '_', '-')");
			goto next;
		}
		def = c->top_secrets ? yt_get(c->top_secrets, src->value) : NULL;
		if (!def) {
			compose__report(c, src, p, L_UNMAPPED, "secret '%s' is not declared under the top-level "
			    "'secrets'", src->value);
			goto next;
		}
		if (compose__str_of(yt_get(def, "file")))
			what = xasprintf("copy of %s", yt_get(def, "file")->value);
		else if (compose__str_of(yt_get(def, "environment")))
			what = xasprintf("${%s}", yt_get(def, "environment")->value);
		else
			what = xasprintf("the secret '%s'", src->value);
		if ((name = compose__secret_add(c, src->value, what, s->name))) {
			compose__mount_add(s, name, target, mode);
			compose__report(c, src, p, L_SECRET, "secret '%s' is mounted from the file %s of the "
			    "secrets directory", src->value, name);
		}
next:
		free(what);
		free(target);
		free(p);
	}
}
