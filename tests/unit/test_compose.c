/* Unit tests: import-compose's converter on small Compose files, and the
 * registry reference parser. */
#include "helpers.h"
#include "compose.h"
#include "registry.h"
#include "util.h"

#include <stdlib.h>

/* Converts src; returns the manifest text (caller frees), *rc the result,
 * and the report lines joined in *report (caller frees). */
static char *
convert(const char *src, int *rc, char **report)
{
	struct compose_options o = COMPOSE_OPTIONS_INIT;
	struct compose_result r;
	struct diag d;
	struct buf b;
	char *text;

	o.default_project = "t";
	o.base_dir = "/srv/t";
	diag_init(&d, "c.yml");
	*rc = compose_convert(&r, "c.yml", src, strlen(src), &o, &d);
	buf_init(&b, 0);
	for (size_t i = 0; i < d.n; i++)
		buf_addf(&b, "%d:%d: %s: %s\n", d.v[i].line, d.v[i].col, d.v[i].path, d.v[i].msg);
	*report = buf_detach(&b, NULL);
	text = r.text ? xstrdup(r.text) : NULL;
	compose_result_release(&r);
	diag_release(&d);
	return text;
}

static void
assert_has(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle)) {
		print_error("wanted: %s\nin:\n%s\n", needle, hay ? hay : "(null)");
		fail();
	}
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (hay && strstr(hay, needle)) {
		print_error("must not contain: %s\nin:\n%s\n", needle, hay);
		fail();
	}
}

#define IMG "    image: r@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"

static void
test_values(void **state)
{
	char *rep, *out;
	int rc;

	out = convert("services:\n  a:\n" IMG
	    "    environment: [\"A=x$$y\", \"B=${S:-dflt}\", \"C=pre-${S}-post\", \"D=$E\"]\n"
	    "    stop_grace_period: 1.5s\n"
	    "    healthcheck: {test: \"true\", interval: 1m30s, timeout: 2500us, retries: 2}\n",
	    &rc, &rep);
	assert_int_equal(rc, 0);
	assert_has(out, "      A: \"x$y\"\n");
	assert_has(out, "      B: {secret: s}\n");
	assert_has(out, "      C: {secret: c}   # pre-${S}-post\n");
	assert_has(out, "      D: {secret: e}\n");
	assert_has(out, "    stop_grace_period: 1s500ms\n");
	assert_has(out, "      test: [\"CMD-SHELL\", \"true\"]\n");
	assert_has(out, "      interval: 1m30s\n");
	assert_has(out, "      timeout: 2ms\n");
	assert_has(rep, "4:29: services.a.environment[1]: secret: ${S} becomes {secret: s} (its default "
	    "is not copied)");
	assert_has(rep, "services.a.healthcheck.timeout: note: '2500us' rounded down");
	assert_lacks(out, "dflt");
	assert_lacks(rep, "dflt");
	free(out);
	free(rep);
}

static void
test_secret_names(void **state)
{
	char *rep, *out;
	int rc;

	/* the same name for two different contents: the second is renamed */
	out = convert("services:\n  a:\n" IMG "    environment: {URL: \"x${P}\"}\n"
	    "  b:\n" IMG "    environment: {URL: \"y${P}\"}\n", &rc, &rep);
	assert_int_equal(rc, 0);
	assert_has(out, "      URL: {secret: url}   # x${P}\n");
	assert_has(out, "      URL: {secret: b_url}   # y${P}\n");
	free(out);
	free(rep);
}

static void
test_commands(void **state)
{
	char *rep, *out;
	int rc;

	out = convert("services:\n  a:\n" IMG
	    "    command: [\"run\", \"--pw=${PW}\", \"it's\"]\n"
	    "    healthcheck:\n      test: [\"CMD\", \"check\", \"$$HOME\"]\n", &rc, &rep);
	assert_int_equal(rc, 0);
	assert_has(out, "    command: \"exec run --pw=\\\"$(cat /run/secrets/pw)\\\" 'it'\\\\''s'\"\n");
	assert_has(out, "    secrets:\n      - pw\n");
	assert_has(out, "      test: [\"CMD\", \"check\", \"$HOME\"]\n");
	free(out);
	free(rep);
	out = convert("services:\n  a:\n" IMG "    entrypoint: \"${X} run\"\n", &rc, &rep);
	assert_int_equal(rc, 1);
	assert_has(rep, "services.a.entrypoint: not mapped: the entrypoint uses a variable");
	assert_lacks(out, "entrypoint");
	free(out);
	free(rep);
}

static void
test_refusals(void **state)
{
	char *rep, *out;
	int rc;

	out = convert("services:\n  a:\n    build: .\n    ports: [\"80:80\"]\n  b:\n" IMG
	    "    ports: [\"0.0.0.0:80:8080\", \"[::1]:81:81/udp\"]\n"
	    "    volumes: [\"nope:/x\", \"../../../../up:/y\", \"./d:/z:ro\"]\n", &rc, &rep);
	assert_int_equal(rc, 1);
	assert_has(rep, "3:12: services.a.image: not mapped: no image to run");
	assert_has(rep, "7:13: services.b.ports[0]: not mapped: host port 80/tcp is already "
	    "published by service 'a' (line 4)");
	assert_has(out, "      - \"[::1]:81:81/udp\"\n");
	assert_has(rep, "services.b.volumes[0]: not mapped: volume 'nope' is not declared");
	assert_has(rep, "services.b.volumes[1]: not mapped: '../../../../up' climbs above '/'");
	assert_has(out, "      - /srv/t/d:/z:ro\n");
	free(out);
	free(rep);
	out = convert("services: []\n", &rc, &rep);
	assert_int_equal(rc, -1);
	assert_null(out);
	assert_has(rep, "1:11: services: expected a mapping of services, found a list");
	free(rep);
}

/* deploy: maps to the manifest's deploy:, update_config to update:; the
 * output parses and, for its swarm keys, passes the swarm backend's check. */
static void
test_deploy(void **state)
{
	struct manifest *m;
	struct diag d;
	char *rep, *out;
	int rc;

	out = convert("services:\n  a:\n" IMG
	    "    deploy:\n"
	    "      mode: replicated\n"
	    "      replicas: 3\n"
	    "      placement:\n"
	    "        constraints: [node.role == worker]\n"
	    "        preferences: [{spread: node.labels.zone}]\n"
	    "        max_replicas_per_node: 2\n"
	    "      resources:\n"
	    "        limits: {cpus: '0.50', memory: 512M, pids: 100}\n"
	    "        reservations: {cpus: 0.25, memory: 128m}\n"
	    "      update_config: {order: start-first, parallelism: 2, delay: 10s, monitor: 1m,\n"
	    "                      failure_action: rollback}\n"
	    "      rollback_config: {parallelism: 1, delay: 500ms, order: stop-first, monitor: 30s,\n"
	    "                        failure_action: continue}\n", &rc, &rep);
	assert_int_equal(rc, 0);
	assert_has(out, "    update:\n      strategy: start-first\n      parallelism: 2\n"
	    "      delay: 10s\n      timeout: 1m\n");
	assert_has(out, "    deploy:\n      mode: replicated\n      replicas: 3\n"
	    "      placement:\n        constraints: [\"node.role == worker\"]\n"
	    "        preferences: [{spread: \"node.labels.zone\"}]\n"
	    "        max_replicas_per_node: 2\n"
	    "      resources:\n        limits:\n          cpus: \"0.50\"\n"
	    "          memory: \"512M\"\n          pids: 100\n"
	    "        reservations:\n          cpus: \"0.25\"\n          memory: \"128m\"\n"
	    "      rollback_config:\n        parallelism: 1\n        delay: 500ms\n"
	    "        order: stop-first\n        monitor: 30s\n        failure_action: continue\n");
	assert_has(rep, "4:5: services.a.deploy: note: mode, replicas, placement");
	assert_has(rep, "services.a.deploy.update_config.monitor: note: becomes update.timeout");
	assert_has(rep, "services.a.deploy.update_config.failure_action: note: the reconciler "
	    "always rolls a failed update back");
	m = parse_text(out, &d);
	if (!m)
		print_diag(&d);
	assert_non_null(m);
	assert_int_equal(manifest_check_backend(m, "swarm", &d), 0);
	assert_int_equal(manifest_service(m, "a")->deploy.limits.nano_cpus, 500000000);
	manifest_free(m);
	diag_release(&d);
	free(out);
	free(rep);

	/* what is not offered, and why; limits alone are honoured on one host */
	out = convert("services:\n  a:\n" IMG "    ports: [\"80:80\"]\n"
	    "    deploy:\n"
	    "      mode: global\n"
	    "      replicas: 2\n"
	    "      endpoint_mode: dnsrr\n"
	    "      labels: {x: y}\n"
	    "      restart_policy: {condition: on-failure}\n"
	    "      placement: {constraints: [node.role], max_replicas_per_node: 1}\n"
	    "      resources:\n"
	    "        limits: {cpus: 0.0001, memory: 1.5g, pids: 0}\n"
	    "        reservations: {memory: 64m, devices: []}\n"
	    "      update_config: {order: start-first, parallelism: 0, failure_action: pause,\n"
	    "                      max_failure_ratio: 0.5}\n"
	    "      rollback_config: {failure_action: rollback}\n"
	    "  b:\n" IMG "    deploy: {mode: global-job, resources: {limits: {memory: 1g},\n"
	    "             reservations: {memory: 2g}}}\n", &rc, &rep);
	assert_int_equal(rc, 1);
	assert_has(rep, "7:7: services.a.deploy.replicas: not mapped: replicas does not apply to "
	    "mode global");
	assert_lacks(rep, "endpoint_mode");
	assert_has(out, "      endpoint_mode: dnsrr\n");
	assert_has(rep, "9:7: services.a.deploy.labels: not mapped: the labels of the Swarm service");
	assert_has(rep, "10:7: services.a.deploy.restart_policy: not mapped: Swarm starts a new "
	    "task");
	assert_has(rep, "services.a.deploy.placement.constraints[0]: not mapped: 'node.role' is "
	    "not ATTRIBUTE==VALUE");
	assert_has(rep, "services.a.deploy.placement.max_replicas_per_node: not mapped: does not "
	    "apply to mode global");
	assert_has(rep, "services.a.deploy.resources.limits.cpus: not mapped: '0.0001' has more "
	    "than 3 decimals");
	assert_has(rep, "services.a.deploy.resources.limits.memory: not mapped: '1.5g' is not a "
	    "size the manifest reads");
	assert_has(rep, "services.a.deploy.resources.limits.pids: not mapped: expected an integer "
	    "from 1 to 4194304 here");
	assert_has(rep, "services.a.deploy.resources.reservations.devices: not mapped: devices");
	assert_has(rep, "services.a.deploy.update_config.order: not mapped: start-first cannot be "
	    "used with published host ports");
	assert_has(rep, "services.a.deploy.update_config.parallelism: not mapped: 0 (all at once) "
	    "is not offered");
	assert_has(rep, "services.a.deploy.update_config.failure_action: not mapped: 'pause' is "
	    "not offered");
	assert_has(rep, "services.a.deploy.update_config.max_failure_ratio: not mapped");
	assert_has(rep, "services.a.deploy.rollback_config.failure_action: not mapped: 'rollback' "
	    "is not offered (pause or continue)");
	assert_has(rep, "services.b.deploy.mode: not mapped: a job runs to its end");
	assert_has(rep, "services.b.deploy.resources.reservations.memory: not mapped: '2g' is more "
	    "than the limit");
	assert_lacks(out, "update:");
	assert_lacks(out, "replicas");
	assert_has(out, "    deploy:\n      mode: global\n      endpoint_mode: dnsrr\n      resources:\n        reservations:\n"
	    "          memory: \"64m\"\n");
	assert_has(out, "    deploy:\n      resources:\n        limits:\n          memory: \"1g\"\n");
	m = parse_text(out, &d);
	assert_non_null(m);
	manifest_free(m);
	diag_release(&d);
	free(out);
	free(rep);
}

static void
test_ref_parse(void **state)
{
	static const struct { const char *ref, *host, *repo, *tag; } cases[] = {
		{ "postgres", "registry-1.docker.io", "library/postgres", "latest" },
		{ "postgres:16-alpine", "registry-1.docker.io", "library/postgres", "16-alpine" },
		{ "prom/prometheus:v2", "registry-1.docker.io", "prom/prometheus", "v2" },
		{ "docker.io/grafana/grafana", "registry-1.docker.io", "grafana/grafana", "latest" },
		{ "ghcr.io/a/b/c:1.0", "ghcr.io", "a/b/c", "1.0" },
		{ "127.0.0.1:5000/t/web:v1", "127.0.0.1:5000", "t/web", "v1" },
		{ "localhost/x", "localhost", "x", "latest" },
	};
	struct registry_ref r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(registry_ref_parse(&r, cases[i].ref), 0);
		assert_string_equal(r.host, cases[i].host);
		assert_string_equal(r.repo, cases[i].repo);
		assert_string_equal(r.tag, cases[i].tag);
		registry_ref_release(&r);
	}
	assert_int_equal(registry_ref_parse(&r, "a@sha256:00"), -1);
	assert_int_equal(registry_ref_parse(&r, ""), -1);
}

static void
test_project_name(void **state)
{
	char *p = compose_project_name("My App_2");

	assert_string_equal(p, "myapp_2");
	free(p);
	assert_null(compose_project_name("..."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_secret_names),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_deploy),
		cmocka_unit_test(test_ref_parse),
		cmocka_unit_test(test_project_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
