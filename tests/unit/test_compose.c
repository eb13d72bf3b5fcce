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
		cmocka_unit_test(test_ref_parse),
		cmocka_unit_test(test_project_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
