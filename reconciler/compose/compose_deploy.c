/*
 * compose_deploy: a Compose service's deploy: into the manifest's deploy:
 * (mode, replicas, placement, resources, rollback_config) and its
 * update_config into update: (order as the strategy, parallelism, delay,
 * monitor as the gate's timeout). What Swarm has and the manifest does not
 * offer (restart_policy, labels, …) is reported with why.
 */
#include "compose_int.h"
#include "durations.h"
#include "manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What one deploy: becomes, block by block, in the manifest's indentation. */
struct cdeploy {
	struct buf top, placement, limits, reservations, rollback, update;
	int global;
	int swarm_only;		/* a key written that only backend swarm honours */
};

/* The keys of a level that the manifest does not map, and why; the last
 * entry answers for any other key. */
struct cwhy {
	const char *key;
	const char *why;
};

static const struct cwhy deploy_keys[] = {
	{ "labels", "the labels of the Swarm service are the reconciler's own; labels for the "
	  "containers go under the service's labels" },
	{ "restart_policy", "Swarm starts a new task when one stops; the manifest's restart is the "
	  "policy of backend containers" },
	{ NULL, "not a deploy key the manifest has" },
};

static const struct cwhy placement_keys[] = { { NULL, "not a placement key the manifest has" } };
static const struct cwhy resource_keys[] = {
	{ "devices", "devices (GPUs) are not offered" },
	{ "generic_resources", "generic resources are not offered" },
	{ NULL, "not a resource the manifest has" },
};
static const struct cwhy rollback_keys[] = {
	{ "max_failure_ratio", "not offered: a task that fails fails the rollback" },
	{ NULL, "not a rollback_config key the manifest has" },
};
static const struct cwhy update_keys[] = {
	{ "max_failure_ratio", "not offered: a task that fails fails the update, which is rolled "
	  "back" },
	{ NULL, "not an update_config key the manifest has" },
};

static void
unmapped_key(struct cctx *c, const struct yt_node *k, const char *p, const struct cwhy *t)
{
	size_t j;

	for (j = 0; t[j].key; j++)
		if (strcmp(k->value, t[j].key) == 0)
			break;
	compose__report(c, k, p, L_UNMAPPED, "%s", t[j].why);
}

static int
is_map(struct cctx *c, const struct yt_node *n, const char *path)
{
	if (n && n->type == YT_MAP)
		return 1;
	compose__report(c, n, path, L_UNMAPPED, "expected a mapping, found %s", yt_type_name(n));
	return 0;
}

/* "key: N" for an integer from lo to hi; -1 after reporting anything else.
 * Swarm's 0 for "all at once" is not offered by the manifest. */
static long long
put_int(struct cctx *c, struct buf *b, const char *indent, const char *key,
    const struct yt_node *n, const char *path, long long lo, long long hi)
{
	long long v;

	if (yt_int(n, &v) == 0 && v >= lo && v <= hi) {
		buf_addf(b, "%s%s: %lld\n", indent, key, v);
		return v;
	}
	if (lo == 1 && yt_int(n, &v) == 0 && v == 0 && strcmp(key, "pids") != 0)
		compose__report(c, n, path, L_UNMAPPED, "0 (all at once) is not offered: the manifest "
		    "takes %lld to %lld", lo, hi);
	else
		compose__report(c, n, path, L_UNMAPPED, "expected an integer from %lld to %lld here",
		    lo, hi);
	return -1;
}

/* The literal text of a scalar (no variable of the host); NULL after
 * reporting anything else. The caller frees it. */
static char *
literal(struct cctx *c, const struct yt_node *n, const char *path, const char *what)
{
	const char *t = compose__text_of(n);
	char why[ERR_LEN], *lit;

	if (!t || yt_kind(n) == YT_KIND_BOOL) {
		compose__report(c, n, path, L_UNMAPPED, "expected %s, found %s", what, yt_type_name(n));
		return NULL;
	}
	if (!(lit = compose__literal(t, why)))
		compose__report(c, n, path, L_UNMAPPED, "%s", why);
	return lit;
}

/* "key: word" for one of two words; 0 when written. */
static int
put_choice(struct cctx *c, struct buf *b, const char *indent, const char *key,
    const struct yt_node *n, const char *path, const char *a, const char *z)
{
	char *w = literal(c, n, path, "a word");
	int rc = -1;

	if (w && (strcmp(w, a) == 0 || strcmp(w, z) == 0)) {
		buf_addf(b, "%s%s: %s\n", indent, key, w);
		rc = 0;
	} else if (w) {
		compose__report(c, n, path, L_UNMAPPED, "'%s' is not offered (%s or %s)", w, a, z);
	}
	free(w);
	return rc;
}

/* "cpus: "0.5"" or "memory: 512m" as the manifest reads them, into *out;
 * a value above max (the limit, for a reservation) is reported. */
static void
put_resource(struct cctx *c, struct buf *b, const char *key, const struct yt_node *n,
    const char *path, int64_t max, int64_t *out)
{
	int cpus = strcmp(key, "cpus") == 0;
	char *lit = literal(c, n, path, cpus ? "a number of CPUs" : "a memory size");
	int rc;

	if (!lit)
		return;
	rc = cpus ? manifest_cpus_parse(lit, out) : manifest_memory_parse(lit, out);
	if (rc == MANIFEST_VALUE_FORM)
		compose__report(c, n, path, L_UNMAPPED, cpus ? "'%s' is not a number of CPUs" :
		    "'%s' is not a size the manifest reads: write a whole number with a unit b, k, "
		    "kb, m, mb, g or gb (e.g. 1536m, not 1.5g)", lit);
	else if (rc == MANIFEST_VALUE_PRECISION)
		compose__report(c, n, path, L_UNMAPPED, "'%s' has more than %d decimals: round it", lit,
		    MANIFEST_CPUS_DECIMALS);
	else if (rc == MANIFEST_VALUE_RANGE)
		compose__report(c, n, path, L_UNMAPPED, cpus ? "'%s' is out of the manifest's range "
		    "(more than 0, at most 1024)" : "'%s' is out of the manifest's range (6m, Docker's "
		    "minimum, to 1024g)", lit);
	else if (max && *out > max)
		compose__report(c, n, path, L_UNMAPPED, "'%s' is more than the limit: a reservation "
		    "that exceeds it could never be met", lit);
	if (rc == 0 && !(max && *out > max)) {
		buf_addf(b, "          %s: ", key);
		if (cpus)	/* "0.50" stays the text written, not a float */
			compose__put_quoted(b, lit);
		else
			compose__put_scalar(b, lit);
		buf_adds(b, "\n");
	} else {
		*out = 0;
	}
	free(lit);
}

/* --- placement ------------------------------------------------------------ */

/* One constraint (or {spread: LABEL}) as the manifest reads it (owned), or
 * NULL after reporting. */
static char *
placement_item(struct cctx *c, const struct yt_node *it, const char *path, int spread)
{
	const struct yt_node *v = it;
	char *p = NULL, *w;

	if (spread) {
		if (it->type != YT_MAP || it->n != 1 || !(v = yt_get(it, "spread"))) {
			compose__report(c, it, path, L_UNMAPPED, "expected {spread: LABEL}, found %s",
			    yt_type_name(it));
			return NULL;
		}
		p = yt_path_key(path, "spread");
	}
	if ((w = literal(c, v, p ? p : path, "a string")) &&
	    !(spread ? manifest_spread_ok(w) : manifest_constraint_ok(w))) {
		compose__report(c, v, p ? p : path, L_UNMAPPED, "'%s' is not %s", w, spread ?
		    "node.labels.NAME or engine.labels.NAME" : "ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE "
		    "as Swarm reads it");
		free(w);
		w = NULL;
	}
	free(p);
	return w;
}

/* The items of a list of constraints (or spreads) that the manifest reads,
 * each once; the others reported. */
static char **
placement_list(struct cctx *c, const struct yt_node *n, const char *path, int spread,
    size_t *count)
{
	char **v = xcalloc(n->n + 1, sizeof(*v));

	*count = 0;
	for (size_t i = 0; i < n->n; i++) {
		char *p = yt_path_idx(path, i), *w = placement_item(c, n->items[i], p, spread);

		if (w && compose__strv_has(v, *count, w)) {
			compose__report(c, n->items[i], p, L_NOTE, "'%s' is given twice: the first one "
			    "is kept", w);
			free(w);
		} else if (w) {
			v[(*count)++] = w;
		}
		free(p);
	}
	return v;
}

static void
conv_placement_list(struct cctx *c, struct cdeploy *dp, const struct yt_node *n,
    const char *path, int spread)
{
	size_t count;
	char **v;

	if (n->type != YT_SEQ) {
		compose__report(c, n, path, L_UNMAPPED, "expected a list, found %s", yt_type_name(n));
		return;
	}
	v = placement_list(c, n, path, spread, &count);
	if (count) {
		buf_adds(&dp->placement, spread ? "        preferences: [" : "        constraints: ");
		if (spread) {
			for (size_t i = 0; i < count; i++) {
				buf_adds(&dp->placement, i ? ", {spread: " : "{spread: ");
				compose__put_quoted(&dp->placement, v[i]);
				buf_adds(&dp->placement, "}");
			}
			buf_adds(&dp->placement, "]");
		} else {
			compose__put_flow_list(&dp->placement, v, count, 1);
		}
		buf_adds(&dp->placement, "\n");
	}
	strv_free(v, count);
}

static void
conv_placement(struct cctx *c, struct cdeploy *dp, const struct yt_node *n, const char *path)
{
	if (!is_map(c, n, path))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = n->keys[i], *v = n->items[i];
		char *p = yt_path_key(path, k->value);

		if (strcmp(k->value, "constraints") == 0 || strcmp(k->value, "preferences") == 0)
			conv_placement_list(c, dp, v, p, k->value[0] == 'p');
		else if (strcmp(k->value, "max_replicas_per_node") == 0 && dp->global)
			compose__report(c, k, p, L_UNMAPPED, "does not apply to mode global");
		else if (strcmp(k->value, "max_replicas_per_node") == 0)
			put_int(c, &dp->placement, "        ", k->value, v, p, 1, MANIFEST_REPLICAS_MAX);
		else
			unmapped_key(c, k, p, placement_keys);
		free(p);
	}
}

/* --- resources ------------------------------------------------------------ */

/* limits (res 0) or reservations (res 1); lim holds the limits read, which
 * a reservation may not exceed. */
static void
conv_resources_of(struct cctx *c, struct cdeploy *dp, const struct yt_node *n, const char *path,
    int res, int64_t lim[2])
{
	struct buf *b = res ? &dp->reservations : &dp->limits;

	if (!n || !is_map(c, n, path))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = n->keys[i], *v = n->items[i];
		char *p = yt_path_key(path, k->value);
		int64_t got = 0;

		if (strcmp(k->value, "cpus") == 0 || strcmp(k->value, "memory") == 0) {
			int m = k->value[0] == 'm';

			put_resource(c, b, k->value, v, p, res ? lim[m] : 0, &got);
			if (!res)
				lim[m] = got;
			else if (got && !m)
				dp->swarm_only = 1;
		} else if (!res && strcmp(k->value, "pids") == 0) {
			put_int(c, b, "          ", "pids", v, p, 1, MANIFEST_PIDS_MAX);
		} else {
			unmapped_key(c, k, p, resource_keys);
		}
		free(p);
	}
}

static void
conv_resources(struct cctx *c, struct cdeploy *dp, const struct yt_node *n, const char *path)
{
	int64_t lim[2] = { 0, 0 };	/* cpus, memory */
	char *p;

	if (!is_map(c, n, path))
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (strcmp(n->keys[i]->value, "limits") != 0 &&
		    strcmp(n->keys[i]->value, "reservations") != 0) {
			p = yt_path_key(path, n->keys[i]->value);
			compose__report(c, n->keys[i], p, L_UNMAPPED, "expected limits or reservations");
			free(p);
		}
	}
	p = yt_path_key(path, "limits");
	conv_resources_of(c, dp, yt_get(n, "limits"), p, 0, lim);
	free(p);
	p = yt_path_key(path, "reservations");
	conv_resources_of(c, dp, yt_get(n, "reservations"), p, 1, lim);
	free(p);
}

/* --- rollback_config and update_config ----------------------------------- */

static void
conv_rollback(struct cctx *c, struct cdeploy *dp, const struct yt_node *n, const char *path)
{
	struct buf *b = &dp->rollback;
	const char *in = "        ";

	if (!is_map(c, n, path))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = n->keys[i], *v = n->items[i];
		char *p = yt_path_key(path, k->value);

		if (strcmp(k->value, "parallelism") == 0)
			put_int(c, b, in, k->value, v, p, 1, MANIFEST_REPLICAS_MAX);
		else if (strcmp(k->value, "delay") == 0 || strcmp(k->value, "monitor") == 0)
			compose__put_duration(c, b, in, k->value, v, p, DURATIONS_MAX_WAIT);
		else if (strcmp(k->value, "order") == 0)
			put_choice(c, b, in, k->value, v, p, "start-first", "stop-first");
		else if (strcmp(k->value, "failure_action") == 0)
			put_choice(c, b, in, k->value, v, p, "pause", "continue");
		else
			unmapped_key(c, k, p, rollback_keys);
		free(p);
	}
}

/* update_config.order as update.strategy: start-first beside a published
 * host port is what the manifest refuses (two containers, one port). */
static void
conv_order(struct cctx *c, struct csvc *s, struct cdeploy *dp, const struct yt_node *n,
    const char *path)
{
	char *w = literal(c, n, path, "start-first or stop-first");

	if (w && strcmp(w, "start-first") == 0 && s->has_ports)
		compose__report(c, n, path, L_UNMAPPED, "start-first cannot be used with published host "
		    "ports (two containers cannot bind one port): the strategy stays stop-first");
	else if (w && (strcmp(w, "start-first") == 0 || strcmp(w, "stop-first") == 0))
		buf_addf(&dp->update, "      strategy: %s\n", w);
	else if (w)
		compose__report(c, n, path, L_UNMAPPED, "'%s' is not offered (start-first or "
		    "stop-first)", w);
	free(w);
}

static void
conv_update(struct cctx *c, struct csvc *s, struct cdeploy *dp, const struct yt_node *n,
    const char *path)
{
	const char *in = "      ";

	if (!is_map(c, n, path))
		return;
	for (size_t i = 0; i < n->n; i++) {
		const struct yt_node *k = n->keys[i], *v = n->items[i];
		char *p = yt_path_key(path, k->value), *w;

		if (strcmp(k->value, "order") == 0) {
			conv_order(c, s, dp, v, p);
		} else if (strcmp(k->value, "parallelism") == 0) {
			dp->swarm_only |= put_int(c, &dp->update, in, k->value, v, p, 1,
			    MANIFEST_REPLICAS_MAX) > 0;
		} else if (strcmp(k->value, "delay") == 0) {
			dp->swarm_only |= compose__put_duration(c, &dp->update, in, "delay", v, p,
			    DURATIONS_MAX_WAIT) >= 0;
		} else if (strcmp(k->value, "monitor") == 0) {
			if (compose__put_duration(c, &dp->update, in, "timeout", v, p,
			    DURATIONS_MAX_WAIT) >= 0)
				compose__report(c, v, p, L_NOTE, "becomes update.timeout, the health "
				    "gate's limit (Swarm's monitor)");
		} else if (strcmp(k->value, "failure_action") == 0 &&
		    (w = literal(c, v, p, "a word"))) {
			if (strcmp(w, "rollback") == 0)
				compose__report(c, v, p, L_NOTE, "the reconciler always rolls a failed "
				    "update back");
			else
				compose__report(c, v, p, L_UNMAPPED, "'%s' is not offered: the reconciler "
				    "rolls a failed update back and reports it failed", w);
			free(w);
		} else if (strcmp(k->value, "failure_action") != 0) {
			unmapped_key(c, k, p, update_keys);
		}
		free(p);
	}
}

/* --- deploy --------------------------------------------------------------- */

static void
conv_mode(struct cctx *c, struct cdeploy *dp, const struct yt_node *n, const char *path)
{
	char *w = literal(c, n, path, "replicated or global");

	if (w && (strcmp(w, "replicated") == 0 || strcmp(w, "global") == 0)) {
		buf_addf(&dp->top, "      mode: %s\n", w);
		dp->swarm_only = 1;
	} else if (w && strstr(w, "-job")) {
		compose__report(c, n, path, L_UNMAPPED, "a job runs to its end, a service of the manifest "
		    "runs on: a one-off task is a hook (hooks.pre_deploy)");
	} else if (w) {
		compose__report(c, n, path, L_UNMAPPED, "'%s' is not offered (replicated or global)", w);
	}
	free(w);
}

static void
conv_endpoint(struct cctx *c, struct cdeploy *dp, const struct yt_node *n, const char *path)
{
	char *w = literal(c, n, path, "vip or dnsrr");

	if (w && (strcmp(w, "vip") == 0 || strcmp(w, "dnsrr") == 0)) {
		buf_addf(&dp->top, "      endpoint_mode: %s\n", w);
		dp->swarm_only = 1;
	} else if (w) {
		compose__report(c, n, path, L_UNMAPPED, "'%s' is not offered (vip or dnsrr)", w);
	}
	free(w);
}

static void
conv_deploy_key(struct cctx *c, struct csvc *s, struct cdeploy *dp, const struct yt_node *k,
    const struct yt_node *v, const char *p)
{
	const char *key = k->value;
	size_t before = dp->placement.len + dp->rollback.len;

	if (strcmp(key, "mode") == 0)
		conv_mode(c, dp, v, p);
	else if (strcmp(key, "replicas") == 0 && dp->global)
		compose__report(c, k, p, L_UNMAPPED, "replicas does not apply to mode global");
	else if (strcmp(key, "replicas") == 0)
		dp->swarm_only |= put_int(c, &dp->top, "      ", key, v, p, 0,
		    MANIFEST_REPLICAS_MAX) >= 0;
	else if (strcmp(key, "endpoint_mode") == 0)
		conv_endpoint(c, dp, v, p);
	else if (strcmp(key, "placement") == 0)
		conv_placement(c, dp, v, p);
	else if (strcmp(key, "resources") == 0)
		conv_resources(c, dp, v, p);
	else if (strcmp(key, "rollback_config") == 0)
		conv_rollback(c, dp, v, p);
	else if (strcmp(key, "update_config") == 0)
		conv_update(c, s, dp, v, p);
	else
		unmapped_key(c, k, p, deploy_keys);
	if (dp->placement.len + dp->rollback.len != before)
		dp->swarm_only = 1;
}

/* The blocks, in the manifest's order, under "    deploy:" and "    update:". */
static void
put_deploy(struct csvc *s, struct cdeploy *dp)
{
	struct buf *b = &s->sec[S_DEPLOY];

	if (dp->update.len)
		buf_addf(&s->sec[S_UPDATE], "    update:\n%s", dp->update.data);
	if (!dp->top.len && !dp->placement.len && !dp->limits.len && !dp->reservations.len &&
	    !dp->rollback.len)
		return;
	buf_addf(b, "    deploy:\n%s", dp->top.len ? dp->top.data : "");
	if (dp->placement.len)
		buf_addf(b, "      placement:\n%s", dp->placement.data);
	if (dp->limits.len || dp->reservations.len)
		buf_adds(b, "      resources:\n");
	if (dp->limits.len)
		buf_addf(b, "        limits:\n%s", dp->limits.data);
	if (dp->reservations.len)
		buf_addf(b, "        reservations:\n%s", dp->reservations.data);
	if (dp->rollback.len)
		buf_addf(b, "      rollback_config:\n%s", dp->rollback.data);
}

void
compose__conv_deploy(struct cctx *c, struct csvc *s, const struct yt_node *k,
    const struct yt_node *n, const char *path)
{
	struct cdeploy dp = { 0 };
	const struct yt_node *mode = yt_get(n, "mode");

	if (!is_map(c, n, path))
		return;
	buf_init(&dp.top, 0);
	buf_init(&dp.placement, 0);
	buf_init(&dp.limits, 0);
	buf_init(&dp.reservations, 0);
	buf_init(&dp.rollback, 0);
	buf_init(&dp.update, 0);
	dp.global = compose__str_of(mode) && strcmp(mode->value, "global") == 0;
	for (size_t i = 0; i < n->n; i++) {
		char *p = yt_path_key(path, n->keys[i]->value);

		conv_deploy_key(c, s, &dp, n->keys[i], n->items[i], p);
		free(p);
	}
	put_deploy(s, &dp);
	if (dp.swarm_only)
		compose__report(c, k, path, L_NOTE, "mode, replicas, placement, reservations.cpus, "
		    "rollback_config and update_config's parallelism and delay apply to backend swarm "
		    "only: check the output with reconcilerctl validate --backend swarm");
	buf_release(&dp.top);
	buf_release(&dp.placement);
	buf_release(&dp.limits);
	buf_release(&dp.reservations);
	buf_release(&dp.rollback);
	buf_release(&dp.update);
}
