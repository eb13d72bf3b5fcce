/*
 * manifest: the readers every section uses. Errors are reported at the node
 * that is wrong, with its key path; typed getters read a scalar, list, command
 * or key-value mapping under the rules of docs/manifest.md; key checks refuse
 * unknown, missing, duplicate and clashing keys.
 */
#include "manifest_int.h"
#include "strtab.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void __attribute__((format(printf, 4, 5)))
mf__err_at(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg, *epath, *emsg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* Keys and values may hold newlines; an error stays one line. */
	epath = yt_escape(path);
	emsg = yt_escape(msg ? msg : "?");
	diag_add(c->d, n ? n->line : 0, n ? n->col : 0, epath, "%s", emsg);
	free(emsg);
	free(epath);
	free(msg);
}

int
mf__is_map(struct mf__ctx *c, const struct yt_node *n, const char *path)
{
	if (n && n->type == YT_MAP)
		return 1;
	mf__err_at(c, n, path, "expected a mapping, found %s", yt_type_name(n));
	return 0;
}

int
mf__is_seq(struct mf__ctx *c, const struct yt_node *n, const char *path)
{
	if (n && n->type == YT_SEQ)
		return 1;
	mf__err_at(c, n, path, "expected a list, found %s", yt_type_name(n));
	return 0;
}

/* A string in the YAML 1.2 sense: `8080`, `true` and `~` are not strings
 * (quote them to make them one), so that the C validator and the JSON Schema
 * read a manifest the same way. */
char *
mf__get_str(struct mf__ctx *c, const struct yt_node *n, const char *path)
{
	enum yt_kind k = yt_kind(n);

	if (k == YT_KIND_STR)
		return xstrdup(n->value);
	mf__err_at(c, n, path, "expected a string, found %s%s", yt_type_name(n),
	    k == YT_KIND_INT || k == YT_KIND_FLOAT || k == YT_KIND_BOOL ? " (quote it)" : "");
	return NULL;
}

/* Driver and engine names: a string, and not an empty one. */
char *
mf__get_name_str(struct mf__ctx *c, const struct yt_node *n, const char *path)
{
	char *s = mf__get_str(c, n, path);

	if (s && !*s) {
		mf__err_at(c, n, path, "expected a non-empty string");
		free(s);
		s = NULL;
	}
	return s;
}

/* A value taken as its literal text, as Compose does for environment values,
 * labels and driver options: a string, a number or a boolean (`8080`, `true`);
 * null is the empty string when null_ok is set. */
char *
mf__get_text(struct mf__ctx *c, const struct yt_node *n, const char *path, int null_ok)
{
	switch (yt_kind(n)) {
	case YT_KIND_NULL:
		if (null_ok)
			return xstrdup("");
		break;
	case YT_KIND_STR:
	case YT_KIND_INT:
	case YT_KIND_FLOAT:
	case YT_KIND_BOOL:
		return xstrdup(n->value);
	default:
		break;
	}
	mf__err_at(c, n, path, "expected a string, number or boolean, found %s", yt_type_name(n));
	return NULL;
}

int
mf__get_bool(struct mf__ctx *c, const struct yt_node *n, const char *path, int *out)
{
	static const char *const t[] = { "true", "True", "TRUE" }, *const f[] = { "false", "False", "FALSE" };

	if (n && n->type == YT_SCALAR && n->style == YT_PLAIN) {
		for (int i = 0; i < 3; i++) {
			if (strcmp(n->value, t[i]) == 0)
				return *out = 1, 0;
			if (strcmp(n->value, f[i]) == 0)
				return *out = 0, 0;
		}
	}
	mf__err_at(c, n, path, "expected true or false, found %s%s%s%s", n && n->type == YT_SCALAR ?
	    "'" : "", n && n->type == YT_SCALAR ? n->value : yt_type_name(n),
	    n && n->type == YT_SCALAR ? "'" : "", "");
	return -1;
}

int
mf__get_int(struct mf__ctx *c, const struct yt_node *n, const char *path, long lo, long hi,
    int *out)
{
	long long v;

	if (yt_int(n, &v) == 0 && v >= lo && v <= hi) {
		*out = (int)v;
		return 0;
	}
	mf__err_at(c, n, path, "expected an integer from %ld to %ld, found %s%s%s", lo, hi,
	    n && n->type == YT_SCALAR ? "'" : "", n && n->type == YT_SCALAR ? n->value :
	    yt_type_name(n), n && n->type == YT_SCALAR ? "'" : "");
	return -1;
}

/* A duration up to max ms; over it (or past 64 bits) the error names the
 * limit, as docs/manifest.md lists them. */
int
mf__get_duration(struct mf__ctx *c, const struct yt_node *n, const char *path, int64_t max,
    int64_t *out)
{
	long long zero;
	int64_t v;
	char lim[32];

	if (yt_kind(n) == YT_KIND_STR) {
		errno = 0;
		if (duration_parse(n->value, &v) == 0 && v <= max) {
			*out = v;
			return 0;
		}
		if (errno == ERANGE || errno == 0) {
			duration_format(max, lim, sizeof(lim));
			mf__err_at(c, n, path, "duration '%s' is more than the limit of %s", n->value,
			    lim);
			return -1;
		}
	}
	if (yt_int(n, &zero) == 0 && zero == 0) {	/* a plain 0 */
		*out = 0;
		return 0;
	}
	mf__err_at(c, n, path, "invalid duration %s%s%s (expected e.g. 500ms, 10s, 1m30s, 2h)",
	    n && n->type == YT_SCALAR ? "'" : "", n && n->type == YT_SCALAR ? n->value :
	    yt_type_name(n), n && n->type == YT_SCALAR ? "'" : "");
	return -1;
}

/* A file mode in octal digits, as chmod takes it: 0400, 440 or 0o440. YAML 1.2
 * reads 0400 as the integer 400, so the digits are what counts here. */
int
mf__get_mode(struct mf__ctx *c, const struct yt_node *n, const char *path, int *out)
{
	/* cppcheck-suppress nullPointerRedundantCheck ; yt_kind(NULL) is YT_KIND_NULL */
	const char *digits = yt_kind(n) == YT_KIND_INT ? n->value : NULL;
	long v;

	if (digits && strncmp(digits, "0o", 2) == 0)
		digits += 2;
	if (digits && *digits && strspn(digits, "01234567") == strlen(digits) &&
	    (v = strtol(digits, NULL, 8)) <= 0777) {
		*out = (int)v;
		return 0;
	}
	mf__err_at(c, n, path, "expected a file mode in octal digits such as 0400, found %s%s%s",
	    n && n->type == YT_SCALAR ? "'" : "", n && n->type == YT_SCALAR ? n->value :
	    yt_type_name(n), n && n->type == YT_SCALAR ? "'" : "");
	return -1;
}

char **
mf__get_str_list(struct mf__ctx *c, const struct yt_node *n, const char *path, size_t *count,
    struct yt_node ***nodes)
{
	char **v;
	int bad = 0;

	*count = 0;
	if (!mf__is_seq(c, n, path))
		return NULL;
	v = xcalloc(n->n + 1, sizeof(*v));
	if (nodes)
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		*nodes = xcalloc(n->n + 1, sizeof(**nodes));
	for (size_t i = 0; i < n->n; i++) {
		char *p = yt_path_idx(path, i);

		v[i] = mf__get_str(c, n->items[i], p);
		if (!v[i])
			bad = 1;
		if (nodes)
			(*nodes)[i] = n->items[i];
		free(p);
	}
	if (bad) {
		strv_free(v, n->n);
		if (nodes) {
			free(*nodes);
			*nodes = NULL;
		}
		return NULL;
	}
	*count = n->n;
	return v;
}

int
mf__get_cmd(struct mf__ctx *c, const struct yt_node *n, const char *path, struct mf_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	if (yt_kind(n) == YT_KIND_STR) {
		if (n->vlen == 0) {
			mf__err_at(c, n, path, "command must not be empty");
			return -1;
		}
		cmd->set = cmd->shell = 1;
		cmd->argv = xcalloc(2, sizeof(*cmd->argv));
		cmd->argv[0] = xstrdup(n->value);
		cmd->argc = 1;
		return 0;
	}
	if (n && n->type == YT_SEQ) {
		cmd->argv = mf__get_str_list(c, n, path, &cmd->argc, NULL);
		if (!cmd->argv)
			return -1;
		if (cmd->argc == 0) {
			mf__err_at(c, n, path, "command must not be empty");
			return -1;
		}
		cmd->set = 1;
		return 0;
	}
	mf__err_at(c, n, path, "expected a command (a string or a list of strings), found %s",
	    yt_type_name(n));
	return -1;
}

void
mf__cmd_release(struct mf_cmd *cmd)
{
	strv_free(cmd->argv, cmd->argc);
	memset(cmd, 0, sizeof(*cmd));
}

void
mf__kv_free(struct mf_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

const char *
mf__closest(const char *word, const char *const *choices)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	for (size_t i = 0; choices[i]; i++) {
		size_t dist = edit_distance(word, choices[i]);

		if (dist < bestd) {
			bestd = dist;
			best = choices[i];
		}
	}
	if (best && (bestd <= 2 || bestd * 3 <= strlen(best)) && bestd < strlen(word))
		return best;
	return NULL;
}

/* Unknown keys are errors: a typo must never silently mean "use the default". */
void
mf__check_keys(struct mf__ctx *c, const struct yt_node *map, const char *path,
    const char *const *allowed)
{
	if (!map || map->type != YT_MAP)
		return;
	for (size_t i = 0; i < map->n; i++) {
		const struct yt_node *k = map->keys[i];
		const char *hint;
		size_t j;
		char *p;

		for (j = 0; allowed[j]; j++)
			if (strcmp(k->value, allowed[j]) == 0)
				break;
		if (allowed[j])
			continue;
		p = yt_path_key(path, k->value);
		if ((hint = mf__closest(k->value, allowed))) {
			mf__err_at(c, k, p, "unknown key '%s' (did you mean '%s'?)", k->value, hint);
		} else {
			struct buf b;

			buf_init(&b, 0);
			for (j = 0; allowed[j]; j++)
				buf_addf(&b, "%s%s", j ? ", " : "", allowed[j]);
			mf__err_at(c, k, p, "unknown key '%s' (expected one of: %s)", k->value, b.data);
			buf_release(&b);
		}
		free(p);
	}
}

void
mf__missing(struct mf__ctx *c, const struct yt_node *map, const char *path, const char *key)
{
	const struct yt_node *at = map->n ? map->keys[0] : map;
	char *p = yt_path_key(path, key);

	mf__err_at(c, at, p, "missing required key '%s'", key);
	free(p);
}

/* A list entry given twice is a mistake (and Docker refuses most of them): the
 * error is at the second one. v[i] is the key of item i (NULL: skip it). A
 * hash index keeps a list of tens of thousands of entries linear. */
void
mf__check_dups(struct mf__ctx *c, const struct yt_node *seq, const char *path, char *const *v,
    size_t n, const char *what)
{
	struct strtab seen;

	strtab_init(&seen);
	for (size_t i = 0; i < n; i++) {
		size_t j;
		char *p;

		if (!v[i] || !strtab_add(&seen, v[i], i, &j))
			continue;
		p = yt_path_idx(path, i);
		mf__err_at(c, seq->items[i], p, "duplicate %s '%s' (first at line %d)", what, v[i],
		    seq->items[j]->line);
		free(p);
	}
	strtab_release(&seen);
}

static int
kv_key_ok(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *key, int flags)
{
	if (!*key) {
		mf__err_at(c, n, path, "%s must not be empty",
		    flags & MF__KV_LABELS ? "a label key" : "a key");
		return 0;
	}
	if ((flags & MF__KV_LABELS) && strncmp(key, "io.reconciler.", 14) == 0) {
		mf__err_at(c, n, path, "label keys under 'io.reconciler.' are reserved");
		return 0;
	}
	return 1;
}

/* A mapping of keys to values taken as text (labels, log and driver options):
 * strings, numbers and booleans, as Compose reads them. With KV_LIST the list
 * form ["k=v", …] is accepted too; KV_LABELS reserves the io.reconciler. keys. */
struct mf_kv *
mf__get_kv(struct mf__ctx *c, const struct yt_node *n, const char *path, size_t *count, int flags)
{
	struct mf_kv *kv = NULL;
	size_t k = 0;

	*count = 0;
	if ((flags & MF__KV_LIST) && n && n->type == YT_SEQ) {
		char **keys = xcalloc(n->n + 1, sizeof(*keys));

		for (size_t i = 0; i < n->n; i++) {
			char *p = yt_path_idx(path, i), *s = mf__get_str(c, n->items[i], p), *eq;

			if (s && (eq = strchr(s, '='))) {
				char *key = xstrndup(s, (size_t)(eq - s));

				if (kv_key_ok(c, n->items[i], p, key, flags)) {
					struct mf_kv *e = MF__GROW(kv, k);

					e->key = xstrdup(key);
					e->value = xstrdup(eq + 1);
					keys[i] = key;
				} else {
					free(key);
				}
			} else if (s) {
				mf__err_at(c, n->items[i], p, "expected KEY=VALUE, found '%s'", s);
			}
			free(s);
			free(p);
		}
		mf__check_dups(c, n, path, keys, n->n, "label");
		strv_free(keys, n->n);
		*count = k;
		return kv;
	}
	if (!mf__is_map(c, n, path))
		return NULL;
	MF__FOR_KEYS(n, path, key, v, p) {
		char *value;

		if (!kv_key_ok(c, n->keys[key_i], p, key, flags))
			continue;
		if ((value = mf__get_text(c, v, p, 0))) {
			struct mf_kv *e = MF__GROW(kv, k);

			e->key = xstrdup(key);
			e->value = value;
		}
	}
	*count = k;
	return kv;
}

const struct yt_node *
mf__key_node(const struct yt_node *map, const char *key)
{
	return yt_get_key(map, key);
}

/* Exactly one of keys a and b: with both, the error is at the second written
 * (the clash); with neither, where a missing key is reported, under a's path. */
void
mf__both_or_neither(struct mf__ctx *c, const struct yt_node *map, const char *path, const char *a,
    const char *b)
{
	const struct yt_node *ka = mf__key_node(map, a), *kb = mf__key_node(map, b), *at;
	char *p;

	if (!!ka != !!kb)
		return;
	at = !ka ? (map->n ? map->keys[0] : map) : (kb->line > ka->line ||
	    (kb->line == ka->line && kb->col > ka->col)) ? kb : ka;
	p = yt_path_key(path, at == kb ? b : a);
	mf__err_at(c, at, p, "give exactly one of '%s' or '%s'", a, b);
	free(p);
}
