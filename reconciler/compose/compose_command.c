/*
 * compose_command: command, entrypoint and healthcheck test. Exec form when
 * no word uses a variable; else a /bin/sh form that reads each variable from
 * its secret file, quoted for where it stands in the shell text.
 */
#include "compose_int.h"
#include "durations.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- shell text ----------------------------------------------------------- */

static void
sh_quote(struct buf *b, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "_./:=@%+,-") == strlen(s)) {
		buf_adds(b, s);
		return;
	}
	buf_adds(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_add(b, s, 1);
	}
	buf_adds(b, "'");
}

#define SECRET_READ "$(cat /run/secrets/%s)"

/* Splits a Compose string command into words as Compose does (quotes and
 * backslashes, no expansion); ${...} stays whole. -1 on an open quote. */
static int
sh_split(const char *s, char ***out, size_t *n)
{
	char **v = NULL;
	size_t nv = 0;
	struct buf w;
	int in_word = 0;

	buf_init(&w, 0);
	for (;;) {
		char ch = *s;

		if (ch == '\0' || ch == ' ' || ch == '\t' || ch == '\n') {
			if (in_word) {
				v = xrealloc(v, (nv + 2) * sizeof(*v));
				v[nv++] = buf_detach(&w, NULL);
				in_word = 0;
			}
			if (!ch)
				break;
			s++;
			continue;
		}
		in_word = 1;
		if (ch == '\'' || ch == '"') {
			const char *end = s + 1;

			while (*end && *end != ch) {
				if (ch == '"' && *end == '\\' && end[1])
					end++;
				end++;
			}
			if (!*end)
				goto bad;
			for (const char *p = s + 1; p < end; p++) {
				if (ch == '"' && *p == '\\' && strchr("\"\\$`", p[1]))
					p++;
				buf_add(&w, p, 1);
			}
			s = end + 1;
		} else if (ch == '\\' && s[1]) {
			buf_add(&w, s + 1, 1);
			s += 2;
		} else if (ch == '$' && s[1] == '{') {
			int depth = 0;

			do {
				if (*s == '{')
					depth++;
				else if (*s == '}')
					depth--;
				buf_add(&w, s++, 1);
			} while (*s && depth > 0);
		} else {
			buf_add(&w, s++, 1);
		}
	}
	buf_release(&w);
	if (v)
		v[nv] = NULL;
	*out = v;
	*n = nv;
	return 0;
bad:
	buf_release(&w);
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	return -1;
}

/* The secret file a variable of a shell form is read from, mounted in the
 * service; NULL (why filled) when it cannot be one. */
static const char *
sh_secret(struct cctx *c, struct csvc *s, const struct cseg *v, char *why)
{
	const char *name;

	if (v->alt || !(name = compose__var_secret(c, v->var, s->name))) {
		errf(why, "${%s%s} cannot become a secret file", v->var, v->alt ? ":+…" : "");
		return NULL;
	}
	compose__mount_add(s, name, NULL, NULL);
	return name;
}

/* One argument as shell text: literal parts quoted, each variable read from
 * its secret file. Returns -1 (why filled) on an unmappable reference. */
static int
sh_word(struct cctx *c, struct csvc *s, struct buf *b, const char *arg, char *why)
{
	struct cinterp in;

	if (compose__interp_parse(arg, &in, why) < 0)
		return -1;
	if (in.n == 1 && in.v[0].text && !*in.v[0].text)
		buf_adds(b, "''");
	for (size_t i = 0; i < in.n; i++) {
		const char *name;

		if (in.v[i].text) {
			if (*in.v[i].text)
				sh_quote(b, in.v[i].text);
			continue;
		}
		if (!(name = sh_secret(c, s, &in.v[i], why))) {
			compose__interp_release(&in);
			return -1;
		}
		buf_adds(b, "\"");
		buf_addf(b, SECRET_READ, name);
		buf_adds(b, "\"");
	}
	compose__interp_release(&in);
	return 0;
}

/* Shell text with variables replaced by reads of their secret files, quoted
 * for where each one stands (outside quotes, in "…", in '…'). */
static int
sh_text(struct cctx *c, struct csvc *s, struct buf *b, const char *text, char *why)
{
	enum { Q_NONE, Q_SINGLE, Q_DOUBLE } q = Q_NONE;
	struct cinterp in;

	if (compose__interp_parse(text, &in, why) < 0)
		return -1;
	for (size_t i = 0; i < in.n; i++) {
		const char *name;

		if (in.v[i].text) {
			for (const char *p = in.v[i].text; *p; p++) {
				if (q != Q_SINGLE && *p == '\\' && p[1]) {
					buf_add(b, p, 2);
					p++;
					continue;
				}
				if (*p == '\'' && q != Q_DOUBLE)
					q = q == Q_SINGLE ? Q_NONE : Q_SINGLE;
				else if (*p == '"' && q != Q_SINGLE)
					q = q == Q_DOUBLE ? Q_NONE : Q_DOUBLE;
				buf_add(b, p, 1);
			}
			continue;
		}
		if (!(name = sh_secret(c, s, &in.v[i], why))) {
			compose__interp_release(&in);
			return -1;
		}
		if (q == Q_SINGLE)
			buf_adds(b, "'\"");
		else if (q == Q_NONE)
			buf_adds(b, "\"");
		buf_addf(b, SECRET_READ, name);
		if (q == Q_SINGLE)
			buf_adds(b, "\"'");
		else if (q == Q_NONE)
			buf_adds(b, "\"");
	}
	compose__interp_release(&in);
	return 0;
}

static size_t
count_vars(const char *s)
{
	struct cinterp in;
	char why[ERR_LEN];
	size_t n;

	if (compose__interp_parse(s, &in, why) < 0)
		return 1;	/* let the caller's own parse report it */
	n = in.nvars;
	compose__interp_release(&in);
	return n;
}

/* --- commands ------------------------------------------------------------- */

/* Reads a command node into argv (Compose's meaning: a list is exec form, a
 * string is split into words). NULL with a report when it is not one. */
static char **
cmd_argv(struct cctx *c, const struct yt_node *n, const char *path, size_t *argc)
{
	char **v;

	if (compose__str_of(n)) {
		if (sh_split(n->value, &v, argc) < 0) {
			compose__report(c, n, path, L_UNMAPPED, "unbalanced quotes in the command");
			return NULL;
		}
		if (!*argc) {
			compose__report(c, n, path, L_UNMAPPED, "the command is empty");
			free(v);
			return NULL;
		}
		return v;
	}
	if (n->type != YT_SEQ || n->n == 0) {
		compose__report(c, n, path, L_UNMAPPED, "expected a command (a string or a list of strings), "
		    "found %s", n->type == YT_SEQ ? "an empty list" : yt_type_name(n));
		return NULL;
	}
	v = xcalloc(n->n + 1, sizeof(*v));
	for (size_t i = 0; i < n->n; i++) {
		if (!compose__text_of(n->items[i])) {
			char *ip = yt_path_idx(path, i);

			compose__report(c, n->items[i], ip, L_UNMAPPED, "expected a string, found %s",
			    yt_type_name(n->items[i]));
			free(ip);
			strv_free(v, i);
			return NULL;
		}
		v[i] = xstrdup(n->items[i]->value);
	}
	*argc = n->n;
	return v;
}

/* Writes a command, entrypoint or healthcheck test given as argv: exec form
 * when no word uses a variable, else a shell form that reads each variable
 * from its secret file. Words before first (CMD, CMD-SHELL) are kept as they
 * are; shell: argv[first] is shell text (a test's CMD-SHELL or plain string). */
static void
put_cmd(struct cctx *c, struct csvc *s, struct buf *b, const struct yt_node *n, const char *path,
    enum ccmd_kind kind, char *const *argv, size_t argc, size_t first, int shell)
{
	static const char *const head[] = {
		[K_COMMAND] = "    command: ", [K_ENTRYPOINT] = "    entrypoint: ",
		[K_TEST] = "      test: ",
	};
	char why[ERR_LEN];
	size_t nvars = 0;
	struct buf sh;
	int ok = 1;

	for (size_t i = first; i < argc; i++)
		nvars += count_vars(argv[i]);
	if (nvars == 0) {
		char **lit = xcalloc(argc + 2, sizeof(*lit));
		size_t m = 0;

		if (shell && first == 0)
			lit[m++] = xstrdup("CMD-SHELL");
		for (size_t i = 0; i < argc; i++)	/* no variables: $$ -> $ */
			lit[m++] = i < first ? xstrdup(argv[i]) : compose__literal(argv[i], why);
		buf_adds(b, head[kind]);
		compose__put_flow_list(b, lit, m, 1);
		buf_adds(b, "\n");
		strv_free(lit, m);
		return;
	}
	if (kind == K_ENTRYPOINT) {
		compose__report(c, n, path, L_UNMAPPED, "the entrypoint uses a variable; a shell-form "
		    "entrypoint would drop the command's arguments: write the value, or read it in "
		    "the image");
		return;
	}
	buf_init(&sh, 0);
	if (kind == K_COMMAND)
		buf_adds(&sh, "exec ");
	if (shell) {
		ok = sh_text(c, s, &sh, argv[first], why) == 0;
	} else {
		for (size_t i = first; i < argc && ok; i++) {
			if (i > first)
				buf_adds(&sh, " ");
			ok = sh_word(c, s, &sh, argv[i], why) == 0;
		}
	}
	if (!ok) {
		compose__report(c, n, path, L_UNMAPPED, "%s", why);
	} else if (kind == K_TEST) {
		buf_adds(b, head[kind]);
		buf_adds(b, "[\"CMD-SHELL\", ");
		compose__put_quoted(b, sh.data);
		buf_adds(b, "]\n");
		compose__report(c, n, path, L_SECRET, "the test uses variables: it runs with /bin/sh and "
		    "reads each one from its secret file");
	} else {
		buf_adds(b, head[kind]);
		compose__put_quoted(b, sh.data);
		buf_adds(b, "\n");
		compose__report(c, n, path, L_SECRET, "the command uses variables: it runs with /bin/sh "
		    "and reads each one from its secret file (the image needs a shell)");
	}
	buf_release(&sh);
}

/* command and entrypoint: exec form, unless a variable is used; then the
 * shell form reads the variable from its secret file. */
void
compose__conv_command(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path,
    enum ccmd_kind kind)
{
	size_t argc = 0;
	char **argv;

	if (yt_is_null(n))
		return;
	if (!(argv = cmd_argv(c, n, path, &argc)))
		return;
	put_cmd(c, s, &s->sec[kind == K_COMMAND ? S_COMMAND : S_ENTRYPOINT], n, path, kind, argv,
	    argc, 0, 0);
	strv_free(argv, argc);
}

/* --- healthcheck ---------------------------------------------------------- */

static void
conv_health_test(struct cctx *c, struct csvc *s, struct buf *b, const struct yt_node *n,
    const char *path)
{
	size_t argc = 0, first = 0;
	char **argv = NULL;
	int shell = 0;

	if (compose__str_of(n)) {
		shell = 1;
		argv = xcalloc(2, sizeof(*argv));
		argv[0] = xstrdup(n->value);
		argc = 1;
	} else if (n->type == YT_SEQ && n->n && compose__text_of(n->items[0])) {
		const char *k = n->items[0]->value;

		if (!(argv = cmd_argv(c, n, path, &argc)))
			return;
		if (strcmp(k, "NONE") == 0) {
			if (argc > 1)
				compose__report(c, n, path, L_NOTE, "the arguments after NONE are ignored");
			buf_adds(b, "      test: [\"NONE\"]\n");
			strv_free(argv, argc);
			return;
		}
		if (strcmp(k, "CMD-SHELL") == 0) {
			if (argc != 2) {
				compose__report(c, n, path, L_UNMAPPED, "CMD-SHELL takes exactly one string");
				strv_free(argv, argc);
				return;
			}
			shell = 1;
			first = 1;
		} else if (strcmp(k, "CMD") == 0) {
			if (argc < 2) {
				compose__report(c, n, path, L_UNMAPPED, "CMD needs a command");
				strv_free(argv, argc);
				return;
			}
			first = 1;
		}
	} else {
		compose__report(c, n, path, L_UNMAPPED, "expected a test (a string, or a list starting with "
		    "CMD, CMD-SHELL or NONE), found %s", yt_type_name(n));
		return;
	}
	put_cmd(c, s, b, n, path, K_TEST, argv, argc, first, shell);
	strv_free(argv, argc);
}

void
compose__conv_healthcheck(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path)
{
	struct buf *b = &s->sec[S_HEALTH];
	const struct yt_node *dis = yt_get(n, "disable");
	size_t start;
	/* the manifest's defaults, for the gate's wait below */
	int64_t interval = 30000, timeout = 30000, start_period = 0, retries = 3;
	int64_t ms, wait = INT64_MAX;

	if (n->type != YT_MAP) {
		compose__report(c, n, path, L_UNMAPPED, "expected a mapping, found %s", yt_type_name(n));
		return;
	}
	buf_adds(b, "    healthcheck:\n");
	start = b->len;
	if (dis && yt_kind(dis) == YT_KIND_BOOL && strcasecmp(dis->value, "true") == 0) {
		buf_adds(b, "      disable: true\n");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->type == YT_SCALAR ? n->keys[i]->value : "?";
		const struct yt_node *v = n->items[i];
		char *p = yt_path_key(path, k);

		if (strcmp(k, "test") == 0) {
			conv_health_test(c, s, b, v, p);
		} else if (strcmp(k, "interval") == 0 || strcmp(k, "timeout") == 0 ||
		    strcmp(k, "start_period") == 0) {
			if ((ms = compose__put_duration(c, b, "      ", k, v, p,
			    DURATIONS_MAX_HEALTH)) > 0)
				*(k[0] == 'i' ? &interval : k[0] == 't' ? &timeout : &start_period) = ms;
		} else if (strcmp(k, "retries") == 0) {
			long long r;

			if (yt_int(v, &r) == 0 && r >= 1 && r <= 1000)
				buf_addf(b, "      retries: %lld\n", (long long)(retries = r));
			else
				compose__report(c, v, p, L_UNMAPPED, "retries must be an integer from 1 to 1000 "
				    "here");
		} else if (strcmp(k, "disable") == 0) {
			if (yt_kind(v) != YT_KIND_BOOL)
				compose__report(c, v, p, L_UNMAPPED, "expected true or false");
		} else if (strcmp(k, "start_interval") == 0) {
			compose__report(c, n->keys[i], p, L_UNMAPPED, "the manifest has no start_interval: the "
			    "interval applies from the start");
		} else {
			compose__report(c, n->keys[i], p, L_UNMAPPED, "not a healthcheck key the manifest has");
		}
		free(p);
	}
	if (!strstr(b->data + start, "      test: ")) {
		/* Without a test the manifest would refuse the block: the image's own
		 * check applies, as it does in Compose when only timings are given. */
		if (b->len > start)
			compose__report(c, n, path, L_UNMAPPED, "timings without a usable test: the image's own "
			    "healthcheck is kept as it is");
		b->len = 0;
		b->data[0] = '\0';
	} else if (durations_gate_wait(start_period, interval, timeout, retries, &wait) < 0 ||
	    wait > DURATIONS_MAX_WAIT) {
		char w[32], lim[32];

		duration_format(wait, w, sizeof(w));
		duration_format(DURATIONS_MAX_WAIT, lim, sizeof(lim));
		compose__report(c, n, path, L_ERROR, "the health gate this healthcheck implies would wait "
		    "up to %s (start_period + (interval + timeout) * retries + 30s), more than the "
		    "manifest's limit of %s: lower them", w, lim);
	}
}
