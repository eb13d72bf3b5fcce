/*
 * spec: see spec.h. Equivalent manifests give identical canonical text: the
 * shell form of a command becomes the argv Docker runs, lists that are sets
 * (ports, mounts, aliases) are sorted, defaults are written out.
 */
#include "spec.h"
#include "digest.h"
#include "durations.h"
#include "spec_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static json_t *
cmd_json(const struct mf_cmd *c)
{
	json_t *a;

	if (!c->set)
		return json_null();
	a = json_array();
	if (c->shell) {
		json_array_append_new(a, json_string("/bin/sh"));
		json_array_append_new(a, json_string("-c"));
	}
	for (size_t i = 0; i < c->argc; i++)
		json_array_append_new(a, json_string(c->argv[i]));
	return a;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static void
sort_strings(json_t *arr)
{
	size_t n = json_array_size(arr);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	json_t **v = xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(v, n, sizeof(*v), cmp_str);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* The offset of the first byte an environment variable cannot carry (the
 * engine's JSON is UTF-8 text; a NUL would cut the value short), or
 * (size_t)-1 when there is none. */
static size_t
env_bad_at(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	size_t at = utf8_invalid_at(s, nul ? (size_t)(nul - s) : len);

	return at != (size_t)-1 ? at : nul ? (size_t)(nul - s) : (size_t)-1;
}

/* Why the byte at `at` of s cannot be in a variable, with its line: never the
 * bytes themselves, which are a secret. */
static int
env_bad_err(char *err, const char *secret, const char *var, const char *s, size_t at)
{
	size_t line = 1;

	for (size_t i = 0; i < at; i++)
		line += s[i] == '\n';
	return errf(err, "secret '%s' (variable %s), line %zu: %s (an environment variable holds "
	    "UTF-8 text)", secret, var, line, s[at] ? "not valid UTF-8" : "a NUL byte");
}

/* One KEY=VALUE line of an env file (line[0..len), leading blanks and the
 * trailing \r already gone) into env, and values when not NULL. */
static int
env_line_add(json_t *env, const struct secretmap *sec, const char *name, const char *line,
    size_t len, json_t *values, char *err)
{
	const char *eq = memchr(line, '=', len);
	size_t vlen, bad = env_bad_at(line, len);
	char *key, *val, digest[80];

	if (!eq || eq == line)
		return errf(err, "expected KEY=VALUE%s", eq ? " (the name is empty)" : "");
	if (bad != (size_t)-1)
		return errf(err, "%s (an environment variable holds UTF-8 text)",
		    line[bad] ? "not valid UTF-8" : "a NUL byte");
	vlen = len - (size_t)(eq - line) - 1;
	key = xstrndup(line, (size_t)(eq - line));
	val = xstrndup(eq + 1, vlen);
	secretmap_digest(sec, val, vlen, digest);
	json_object_set_new(env, key, json_pack("{s:s,s:s}", "env_file", name, "digest", digest));
	if (values)
		json_object_set_new(values, key, json_string(val));
	explicit_bzero(val, vlen);
	free(val);
	free(key);
	return 0;
}

/* KEY=VALUE lines; blank lines and # comments skipped; values verbatim (as
 * docker run --env-file). The file is a secret: an error names it and the
 * line, and quotes nothing of it. */
static int
env_file_add(json_t *env, const struct secretmap *sec, const char *name, json_t *values,
    char *err)
{
	const char *raw, *p, *end, *nl;
	char e[ERR_LEN];
	size_t len, lineno = 0;

	if (secretmap_get(sec, name, 0, &raw, &len, err) < 0)
		return -1;
	for (p = raw, end = raw + len; p < end; p = nl + 1) {
		size_t l;

		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			nl = end;
		lineno++;
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		l = (size_t)(nl - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (!l || *p == '#')
			continue;
		if (env_line_add(env, sec, name, p, l, values, e) < 0)
			return errf(err, "env file '%s', line %zu: %s", name, lineno, e);
	}
	return 0;
}

/* The environment: env files first (their keys may be overridden), then the
 * service's own variables; secret values enter only as keyed digests. When
 * values is non-NULL it also receives the real values. */
static int
build_env(json_t *env, const struct mf_service *s, const struct secretmap *sec, json_t *values,
    char *err)
{
	char digest[80];

	for (size_t i = 0; i < s->nenv_files; i++)
		if (env_file_add(env, sec, s->env_files[i], values, err) < 0)
			return -1;
	for (size_t i = 0; i < s->nenv; i++) {
		const struct mf_env *e = &s->env[i];

		if (e->secret) {
			const char *raw;
			char *v;
			size_t len, bad;

			if (secretmap_get(sec, e->secret, 1, &raw, &len, err) < 0)
				return -1;
			if ((bad = env_bad_at(raw, len)) != (size_t)-1)
				return env_bad_err(err, e->secret, e->name, raw, bad);
			secretmap_digest(sec, raw, len, digest);
			json_object_set_new(env, e->name, json_pack("{s:s,s:s}", "secret", e->secret,
			    "digest", digest));
			v = xstrndup(raw, len);
			if (values)
				json_object_set_new(values, e->name, json_string(v));
			explicit_bzero(v, len);
			free(v);
		} else {
			json_object_set_new(env, e->name, json_string(e->value));
			if (values)
				json_object_set_new(values, e->name, json_string(e->value));
		}
	}
	return 0;
}

static json_t *
build_secrets(const struct mf_service *s, const struct secretmap *sec, char *err)
{
	json_t *arr = json_array();
	char digest[80];

	for (size_t i = 0; i < s->nsecrets; i++) {
		const char *v;
		size_t len;

		if (secretmap_get(sec, s->secrets[i].source, 0, &v, &len, err) < 0) {
			json_decref(arr);
			return NULL;
		}
		secretmap_digest(sec, v, len, digest);
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "source", s->secrets[i].source,
		    "target", s->secrets[i].target, "digest", digest));
	}
	return arr;
}

/* Ports, mounts and network aliases are sets: sorted, so their order in the
 * manifest does not change the hash. */
static void
build_sets(json_t *spec, const struct manifest *m, const struct mf_service *s)
{
	json_t *arr, *obj;

	arr = json_array();
	for (size_t i = 0; i < s->nports; i++) {
		const struct mf_port *p = &s->ports[i];

		json_array_append_new(arr, json_sprintf("%s%s%s:%d:%d/%s",
		    strchr(p->host_ip, ':') ? "[" : "", p->host_ip, strchr(p->host_ip, ':') ? "]" : "",
		    p->host_port, p->container_port, p->proto));
	}
	sort_strings(arr);
	json_object_set_new(spec, "ports", arr);

	arr = json_array();
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct mf_mount *mt = &s->mounts[i];
		const struct mf_volume *v = mt->bind ? NULL : manifest_volume(m, mt->source);

		json_array_append_new(arr, json_sprintf("%s:%s:%s:%s", mt->bind ? "bind" : "volume",
		    v ? v->name : mt->source, mt->target, mt->ro ? "ro" : "rw"));
	}
	sort_strings(arr);
	json_object_set_new(spec, "mounts", arr);

	obj = json_object();
	for (size_t i = 0; i < s->nnetworks; i++) {
		const struct mf_netref *r = &s->networks[i];
		const struct mf_network *net = manifest_network(m, r->name);
		json_t *al = json_array();

		json_array_append_new(al, json_string(s->name));
		for (size_t j = 0; j < r->naliases; j++)
			if (strcmp(r->aliases[j], s->name) != 0)
				json_array_append_new(al, json_string(r->aliases[j]));
		sort_strings(al);
		json_object_set_new(obj, net ? net->name : r->name, al);
	}
	json_object_set_new(spec, "networks", obj);
}

static json_t *
build_health(const struct mf_service *s)
{
	json_t *arr;

	switch (s->health.kind) {
	case MF_HEALTH_IMAGE:
		return json_null();
	case MF_HEALTH_NONE:
		return json_pack("{s:[s]}", "test", "NONE");
	default:
		arr = json_array();
		json_array_append_new(arr, json_string(s->health.test.shell ? "CMD-SHELL" : "CMD"));
		for (size_t i = 0; i < s->health.test.argc; i++)
			json_array_append_new(arr, json_string(s->health.test.argv[i]));
		return json_pack("{s:o,s:I,s:I,s:I,s:i}", "test", arr,
		    "interval", (json_int_t)s->health.interval, "timeout",
		    (json_int_t)s->health.timeout, "start_period",
		    (json_int_t)s->health.start_period, "retries",
		    s->health.retries ? s->health.retries : 3);
	}
}

/* Builds the canonical spec for target; when values is non-NULL it also
 * receives the real env values (for the create body only). */
int
spec__build(const struct manifest *m, const struct mf_service *s, const struct secretmap *sec,
    enum spec_target target, json_t **out, json_t *values, char *err)
{
	json_t *spec = json_object(), *env = json_object(), *arr, *obj;

	*out = NULL;
	/* env hangs off spec from the start, so the one decref at fail frees it */
	json_object_set_new(spec, "env", env);
	json_object_set_new(spec, "image", json_string(s->image));
	json_object_set_new(spec, "command", cmd_json(&s->command));
	json_object_set_new(spec, "entrypoint", cmd_json(&s->entrypoint));
	if (build_env(env, s, sec, values, err) < 0 || !(arr = build_secrets(s, sec, err))) {
		json_decref(spec);
		return -1;
	}
	json_object_set_new(spec, "secrets", arr);
	build_sets(spec, m, s);

	json_object_set_new(spec, "restart", json_string(s->restart));
	obj = json_object();
	for (size_t i = 0; i < s->nlog_opts; i++)
		json_object_set_new(obj, s->log_opts[i].key, json_string(s->log_opts[i].value));
	json_object_set_new(spec, "logging", json_pack("{s:s,s:o}", "driver", s->log_driver,
	    "options", obj));
	obj = json_object();
	for (size_t i = 0; i < s->nlabels; i++)
		json_object_set_new(obj, s->labels[i].key, json_string(s->labels[i].value));
	json_object_set_new(spec, "labels", obj);
	json_object_set_new(spec, "user", s->user ? json_string(s->user) : json_null());
	json_object_set_new(spec, "working_dir", s->working_dir ? json_string(s->working_dir) :
	    json_null());
	json_object_set_new(spec, "stop_grace_period", json_integer(s->stop_grace));
	json_object_set_new(spec, "healthcheck", build_health(s));
	if (target == SPEC_SWARM)
		json_object_set_new(spec, "swarm", spec__swarm_canonical(s));
	else if ((obj = spec__resources_canonical(&s->deploy)))
		json_object_set_new(spec, "resources", obj);
	*out = spec;
	return 0;
}

int
spec_service(const struct manifest *m, const struct mf_service *s, const struct secretmap *sec,
    json_t **out, char *err)
{
	return spec__build(m, s, sec, SPEC_CONTAINERS, out, NULL, err);
}

int
spec_service_for(const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, enum spec_target target, json_t **out, char *err)
{
	return spec__build(m, s, sec, target, out, NULL, err);
}

char *
spec_canonical(const json_t *spec)
{
	return json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

void
spec_hash(const json_t *spec, char out[65])
{
	unsigned char md[DIGEST_SHA256_LEN];
	char *text = spec_canonical(spec);

	digest_sha256(text, strlen(text), md);
	hex_encode(md, sizeof(md), out);
	free(text);
}

char *
spec_container_name(const struct manifest *m, const struct mf_service *s)
{
	return xasprintf("%s-%s", m->project, s->name);
}


/* Labels: the service's own, then the io.reconciler.* ones that make the
 * container's actual state self-describing. */
json_t *
spec__labels(const struct manifest *m, const struct mf_service *s, const json_t *spec,
    const char *revision, const char *role)
{
	json_t *labels = json_object();
	char hash[65], *canon;

	spec_hash(spec, hash);
	canon = spec_canonical(spec);
	for (size_t i = 0; i < s->nlabels; i++)
		json_object_set_new(labels, s->labels[i].key, json_string(s->labels[i].value));
	json_object_set_new(labels, LABEL_PROJECT, json_string(m->project));
	json_object_set_new(labels, LABEL_SERVICE, json_string(s->name));
	json_object_set_new(labels, LABEL_HASH, json_string(hash));
	json_object_set_new(labels, LABEL_SPEC, json_string(canon));
	json_object_set_new(labels, LABEL_REVISION, json_string(revision ? revision : ""));
	json_object_set_new(labels, LABEL_ROLE, json_string(role ? role : ROLE_PRIMARY));
	free(canon);
	return labels;
}

/* The engine takes nanoseconds: a duration the manifest bounds always fits,
 * but the product is checked all the same (no overflow whatever the input). */
int
spec__set_nanos(json_t *hc, const char *key, const struct mf_service *s, const char *what,
    int64_t ms, char *err)
{
	int64_t ns;
	char text[32];

	if (durations_ns(ms, &ns) < 0) {
		duration_format(ms, text, sizeof(text));
		return errf(err, "service '%s': healthcheck %s %s does not fit in the engine's "
		    "nanoseconds", s->name, what, text);
	}
	json_object_set_new(hc, key, json_integer((json_int_t)ns));
	return 0;
}

int
spec__health(json_t *cfg, const struct mf_service *s, const json_t *spec, char *err)
{
	json_t *hc;

	if (s->health.kind == MF_HEALTH_IMAGE)
		return 0;
	hc = json_object();
	json_object_set(hc, "Test", json_object_get(json_object_get(spec, "healthcheck"), "test"));
	if (s->health.kind == MF_HEALTH_CMD) {
		if (spec__set_nanos(hc, "Interval", s, "interval", s->health.interval, err) < 0 ||
		    spec__set_nanos(hc, "Timeout", s, "timeout", s->health.timeout, err) < 0 ||
		    spec__set_nanos(hc, "StartPeriod", s, "start_period", s->health.start_period,
		    err) < 0) {
			json_decref(hc);
			return -1;
		}
		json_object_set_new(hc, "Retries", json_integer(s->health.retries ?
		    s->health.retries : 3));
	}
	json_object_set_new(cfg, "Healthcheck", hc);
	return 0;
}

/* ExposedPorts on the config, PortBindings on the host config. */
static void
container_ports(json_t *cfg, json_t *host, const struct mf_service *s)
{
	json_t *exposed = json_object(), *bindings = json_object();

	for (size_t i = 0; i < s->nports; i++) {
		const struct mf_port *p = &s->ports[i];
		char *k = xasprintf("%d/%s", p->container_port, p->proto);
		json_t *list = json_object_get(bindings, k);

		json_object_set_new(exposed, k, json_object());
		if (!list) {
			list = json_array();
			json_object_set_new(bindings, k, list);
		}
		json_array_append_new(list, json_pack("{s:s,s:o}", "HostIp", p->host_ip,
		    "HostPort", json_sprintf("%d", p->host_port)));
		free(k);
	}
	json_object_set_new(cfg, "ExposedPorts", exposed);
	json_object_set_new(host, "PortBindings", bindings);
}

/* Mounts (volumes, binds, secret files), restart policy and logging. */
static void
container_host(json_t *host, const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec)
{
	json_t *mounts = json_array(), *j;

	for (size_t i = 0; i < s->nmounts; i++) {
		const struct mf_mount *mt = &s->mounts[i];
		const struct mf_volume *v = mt->bind ? NULL : manifest_volume(m, mt->source);

		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type",
		    mt->bind ? "bind" : "volume", "Source", v ? v->name : mt->source, "Target",
		    mt->target, "ReadOnly", mt->ro));
	}
	for (size_t i = 0; i < s->nsecrets; i++) {
		char *path = secretmap_path(sec, s->secrets[i].source);

		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind",
		    "Source", path, "Target", s->secrets[i].target, "ReadOnly", 1));
		free(path);
	}
	json_object_set_new(host, "Mounts", mounts);
	if (strncmp(s->restart, "on-failure:", 11) == 0)
		json_object_set_new(host, "RestartPolicy", json_pack("{s:s,s:i}", "Name",
		    "on-failure", "MaximumRetryCount", (int)strtol(s->restart + 11, NULL, 10)));
	else
		json_object_set_new(host, "RestartPolicy", json_pack("{s:s}", "Name", s->restart));
	j = json_object();
	for (size_t i = 0; i < s->nlog_opts; i++)
		json_object_set_new(j, s->log_opts[i].key, json_string(s->log_opts[i].value));
	json_object_set_new(host, "LogConfig", json_pack("{s:s,s:o}", "Type", s->log_driver,
	    "Config", j));
}

/* Every network with the service's aliases; the first is the primary one
 * (NetworkMode), which an engine before API 1.44 takes at create. */
static void
container_networks(json_t *cfg, json_t *host, const json_t *spec)
{
	json_t *endpoints = json_object(), *j;
	const char *key;

	json_object_foreach(json_object_get(spec, "networks"), key, j)
		json_object_set_new(endpoints, key, json_pack("{s:O}", "Aliases", j));
	if (json_object_size(endpoints)) {
		const char *first = NULL;

		json_object_foreach(endpoints, key, j) {
			first = key;
			break;
		}
		json_object_set_new(host, "NetworkMode", json_string(first));
	}
	json_object_set_new(cfg, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig",
	    endpoints));
}

int
spec_container_config(const struct manifest *m, const struct mf_service *s,
    const struct secretmap *sec, const char *revision, const char *role, json_t **out, char *err)
{
	json_t *values = json_object(), *spec = NULL, *cfg = NULL, *host, *envv, *j;
	const char *key;
	int rc = -1;

	*out = NULL;
	if (spec__build(m, s, sec, SPEC_CONTAINERS, &spec, values, err) < 0)
		goto out;
	cfg = json_object();
	json_object_set_new(cfg, "Image", json_string(s->image));
	if (json_is_array(j = json_object_get(spec, "command")))
		json_object_set(cfg, "Cmd", j);
	if (json_is_array(j = json_object_get(spec, "entrypoint")))
		json_object_set(cfg, "Entrypoint", j);
	envv = json_array();
	json_object_foreach(values, key, j)
		json_array_append_new(envv, json_sprintf("%s=%s", key, json_string_value(j)));
	json_object_set_new(cfg, "Env", envv);
	if (s->user)
		json_object_set_new(cfg, "User", json_string(s->user));
	if (s->working_dir)
		json_object_set_new(cfg, "WorkingDir", json_string(s->working_dir));
	json_object_set_new(cfg, "StopTimeout", json_integer((s->stop_grace + 999) / 1000));
	json_object_set_new(cfg, "Labels", spec__labels(m, s, spec, revision, role));
	if (spec__health(cfg, s, spec, err) < 0)
		goto out;
	host = json_object();
	container_ports(cfg, host, s);
	container_host(host, m, s, sec);
	spec__container_resources(host, &s->deploy);
	json_object_set_new(cfg, "HostConfig", host);
	container_networks(cfg, host, spec);
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	json_decref(cfg);
	json_decref(spec);
	json_decref(values);
	return rc;
}
