/*
 * manifest: what a service's process is given besides its command: the
 * environment (plain values and secret refs), env files and secret files.
 */
#include "manifest_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void
bad_env_name(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *name)
{
	mf__err_at(c, n, path, "invalid variable name '%s' (expected a letter or '_', then letters, "
	    "digits, '_', '.' or '-')", name);
}

void
mf__parse_env(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n, const char *path)
{
	if (n->type == YT_SEQ) {
		char **names = xcalloc(n->n + 1, sizeof(*names));

		for (size_t i = 0; i < n->n; i++) {
			char *p = yt_path_idx(path, i), *str = mf__get_str(c, n->items[i], p), *eq;

			if (str && (eq = strchr(str, '=')) && eq != str) {
				char *name = xstrndup(str, (size_t)(eq - str));

				if (mf__env_name_ok(name)) {
					struct mf_env *e = MF__GROW(s->env, s->nenv);

					e->name = xstrdup(name);
					e->value = xstrdup(eq + 1);
					names[i] = name;
				} else {
					bad_env_name(c, n->items[i], p, name);
					free(name);
				}
			} else if (str) {
				mf__err_at(c, n->items[i], p,
				    "expected NAME=VALUE, found '%s' (a value is required)", str);
			}
			free(str);
			free(p);
		}
		mf__check_dups(c, n, path, names, n->n, "variable");
		strv_free(names, n->n);
		return;
	}
	if (!mf__is_map(c, n, path))
		return;
	MF__FOR_KEYS(n, path, key, v, p) {
		struct mf_env e = { 0 };

		if (!mf__env_name_ok(key)) {
			bad_env_name(c, n->keys[key_i], p, key);
			continue;
		}
		if (v->type == YT_SCALAR) {
			/* 8080 and true are taken as written; null is the empty string */
			e.value = mf__get_text(c, v, p, 1);
		} else if (v->type == YT_MAP) {
			static const char *const keys[] = { "secret", NULL };
			const struct yt_node *sn = yt_get(v, "secret");

			/* Without `secret` it is not a secret ref at all: one error. */
			if (!sn) {
				mf__err_at(c, v, p, "expected a string or a secret ref {secret: NAME}");
				continue;
			}
			mf__check_keys(c, v, p, keys);
			char *sp = yt_path_key(p, "secret");

			e.secret = mf__get_str(c, sn, sp);
			if (e.secret && !manifest_secret_name_ok(e.secret)) {
				mf__err_at(c, sn, sp, "secret name '%s' must be a plain file name in the "
				    "secrets directory (letters, digits, '.', '_', '-'; no '/' or '..')",
				    e.secret);
				free(e.secret);
				e.secret = NULL;
			}
			free(sp);
			if (!e.secret)
				continue;
		} else {
			mf__err_at(c, v, p, "expected a string or a secret ref {secret: NAME}, found %s",
			    yt_type_name(v));
			continue;
		}
		e.name = xstrdup(key);
		*MF__GROW(s->env, s->nenv) = e;
	}
}

void
mf__parse_env_files(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v,
    const char *p)
{
	s->env_files = mf__get_str_list(c, v, p, &s->nenv_files, NULL);
	for (size_t i = 0; i < s->nenv_files; i++) {
		char *ip = yt_path_idx(p, i);

		mf__check_secret_name(c, v->items[i], ip, s->env_files[i], "env file");
		free(ip);
	}
	if (s->env_files)
		mf__check_dups(c, v, p, s->env_files, s->nenv_files, "env file");
}

void
mf__parse_secrets(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path)
{
	char **targets;

	if (!mf__is_seq(c, n, path))
		return;
	targets = xcalloc(n->n + 1, sizeof(*targets));
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *it = n->items[i];
		char *p = yt_path_idx(path, i);
		struct mf_secret sec = { NULL, NULL, 0400 };

		/* cppcheck-suppress nullPointerRedundantCheck ; items of a sequence are never
		 * NULL: MF__FOR_KEYS below checks its map for the callers that pass yt_get() */
		if (it->type == YT_SCALAR) {
			sec.source = mf__get_str(c, it, p);
			if (sec.source)
				mf__check_secret_name(c, it, p, sec.source, "secret");
		} else if (mf__is_map(c, it, p)) {
			static const char *const keys[] = { "source", "target", "mode", NULL };

			mf__check_keys(c, it, p, keys);
			MF__FOR_KEYS(it, p, key, v, kp) {
				if (strcmp(key, "source") == 0) {
					sec.source = mf__get_str(c, v, kp);
					if (sec.source)
						mf__check_secret_name(c, v, kp, sec.source, "secret");
				} else if (strcmp(key, "target") == 0) {
					sec.target = mf__get_str(c, v, kp);
					if (sec.target && sec.target[0] != '/')
						mf__err_at(c, v, kp, "target must be an absolute path, found '%s'",
						    sec.target);
				} else if (strcmp(key, "mode") == 0) {
					mf__get_mode(c, v, kp, &sec.mode);
				}
			}
			if (!yt_get(it, "source"))
				mf__missing(c, it, p, "source");
		}
		if (sec.source) {
			if (!sec.target)
				sec.target = xasprintf("/run/secrets/%s", sec.source);
			targets[i] = xstrdup(sec.target);
			*MF__GROW(s->secrets, s->nsecrets) = sec;
		} else {
			free(sec.target);
		}
		free(p);
	}
	/* two files cannot be mounted at one path */
	mf__check_dups(c, n, path, targets, n->n, "secret target");
	strv_free(targets, n->n);
}
