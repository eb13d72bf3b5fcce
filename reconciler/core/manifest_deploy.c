/*
 * manifest: deploy:, what a cluster needs, close to Compose's deploy: so that
 * a stack file ports over: mode and replicas, placement, resources and the
 * rollback settings. This file reads the values and their rules; which
 * backend honours which key is manifest_backend.c's business.
 */
#include "durations.h"
#include "manifest_int.h"
#include "util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NANO 1000000000LL

/* --- values shared with import-compose (manifest.h) ---------------------- */

int
manifest_cpus_parse(const char *s, int64_t *nano)
{
	int64_t whole = 0, frac = 0;
	int neg = 0, digits = 0, decimals = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; isdigit((unsigned char)*s); s++, digits++)	/* saturates past the limit */
		whole = whole > MANIFEST_CPUS_MAX ? whole : whole * 10 + (*s - '0');
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++, decimals++)
			if (decimals < 9)
				frac = frac * 10 + (*s - '0');
		if (!decimals)
			return MANIFEST_VALUE_FORM;	/* "1." */
	}
	if (*s || digits + decimals == 0)
		return MANIFEST_VALUE_FORM;
	if (decimals > MANIFEST_CPUS_DECIMALS)
		return MANIFEST_VALUE_PRECISION;
	for (int i = decimals; i < 9; i++)
		frac *= 10;
	if (neg || (whole == 0 && frac == 0) || whole > MANIFEST_CPUS_MAX ||
	    (whole == MANIFEST_CPUS_MAX && frac))
		return MANIFEST_VALUE_RANGE;
	*nano = whole * NANO + frac;
	return 0;
}

int
manifest_memory_parse(const char *s, int64_t *bytes)
{
	static const struct { const char *unit; int shift; } units[] = {
		{ "", 0 }, { "b", 0 }, { "k", 10 }, { "kb", 10 }, { "m", 20 }, { "mb", 20 },
		{ "g", 30 }, { "gb", 30 },
	};
	const char *p = s;
	int64_t v = 0;
	size_t u;

	for (; isdigit((unsigned char)*p); p++)	/* saturates past the limit */
		v = v > MANIFEST_MEMORY_MAX ? v : v * 10 + (*p - '0');
	if (p == s)
		return MANIFEST_VALUE_FORM;
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (strcasecmp(p, units[u].unit) == 0)
			break;
	if (u == sizeof(units) / sizeof(units[0]))
		return MANIFEST_VALUE_FORM;
	if (v > MANIFEST_MEMORY_MAX >> units[u].shift)
		return MANIFEST_VALUE_RANGE;
	v <<= units[u].shift;
	if (v < MANIFEST_MEMORY_MIN)
		return MANIFEST_VALUE_RANGE;
	*bytes = v;
	return 0;
}

/* --- typed readers of this section --------------------------------------- */

/* One of two words, its index into *out. */
static int
get_choice(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *what,
    const char *const choices[2], int *out)
{
	for (int i = 0; i < 2; i++) {
		if (n && n->type == YT_SCALAR && strcmp(n->value, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	mf__err_at(c, n, path, "unknown %s %s%s%s (expected %s or %s)", what,
	    n && n->type == YT_SCALAR ? "'" : "", n && n->type == YT_SCALAR ? n->value :
	    yt_type_name(n), n && n->type == YT_SCALAR ? "'" : "", choices[0], choices[1]);
	return -1;
}

/* A number or string that is not null or a boolean: its text, else NULL. */
static const char *
number_text(const struct yt_node *n)
{
	enum yt_kind k = yt_kind(n);

	return k == YT_KIND_INT || k == YT_KIND_FLOAT || k == YT_KIND_STR ? n->value : NULL;
}

static void
get_cpus(struct mf__ctx *c, const struct yt_node *n, const char *path, int64_t *out)
{
	const char *t = number_text(n);
	long long whole;
	int rc;

	if (!t) {
		mf__err_at(c, n, path, "expected a number of CPUs such as 0.5 or \"1.5\", found %s",
		    yt_type_name(n));
		return;
	}
	if (yt_kind(n) == YT_KIND_INT && yt_int(n, &whole) == 0)	/* 2, 0x2 */
		rc = whole > 0 && whole <= MANIFEST_CPUS_MAX ? (*out = whole * NANO, 0) :
		    MANIFEST_VALUE_RANGE;
	else
		rc = manifest_cpus_parse(t, out);
	if (rc == MANIFEST_VALUE_FORM)
		mf__err_at(c, n, path, "invalid cpus '%s' (expected a number of CPUs such as 0.5, 2 "
		    "or \"1.5\")", t);
	else if (rc == MANIFEST_VALUE_PRECISION)
		mf__err_at(c, n, path, "cpus '%s' has more than %d decimals", t,
		    MANIFEST_CPUS_DECIMALS);
	else if (rc == MANIFEST_VALUE_RANGE)
		mf__err_at(c, n, path, "cpus '%s' is out of range (more than 0, at most %d)", t,
		    MANIFEST_CPUS_MAX);
}

static void
get_memory(struct mf__ctx *c, const struct yt_node *n, const char *path, int64_t *out)
{
	const char *t = number_text(n);
	long long v;
	int rc;

	if (!t) {
		mf__err_at(c, n, path, "expected a memory size such as 512m, found %s",
		    yt_type_name(n));
		return;
	}
	if (yt_kind(n) == YT_KIND_INT && yt_int(n, &v) == 0)	/* bytes, 0x100000 too */
		rc = v >= MANIFEST_MEMORY_MIN && v <= MANIFEST_MEMORY_MAX ? (*out = v, 0) :
		    MANIFEST_VALUE_RANGE;
	else
		rc = manifest_memory_parse(t, out);
	if (rc == MANIFEST_VALUE_FORM)
		mf__err_at(c, n, path, "invalid memory '%s' (expected bytes, or a whole number with a "
		    "unit b, k, kb, m, mb, g or gb, e.g. 512m)", t);
	else if (rc == MANIFEST_VALUE_RANGE)
		mf__err_at(c, n, path, "memory '%s' is out of range (at least 6m, Docker's minimum, "
		    "and at most 1024g)", t);
}

/* --- placement ------------------------------------------------------------ */

/* Trims blanks off [*s, *e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE with the characters Swarm accepts in
 * each (its constraint parser; == wins when both appear), so that a typo is
 * found here and not by the engine in the middle of a rollout. */
int
manifest_constraint_ok(const char *s)
{
	static const char value_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789:-_.*()?+[]\\^$|/ \t";
	const char *op = strstr(s, "=="), *ks = s, *ke, *vs, *ve;

	if (!op && !(op = strstr(s, "!=")))
		return 0;
	ke = op;
	vs = op + 2;
	ve = vs + strlen(vs);
	trim(&ks, &ke);
	trim(&vs, &ve);
	if (ke - ks < 2 || !(isalpha((unsigned char)*ks) || *ks == '_') || vs == ve)
		return 0;
	for (const char *p = ks + 1; p < ke; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return 0;
	return strspn(vs, value_chars) >= (size_t)(ve - vs);
}

int
manifest_constraint_split(const char *s, char *attr, size_t alen, char *value, size_t vlen,
    int *eq)
{
	const char *op = strstr(s, "=="), *ks = s, *ke, *vs, *ve;

	*eq = op != NULL;
	if (!op && !(op = strstr(s, "!=")))
		return -1;
	ke = op;
	vs = op + 2;
	ve = vs + strlen(vs);
	trim(&ks, &ke);
	trim(&vs, &ve);
	snprintf(attr, alen, "%.*s", (int)(ke - ks), ks);
	snprintf(value, vlen, "%.*s", (int)(ve - vs), vs);
	return 0;
}

static void
parse_constraints(struct mf__ctx *c, struct mf_deploy *d, const struct yt_node *n,
    const char *path)
{
	if (!(d->constraints = mf__get_str_list(c, n, path, &d->nconstraints, NULL)))
		return;
	for (size_t i = 0; i < d->nconstraints; i++) {
		char *p;

		if (manifest_constraint_ok(d->constraints[i]))
			continue;
		p = yt_path_idx(path, i);
		mf__err_at(c, n->items[i], p, "invalid constraint '%s' (expected ATTRIBUTE==VALUE or "
		    "ATTRIBUTE!=VALUE, e.g. node.role==worker or node.labels.zone!=a)",
		    d->constraints[i]);
		free(p);
	}
	mf__check_dups(c, n, path, d->constraints, d->nconstraints, "constraint");
}

/* node.labels.NAME or engine.labels.NAME: anything else spreads nothing. */
int
manifest_spread_ok(const char *s)
{
	const char *rest = strncmp(s, "node.labels.", 12) == 0 ? s + 12 :
	    strncmp(s, "engine.labels.", 14) == 0 ? s + 14 : NULL;

	return rest && *rest && !strpbrk(rest, " \t\r\n\f\v");
}

/* One {spread: node.labels.NAME}; the name read (owned), or NULL. */
static char *
parse_preference(struct mf__ctx *c, const struct yt_node *it, const char *path)
{
	static const char *const keys[] = { "spread", NULL };
	const struct yt_node *sv;
	char *p, *sp;

	if (!mf__is_map(c, it, path))
		return NULL;
	mf__check_keys(c, it, path, keys);
	if (!(sv = yt_get(it, "spread"))) {
		mf__missing(c, it, path, "spread");
		return NULL;
	}
	p = yt_path_key(path, "spread");
	if ((sp = mf__get_str(c, sv, p)) && !manifest_spread_ok(sp)) {
		mf__err_at(c, sv, p, "invalid spread '%s' (expected node.labels.NAME or "
		    "engine.labels.NAME)", sp);
		free(sp);
		sp = NULL;
	}
	free(p);
	return sp;
}

static void
parse_preferences(struct mf__ctx *c, struct mf_deploy *d, const struct yt_node *n,
    const char *path)
{
	char **seen;

	if (!mf__is_seq(c, n, path))
		return;
	seen = xcalloc(n->n + 1, sizeof(*seen));
	for (size_t i = 0; i < n->n; i++) {
		char *p = yt_path_idx(path, i);

		if ((seen[i] = parse_preference(c, n->items[i], p)))
			*MF__GROW(d->spread, d->nspread) = xstrdup(seen[i]);
		free(p);
	}
	mf__check_dups(c, n, path, seen, n->n, "spread preference");
	strv_free(seen, n->n);
}

static void
parse_placement(struct mf__ctx *c, struct mf_deploy *d, const struct yt_node *n,
    const char *path)
{
	static const char *const keys[] = {
		"constraints", "preferences", "max_replicas_per_node", NULL,
	};

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	MF__FOR_KEYS(n, path, key, v, p) {
		if (strcmp(key, "constraints") == 0)
			parse_constraints(c, d, v, p);
		else if (strcmp(key, "preferences") == 0)
			parse_preferences(c, d, v, p);
		else if (strcmp(key, "max_replicas_per_node") == 0)
			mf__get_int(c, v, p, 1, MANIFEST_REPLICAS_MAX, &d->max_per_node);
	}
}

/* --- resources ------------------------------------------------------------ */

static void
parse_resources_of(struct mf__ctx *c, struct mf_resources *r, const struct yt_node *n,
    const char *path, int limits)
{
	static const char *const lkeys[] = { "cpus", "memory", "pids", NULL };
	static const char *const rkeys[] = { "cpus", "memory", NULL };	/* no pids: Docker has none */

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, limits ? lkeys : rkeys);
	MF__FOR_KEYS(n, path, key, v, p) {
		int pids = 0;

		if (strcmp(key, "cpus") == 0)
			get_cpus(c, v, p, &r->nano_cpus);
		else if (strcmp(key, "memory") == 0)
			get_memory(c, v, p, &r->memory);
		else if (limits && strcmp(key, "pids") == 0 &&
		    mf__get_int(c, v, p, 1, MANIFEST_PIDS_MAX, &pids) == 0)
			r->pids = pids;
	}
}

/* A reservation above its limit could never be met within it. */
static void
check_reservation(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *key,
    int64_t reserved, int64_t limit)
{
	const struct yt_node *rv = yt_get(yt_get(n, "reservations"), key),
	    *lv = yt_get(yt_get(n, "limits"), key);
	char *p;

	if (!limit || reserved <= limit || !rv || !lv)
		return;
	p = xasprintf("%s.reservations.%s", path, key);
	mf__err_at(c, rv, p, "reservations.%s '%s' is more than limits.%s '%s'", key, rv->value, key,
	    lv->value);
	free(p);
}

static void
parse_resources(struct mf__ctx *c, struct mf_deploy *d, const struct yt_node *n, const char *path)
{
	static const char *const keys[] = { "limits", "reservations", NULL };

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	MF__FOR_KEYS(n, path, key, v, p) {
		if (strcmp(key, "limits") == 0)
			parse_resources_of(c, &d->limits, v, p, 1);
		else if (strcmp(key, "reservations") == 0)
			parse_resources_of(c, &d->reservations, v, p, 0);
	}
	check_reservation(c, n, path, "cpus", d->reservations.nano_cpus, d->limits.nano_cpus);
	check_reservation(c, n, path, "memory", d->reservations.memory, d->limits.memory);
}

/* --- rollback_config ------------------------------------------------------ */

static void
parse_rollback(struct mf__ctx *c, struct mf_rollback *rb, const struct yt_node *n,
    const char *path)
{
	static const char *const keys[] = {
		"parallelism", "delay", "order", "monitor", "failure_action", NULL,
	};
	static const char *const orders[] = { "start-first", "stop-first" };	/* enum mf_strategy */
	static const char *const actions[] = { "pause", "continue" };	/* enum mf_failure_action */

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	rb->set = 1;
	MF__FOR_KEYS(n, path, key, v, p) {
		int i;

		if (strcmp(key, "parallelism") == 0) {
			mf__get_int(c, v, p, 1, MANIFEST_REPLICAS_MAX, &rb->parallelism);
		} else if (strcmp(key, "delay") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &rb->delay);
		} else if (strcmp(key, "monitor") == 0) {
			mf__get_duration(c, v, p, DURATIONS_MAX_WAIT, &rb->monitor);
		} else if (strcmp(key, "order") == 0 && get_choice(c, v, p, "order", orders, &i) == 0) {
			rb->order = (enum mf_strategy)i;
			rb->order_explicit = 1;
		} else if (strcmp(key, "failure_action") == 0 &&
		    get_choice(c, v, p, "failure_action", actions, &i) == 0) {
			rb->failure_action = (enum mf_failure_action)i;
		}
	}
}

/* --- deploy --------------------------------------------------------------- */

/* A global service runs one task on every node: a count does not apply. */
static void
check_global(struct mf__ctx *c, const struct yt_node *n, const char *path)
{
	const struct yt_node *v;
	char *p;

	if ((v = yt_get(n, "replicas"))) {
		p = yt_path_key(path, "replicas");
		mf__err_at(c, v, p, "replicas does not apply to mode global (one task runs on every "
		    "node): remove replicas, or set mode: replicated");
		free(p);
	}
	if ((v = yt_get(yt_get(n, "placement"), "max_replicas_per_node"))) {
		p = xasprintf("%s.placement.max_replicas_per_node", path);
		mf__err_at(c, v, p, "max_replicas_per_node does not apply to mode global (one task "
		    "runs on every node): remove it, or set mode: replicated");
		free(p);
	}
}

void
mf__parse_deploy(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path)
{
	static const char *const keys[] = {
		"mode", "replicas", "endpoint_mode", "placement", "resources", "rollback_config",
		NULL,
	};
	static const char *const modes[] = { "replicated", "global" };	/* enum mf_mode */
	static const char *const endpoints[] = { "vip", "dnsrr" };
	struct mf_deploy *d = &s->deploy;

	if (!mf__is_map(c, n, path))
		return;
	mf__check_keys(c, n, path, keys);
	d->set = 1;
	MF__FOR_KEYS(n, path, key, v, p) {
		int i;

		if (strcmp(key, "mode") == 0 && get_choice(c, v, p, "mode", modes, &i) == 0)
			d->mode = (enum mf_mode)i;
		else if (strcmp(key, "endpoint_mode") == 0 &&
		    get_choice(c, v, p, "endpoint_mode", endpoints, &i) == 0)
			d->dnsrr = i;
		else if (strcmp(key, "replicas") == 0)
			mf__get_int(c, v, p, 0, MANIFEST_REPLICAS_MAX, &d->replicas);
		else if (strcmp(key, "placement") == 0)
			parse_placement(c, d, v, p);
		else if (strcmp(key, "resources") == 0)
			parse_resources(c, d, v, p);
		else if (strcmp(key, "rollback_config") == 0)
			parse_rollback(c, &d->rollback, v, p);
	}
	if (d->mode == MF_GLOBAL)
		check_global(c, n, path);
}

void
mf__deploy_release(struct mf_deploy *d)
{
	strv_free(d->constraints, d->nconstraints);
	strv_free(d->spread, d->nspread);
	memset(d, 0, sizeof(*d));
}
