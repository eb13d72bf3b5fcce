/* Unit tests: canonical spec and spec hash. Comments, key order, whitespace
 * and equivalent spellings leave the hash alone; every field that changes the
 * container changes it; secret values enter only as keyed digests. */
#include "helpers.h"
#include "secretmap.h"
#include "secrets.h"
#include "spec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];
static struct secrets hs;
static struct secretmap sec;

static void
write_secret(const char *name, const char *value)
{
	char path[128], err[ERR_LEN];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(file_write_atomic(path, value, strlen(value), 0600, err), 0);
}

static int
setup(void **state)
{
	char err[ERR_LEN], key[96];

	snprintf(dir, sizeof(dir), "/tmp/rt-spec-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/.key", dir);
	write_secret("token", "s3cret-value\n");
	write_secret("app.env", "# comment\nA=1\nB=two words\n");
	write_secret("cert", "CERT");
	assert_int_equal(secrets_open(&hs, dir, key, 1, err), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	secretmap_release(&sec);
	secrets_release(&hs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* The secrets m names, read from the test's directory (as world_load does). */
static void
resolve(const struct manifest *m)
{
	secretmap_release(&sec);
	secrets_resolve(&hs, m, &sec);
}

static void
hash_of(const char *text, const char *service, char out[65])
{
	struct diag d;
	struct manifest *m = parse_text(text, &d);
	char err[ERR_LEN] = "";
	json_t *spec;

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	resolve(m);
	assert_int_equal(spec_service(m, manifest_service(m, service), &sec, &spec, err), 0);
	spec_hash(spec, out);
	json_decref(spec);
	manifest_free(m);
	diag_release(&d);
}

#define BASE MF_HEAD \
	"services:\n" \
	"  web:\n" \
	"    image: r/web@" DIGEST_A "\n" \
	"    command: httpd -f\n" \
	"    environment: {A: one, TOKEN: {secret: token}}\n" \
	"    ports: [\"127.0.0.1:8080:80\", \"9000:9000\"]\n" \
	"    networks: {front: {aliases: [b, a]}}\n" \
	"    healthcheck: {test: \"wget -q localhost\", interval: 5s}\n" \
	"networks: {front: }\n"

static void
test_hash_stable(void **state)
{
	char h1[65], h2[65], h3[65];

	hash_of(BASE, "web", h1);
	/* comments, key order, flow vs block style, quoting, equivalent forms */
	hash_of("# a comment\n" MF_HEAD
	    "networks:\n  front:\n"
	    "services:\n"
	    "  web:   # the web service\n"
	    "    healthcheck:\n      interval: 5000ms\n      test: [CMD-SHELL, \"wget -q localhost\"]\n"
	    "    networks:\n      front:\n        aliases: [a, b, web]\n"
	    "    ports:\n      - \"9000:9000/tcp\"\n      - '127.0.0.1:8080:80'\n"
	    "    environment:\n      - A=one\n"
	    "    image: \"r/web@" DIGEST_A "\"\n"
	    "    command: [\"/bin/sh\", \"-c\", \"httpd -f\"]\n"
	    "    restart: unless-stopped\n", "web", h2);
	/* the list form of env cannot hold a secret: add it in map form instead */
	hash_of("# a comment\n" MF_HEAD
	    "networks:\n  front:\n"
	    "services:\n"
	    "  web:   # the web service\n"
	    "    healthcheck:\n      interval: 5000ms\n      test: [CMD-SHELL, \"wget -q localhost\"]\n"
	    "    networks:\n      front:\n        aliases: [a, b, web]\n"
	    "    ports:\n      - \"9000:9000/tcp\"\n      - '127.0.0.1:8080:80'\n"
	    "    environment:\n      TOKEN: {secret: token}\n      A: \"one\"\n"
	    "    image: \"r/web@" DIGEST_A "\"\n"
	    "    command: [\"/bin/sh\", \"-c\", \"httpd -f\"]\n"
	    "    logging: {driver: json-file, options: {max-size: 10m, max-file: \"3\"}}\n"
	    "    restart: unless-stopped\n", "web", h3);
	assert_string_not_equal(h1, h2);	/* h2 lacks TOKEN */
	assert_string_equal(h1, h3);
}

static void
test_hash_changes(void **state)
{
	static const struct { const char *from, *to; } edits[] = {
		{ DIGEST_A, DIGEST_B },
		{ "command: httpd -f", "command: httpd -f -v" },
		{ "A: one", "A: two" },
		{ "A: one", "A2: one" },
		{ "TOKEN: {secret: token}", "TOKEN: {secret: cert}" },
		{ "127.0.0.1:8080", "127.0.0.1:8081" },
		{ "9000:9000", "9000:9000/udp" },
		{ "aliases: [b, a]", "aliases: [b]" },
		{ "interval: 5s", "interval: 6s" },
		{ "wget -q localhost", "wget localhost" },
		{ "command: httpd -f\n", "command: httpd -f\n    user: nobody\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    restart: always\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    labels: {a: b}\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    working_dir: /srv\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    entrypoint: [x]\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    env_files: [app.env]\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    secrets: [cert]\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    volumes: [\"/srv:/srv:ro\"]\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    stop_grace_period: 30s\n" },
		{ "command: httpd -f\n", "command: httpd -f\n    logging: {driver: local}\n" },
	};
	char base[65], h[65];

	hash_of(BASE, "web", base);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *at = strstr(BASE, edits[i].from);
		char *text;

		assert_non_null(at);
		text = xasprintf("%.*s%s%s", (int)(at - BASE), BASE, edits[i].to,
		    at + strlen(edits[i].from));
		hash_of(text, "web", h);
		if (strcmp(h, base) == 0)
			print_error("edit %zu (%s -> %s) did not change the hash\n", i, edits[i].from,
			    edits[i].to);
		assert_string_not_equal(h, base);
		free(text);
	}
}

static void
test_hash_ignores_rollout_settings(void **state)
{
	char base[65], h[65];

	hash_of(BASE, "web", base);
	hash_of(MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n    command: httpd -f\n"
	    "    environment: {A: one, TOKEN: {secret: token}}\n"
	    "    ports: [\"127.0.0.1:8080:80\", \"9000:9000\"]\n"
	    "    networks: {front: {aliases: [b, a]}}\n"
	    "    healthcheck: {test: \"wget -q localhost\", interval: 5s}\n"
	    "    update: {min_ready: 9s}\n"
	    "    probe: {http: {port: 80}}\n"
	    "networks: {front: }\n", "web", h);
	assert_string_equal(base, h);
}

/* track is update-images' setting: adding or changing it recreates nothing */
static void
test_hash_ignores_track(void **state)
{
	static const char *const tracks[] = {
		"    track: {tag: \"1\"}\n",
		"    track: {tag: 1.2-alpine, cooldown: 3d}\n",
	};
	const char *img = strstr(BASE, DIGEST_A "\n");
	char base[65], h[65];

	assert_non_null(img);
	hash_of(BASE, "web", base);
	for (size_t i = 0; i < sizeof(tracks) / sizeof(tracks[0]); i++) {
		size_t cut = (size_t)(img - BASE) + strlen(DIGEST_A "\n");
		char *text = xasprintf("%.*s%s%s", (int)cut, BASE, tracks[i], BASE + cut);

		hash_of(text, "web", h);
		assert_string_equal(base, h);
		free(text);
	}
}

static void
test_secret_rotation_and_redaction(void **state)
{
	char h1[65], h2[65], err[ERR_LEN];
	struct diag d;
	struct manifest *m;
	json_t *spec, *cfg;
	char *text;

	hash_of(BASE, "web", h1);
	write_secret("token", "rotated\n");
	hash_of(BASE, "web", h2);
	assert_string_not_equal(h1, h2);

	m = parse_text(BASE, &d);
	resolve(m);
	assert_int_equal(spec_service(m, manifest_service(m, "web"), &sec, &spec, err), 0);
	text = spec_canonical(spec);
	assert_null(strstr(text, "rotated"));
	assert_non_null(strstr(text, "hmac-sha256:"));
	free(text);
	json_decref(spec);
	/* the create body carries the value (the container needs it), but its
	 * spec label does not */
	resolve(m);
	assert_int_equal(spec_container_config(m, manifest_service(m, "web"), &sec, "abc",
	    ROLE_PRIMARY, &cfg, err), 0);
	text = json_dumps(json_object_get(cfg, "Env"), 0);
	assert_non_null(strstr(text, "TOKEN=rotated"));
	free(text);
	text = json_dumps(json_object_get(cfg, "Labels"), 0);
	assert_null(strstr(text, "rotated"));
	assert_non_null(strstr(text, LABEL_HASH));
	free(text);
	assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "HostConfig"),
	    "NetworkMode")), "t_front");
	json_decref(cfg);
	manifest_free(m);
	diag_release(&d);
	write_secret("token", "s3cret-value\n");
}

static void
test_missing_secret(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    environment: {X: {secret: nope}}\n", &d);
	char err[ERR_LEN];
	json_t *spec;

	assert_non_null(m);
	resolve(m);
	assert_int_equal(spec_service(m, &m->services[0], &sec, &spec, err), -1);
	assert_non_null(strstr(err, "secret 'nope'"));
	manifest_free(m);
	diag_release(&d);
}

/* A secret kept in Git enters the hash only through its keyed digest: the
 * same plaintext (re-encrypted, or moved from the host's directory) keeps the
 * hash, a changed one changes it, and a declared secret that was not
 * decrypted is an error, never a read of the directory. */
static void
test_git_secret(void **state)
{
	struct secrets_git g = { NULL, 0 };
	char host[65], same[65], changed[65], other[65], other2[65], err[ERR_LEN];
	struct manifest *m;
	struct diag d;
	json_t *spec;
	char *v;
	size_t len;

	hash_of(BASE, "web", host);
	secrets_git_put(&g, "token", "s3cret-value\n", 13);
	hs.git = &g;
	hash_of(BASE "secrets: {token: {file: secrets/token.age}}\n", "web", same);
	assert_string_equal(host, same);
	/* secrets_read (a notification's url) takes the Git value too */
	write_secret("token", "host-value\n");
	assert_int_equal(secrets_read(&hs, "token", 1, &v, &len, err), 0);
	assert_string_equal(v, "s3cret-value");
	secret_free(v, len);
	hash_of(BASE "secrets: {token: {file: secrets/token.age}}\n", "web", same);
	assert_string_equal(host, same);
	secrets_git_release(&g);
	secrets_git_put(&g, "token", "changed\n", 8);
	hash_of(BASE "secrets: {token: {file: secrets/token.age}}\n", "web", changed);
	assert_string_not_equal(host, changed);
	/* a service that does not use the secret keeps its hash */
	hash_of(MF_HEAD "services:\n  other:\n    image: r/other@" DIGEST_B "\n"
	    "secrets: {token: {file: secrets/token.age}}\n", "other", other);
	secrets_git_release(&g);
	secrets_git_put(&g, "token", "s3cret-value\n", 13);
	hash_of(MF_HEAD "services:\n  other:\n    image: r/other@" DIGEST_B "\n"
	    "secrets: {token: {file: secrets/token.age}}\n", "other", other2);
	assert_string_equal(other, other2);
	/* declared but not decrypted: an error naming the file */
	hs.git = NULL;
	m = parse_text(BASE "secrets: {token: {file: secrets/token.age}}\n", &d);
	assert_non_null(m);
	resolve(m);
	assert_int_equal(spec_service(m, manifest_service(m, "web"), &sec, &spec, err), -1);
	assert_non_null(strstr(err, "secrets/token.age"));
	assert_null(strstr(err, "host-value"));
	manifest_free(m);
	diag_release(&d);
	secrets_git_release(&g);
	write_secret("token", "s3cret-value\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_stable),
		cmocka_unit_test(test_hash_changes),
		cmocka_unit_test(test_hash_ignores_rollout_settings),
		cmocka_unit_test(test_hash_ignores_track),
		cmocka_unit_test(test_secret_rotation_and_redaction),
		cmocka_unit_test(test_missing_secret),
		cmocka_unit_test(test_git_secret),
	};

	return cmocka_run_group_tests_name("spec", tests, setup, teardown);
}
