/*
 * compose_service: converts one Compose service into the manifest's
 * sections, calling the converter of each key it knows; the small keys
 * (restart, labels, logging, user, working_dir, container_name and
 * stop_grace_period, with Compose's durations) are mapped here; deploy: has
 * compose_deploy.c.
 */
#include "compose_int.h"
#include "durations.h"
#include "manifest.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- durations ------------------------------------------------------------ */

/* A Go duration as Compose writes it ("1m30s", "1.5s", "500ms", "10us") in
 * milliseconds; *lossy when it had a part below the millisecond. */
static int
compose_duration(const char *s, int64_t *ms, int *lossy)
{
	static const struct { const char *u; int64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
		{ "ms", 1000000 }, { "h", 3600000000000LL }, { "m", 60000000000LL },
		{ "s", 1000000000LL },
	};
	const int64_t cap = INT64_C(1) << 60;
	int64_t total = 0;

	*lossy = 0;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -1;
	while (*s) {
		int64_t whole = 0, frac = 0, scale = 1, part;
		int digits = 0;
		size_t u;

		while (isdigit((unsigned char)*s)) {
			if (whole > cap / 10)
				return -1;
			whole = whole * 10 + (*s++ - '0');
			digits++;
		}
		if (*s == '.') {
			s++;
			while (isdigit((unsigned char)*s)) {
				if (scale < 1000000000LL) {
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
				s++;
				digits++;
			}
		}
		if (!digits)
			return -1;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strncmp(s, units[u].u, strlen(units[u].u)) == 0)
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return -1;
		s += strlen(units[u].u);
		if (whole > cap / units[u].ns)
			return -1;
		part = whole * units[u].ns + (int64_t)((double)frac * (double)units[u].ns /
		    (double)scale);
		if (part > cap - total)
			return -1;
		total += part;
	}
	*lossy = total % 1000000 != 0;
	*ms = total / 1000000;
	return 0;
}

/* Writes "key: duration" for a Compose duration node; reports what it cannot. */
int64_t
compose__put_duration(struct cctx *c, struct buf *b, const char *indent, const char *key,
    const struct yt_node *n, const char *path, int64_t max)
{
	char why[ERR_LEN], out[64], *lit;
	int64_t ms;
	int lossy;

	if (!compose__str_of(n)) {
		compose__report(c, n, path, L_UNMAPPED, "expected a duration string such as \"30s\", found %s",
		    yt_type_name(n));
		return -1;
	}
	if (!(lit = compose__literal(n->value, why))) {
		compose__report(c, n, path, L_UNMAPPED, "%s", why);
		return -1;
	}
	if (compose_duration(lit, &ms, &lossy) < 0) {
		compose__report(c, n, path, L_UNMAPPED, "invalid duration '%s' (expected e.g. 10s, 1m30s)", lit);
		free(lit);
		return -1;
	}
	if (ms > max) {
		duration_format(max, out, sizeof(out));
		compose__report(c, n, path, L_UNMAPPED, "duration '%s' is more than the manifest's limit "
		    "of %s", lit, out);
		free(lit);
		return -1;
	}
	if (lossy)
		compose__report(c, n, path, L_NOTE, "'%s' rounded down to the millisecond", lit);
	duration_format(ms, out, sizeof(out));
	buf_addf(b, "%s%s: %s\n", indent, key, out);
	free(lit);
	return ms;
}

/* --- the small keys ------------------------------------------------------- */

static void
conv_restart(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	const char *r = compose__str_of(n);

	if (r && strcmp(r, "on-failure:0") == 0)
		r = "on-failure";	/* Docker: 0 retries is no limit */
	if (!r || !manifest_restart_ok(r)) {
		compose__report(c, n, path, L_UNMAPPED, "restart policy %s%s%s has no equivalent (no, always, "
		    "on-failure[:N], unless-stopped)", r ? "'" : "", r ? r : yt_type_name(n),
		    r ? "'" : "");
		return;
	}
	buf_addf(&s->sec[S_RESTART], "    restart: %s\n", r);
}

/* A map or KEY=VALUE list of text values (labels, log options). */
void
compose__conv_kv(struct cctx *c, struct buf *b, const char *indent, const struct yt_node *n,
    const char *path, int labels)
{
	char **keys, **vals;
	size_t nk = 0, count = n->n;

	if (n->type != YT_MAP && !(labels && n->type == YT_SEQ)) {
		compose__report(c, n, path, L_UNMAPPED, "expected a mapping, found %s", yt_type_name(n));
		return;
	}
	keys = xcalloc(count + 1, sizeof(*keys));
	vals = xcalloc(count + 1, sizeof(*vals));
	for (size_t i = 0; i < count; i++) {
		const struct yt_node *it = n->items[i], *at = it;
		char *key = NULL, *raw = NULL, *val, why[ERR_LEN], *p;

		if (n->type == YT_SEQ) {
			const char *t = compose__text_of(it), *eq = t ? strchr(t, '=') : NULL;

			p = yt_path_idx(path, i);
			if (t) {
				key = eq ? xstrndup(t, (size_t)(eq - t)) : xstrdup(t);
				raw = xstrdup(eq ? eq + 1 : "");
			}
		} else {
			const char *k = compose__text_of(n->keys[i]), *t = compose__text_of(it);

			p = yt_path_key(path, k ? k : "?");
			key = k ? xstrdup(k) : NULL;
			at = n->keys[i];
			if (t)
				raw = xstrdup(t);
			else if (yt_is_null(it) && labels)
				raw = xstrdup("");
		}
		if (!key || !*key || !raw) {
			compose__report(c, at, p, L_UNMAPPED, "expected a key and a string, number or boolean");
		} else if (labels && strncmp(key, "io.reconciler.", 14) == 0) {
			compose__report(c, at, p, L_UNMAPPED, "label keys under 'io.reconciler.' are the "
			    "reconciler's own");
		} else if (!(val = compose__literal(raw, why))) {
			compose__report(c, it, p, L_UNMAPPED, "%s", why);
		} else if (compose__strv_has(keys, nk, key)) {
			compose__report(c, at, p, L_NOTE, "'%s' is given twice: the first one is kept", key);
			free(val);
		} else {
			keys[nk] = key;
			vals[nk++] = val;
			key = NULL;
		}
		free(key);
		free(raw);
		free(p);
	}
	for (size_t i = 0; i < nk; i++) {
		buf_adds(b, indent);
		compose__put_scalar(b, keys[i]);
		buf_adds(b, ": ");
		compose__put_scalar(b, vals[i]);
		buf_adds(b, "\n");
	}
	strv_free(keys, nk);
	strv_free(vals, nk);
}

static void
conv_logging(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	struct buf *b = &s->sec[S_LOGGING];
	const struct yt_node *drv = yt_get(n, "driver"), *opts = yt_get(n, "options");
	char why[ERR_LEN], *d = NULL;
	struct buf ob;

	if (n->type != YT_MAP) {
		compose__report(c, n, path, L_UNMAPPED, "expected a mapping, found %s", yt_type_name(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->type == YT_SCALAR ? n->keys[i]->value : "?";

		if (strcmp(k, "driver") != 0 && strcmp(k, "options") != 0) {
			char *p = yt_path_key(path, k);

			compose__report(c, n->keys[i], p, L_UNMAPPED, "not a logging key the manifest has");
			free(p);
		}
	}
	if (drv) {
		char *p = yt_path_key(path, "driver");

		if (!compose__str_of(drv) || !*drv->value || !(d = compose__literal(drv->value, why)) ||
		    !*d)
			compose__report(c, drv, p, L_UNMAPPED, "%s", compose__str_of(drv) &&
			    strchr(drv->value, '$') ? why : "expected a driver name");
		free(p);
	}
	buf_init(&ob, 0);
	if (opts && !yt_is_null(opts)) {
		char *p = yt_path_key(path, "options");

		compose__conv_kv(c, &ob, "        ", opts, p, 0);
		free(p);
	}
	buf_adds(b, "    logging:\n");
	buf_adds(b, "      driver: ");
	compose__put_scalar(b, d ? d : "json-file");
	buf_adds(b, "\n");
	if (ob.len)
		buf_addf(b, "      options:\n%s", ob.data);
	buf_release(&ob);
	free(d);
}

static void
conv_user(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	char why[ERR_LEN], *u;

	if (!compose__text_of(n) || !(u = compose__literal(n->value, why))) {
		compose__report(c, n, path, L_UNMAPPED, "%s", compose__text_of(n) ? why : "expected a user");
		return;
	}
	if (!manifest_user_ok(u)) {
		compose__report(c, n, path, L_UNMAPPED, "user '%s' is not uid[:gid] or name[:group]", u);
	} else {
		buf_adds(&s->sec[S_USER], "    user: ");
		compose__put_scalar(&s->sec[S_USER], u);
		buf_adds(&s->sec[S_USER], "\n");
	}
	free(u);
}

static void
conv_workdir(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	char why[ERR_LEN], *w;

	if (!compose__str_of(n) || !(w = compose__literal(n->value, why))) {
		compose__report(c, n, path, L_UNMAPPED, "%s", compose__str_of(n) ? why : "expected a path");
		return;
	}
	if (w[0] != '/') {
		compose__report(c, n, path, L_UNMAPPED, "working_dir must be absolute");
	} else {
		buf_adds(&s->sec[S_WORKDIR], "    working_dir: ");
		compose__put_scalar(&s->sec[S_WORKDIR], w);
		buf_adds(&s->sec[S_WORKDIR], "\n");
	}
	free(w);
}

static void
conv_container_name(struct cctx *c, struct csvc *s, const struct yt_node *n, const char *path)
{
	char *want = xasprintf("%s-%s", c->project, s->name);

	if (compose__str_of(n) && strcmp(n->value, want) == 0)
		compose__report(c, n, path, L_NOTE, "'%s' is the name the reconciler gives the container", want);
	else
		compose__report(c, n, path, L_UNMAPPED, "the reconciler names the container '%s' "
		    "(<project>-<service>): choose --project to match, or update what uses the old "
		    "name", want);
	free(want);
}

/* --- a service, key by key ------------------------------------------------ */

void
compose__conv_service(struct cctx *c, struct csvc *s)
{
	const struct yt_node *n = s->node, *dep = yt_get(n, "deploy");

	for (int i = 0; i < S_NSECTIONS; i++)
		buf_init(&s->sec[i], 0);
	compose__check_service_keys(c, s);
	compose__conv_image(c, s);
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->type == YT_SCALAR ? n->keys[i]->value : "";
		const struct yt_node *v = n->items[i];
		char *p = yt_path_key(s->path, k);

		if (strcmp(k, "command") == 0)
			compose__conv_command(c, s, v, p, K_COMMAND);
		else if (strcmp(k, "entrypoint") == 0)
			compose__conv_command(c, s, v, p, K_ENTRYPOINT);
		else if (strcmp(k, "healthcheck") == 0)
			compose__conv_healthcheck(c, s, v, p);
		else if (strcmp(k, "environment") == 0)
			compose__conv_environment(c, s, v, p);
		else if (strcmp(k, "env_file") == 0)
			compose__conv_env_file(c, s, v, p);
		else if (strcmp(k, "secrets") == 0)
			compose__conv_secrets(c, s, v, p);
		else if (strcmp(k, "ports") == 0)
			compose__conv_ports(c, s, v, p);
		else if (strcmp(k, "volumes") == 0)
			compose__conv_volumes(c, s, v, p);
		else if (strcmp(k, "networks") == 0)
			compose__conv_networks(c, s, v, p);
		else if (strcmp(k, "depends_on") == 0)
			compose__conv_depends(c, s, v, p);
		else if (strcmp(k, "restart") == 0)
			conv_restart(c, s, v, p);
		else if (strcmp(k, "logging") == 0)
			conv_logging(c, s, v, p);
		else if (strcmp(k, "labels") == 0 && !yt_is_null(v))
			compose__conv_kv(c, &s->sec[S_LABELS], "      ", v, p, 1);
		else if (strcmp(k, "user") == 0)
			conv_user(c, s, v, p);
		else if (strcmp(k, "working_dir") == 0)
			conv_workdir(c, s, v, p);
		else if (strcmp(k, "stop_grace_period") == 0)
			compose__put_duration(c, &s->sec[S_GRACE], "    ", "stop_grace_period", v, p,
			    DURATIONS_MAX_WAIT);
		else if (strcmp(k, "container_name") == 0)
			conv_container_name(c, s, v, p);
		free(p);
	}
	if (dep) {	/* after the ports: start-first depends on them */
		char *p = yt_path_key(s->path, "deploy");

		compose__conv_deploy(c, s, yt_get_key(n, "deploy"), dep, p);
		free(p);
	}
	if (s->sec[S_LABELS].len) {
		char *body = buf_detach(&s->sec[S_LABELS], NULL);

		buf_addf(&s->sec[S_LABELS], "    labels:\n%s", body);
		free(body);
	}
	if (s->nmounts)
		compose__put_mounts(s);
}
