/* Unit tests: a service as a Swarm ServiceSpec (spec_swarm.c), and the deploy
 * settings in the canonical spec: absent, they leave a container's hash
 * alone; on swarm, replicas and the update settings enter it. */
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

#define WEB MF_HEAD \
	"services:\n" \
	"  web:\n" \
	"    image: reg.example/web@" DIGEST_A "\n" \
	"    environment:\n" \
	"      TOKEN: {secret: token}\n" \
	"      MODE: prod\n" \
	"    secrets: [cert]\n" \
	"    ports: [\"8080:80\"]\n" \
	"    networks: [app]\n" \
	"    volumes: [\"data:/data\"]\n" \
	"    healthcheck:\n" \
	"      test: [\"CMD\", \"true\"]\n" \
	"      interval: 2s\n" \
	"    hooks:\n" \
	"      pre_deploy:\n" \
	"        - name: migrate\n" \
	"          command: [\"/app/migrate\", \"up\"]\n" \
	"networks:\n" \
	"  app: {}\n" \
	"volumes:\n" \
	"  data: {}\n"

static int
setup(void **state)
{
	char err[ERR_LEN], key[96], path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rt-spsw-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/.key", dir);
	snprintf(path, sizeof(path), "%s/token", dir);
	assert_int_equal(file_write_atomic(path, "s3cret", 6, 0600, err), 0);
	snprintf(path, sizeof(path), "%s/cert", dir);
	assert_int_equal(file_write_atomic(path, "CERT", 4, 0600, err), 0);
	assert_int_equal(secrets_open(&hs, dir, key, 1, err), 0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	secretmap_release(&sec);
	secrets_release(&hs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct manifest *
load(const char *text)
{
	struct diag d;
	struct manifest *m = parse_text(text, &d);

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	diag_release(&d);
	secretmap_release(&sec);
	secrets_resolve(&hs, m, &sec);
	return m;
}

static json_t *
secret_ids(void)
{
	return json_pack("{s:{s:s,s:s}}", "cert", "id", "sec123", "name", "t-web-cert-abc");
}

static void
hash_for(const struct manifest *m, enum spec_target t, char out[65])
{
	char err[ERR_LEN] = "";
	json_t *spec = NULL;

	assert_int_equal(spec_service_for(m, &m->services[0], &sec, t, &spec, err), 0);
	spec_hash(spec, out);
	json_decref(spec);
}

static const char *
str_at(json_t *j, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
		j = json_object_get(j, tok);
	return json_string_value(j);
}

/* The body: name, labels, image, env with the real value, the secret file,
 * ports on the ingress, networks with the service's name as alias, the update
 * that Swarm rolls back on failure. */
static void
test_service_body(void **state)
{
	struct manifest *m = load(WEB);
	json_t *ids = secret_ids(), *body = NULL, *cs, *env, *sf, *up;
	char err[ERR_LEN] = "", hash[65];
	int found = 0;
	size_t i;
	json_t *v;

	(void)state;
	assert_int_equal(spec_swarm_service(m, &m->services[0], &sec, "rev1", ids, &body, err), 0);
	assert_string_equal(str_at(body, "Name"), "t-web");
	hash_for(m, SPEC_SWARM, hash);
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "Labels"),
	    LABEL_HASH)), hash);
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "Labels"),
	    LABEL_REVISION)), "rev1");
	cs = json_object_get(json_object_get(body, "TaskTemplate"), "ContainerSpec");
	assert_string_equal(str_at(cs, "Image"), "reg.example/web@" DIGEST_A);
	env = json_object_get(cs, "Env");
	json_array_foreach(env, i, v)
		found += strcmp(json_string_value(v), "TOKEN=s3cret") == 0;
	assert_int_equal(found, 1);
	sf = json_array_get(json_object_get(cs, "Secrets"), 0);
	assert_string_equal(str_at(sf, "SecretID"), "sec123");
	assert_string_equal(str_at(sf, "File.Name"), "/run/secrets/cert");
	assert_null(json_object_get(json_object_get(cs, "Labels"), LABEL_SPEC));
	assert_string_equal(str_at(json_array_get(str_at(body, "EndpointSpec.Mode") ?
	    json_object_get(json_object_get(body, "EndpointSpec"), "Ports") : NULL, 0),
	    "PublishMode"), "ingress");
	assert_string_equal(str_at(json_array_get(json_object_get(json_object_get(body,
	    "TaskTemplate"), "Networks"), 0), "Target"), "t_app");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(body,
	    "Mode"), "Replicated"), "Replicas")), 1);
	up = json_object_get(body, "UpdateConfig");
	assert_string_equal(str_at(up, "FailureAction"), "rollback");
	assert_string_equal(str_at(up, "Order"), "start-first");
	assert_int_equal(json_integer_value(json_object_get(up, "Monitor")), 5000LL * 1000000);
	assert_string_equal(str_at(body, "RollbackConfig.FailureAction"), "pause");
	json_decref(body);
	json_decref(ids);
	manifest_free(m);
}

/* A secret file whose Swarm secret is unknown is an error, not a service
 * without it. */
static void
test_service_needs_secret_ids(void **state)
{
	struct manifest *m = load(WEB);
	json_t *body = NULL, *none = json_object();
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(spec_swarm_service(m, &m->services[0], &sec, "r", none, &body, err), -1);
	assert_non_null(strstr(err, "secret 'cert' has no Swarm secret"));
	assert_null(body);
	json_decref(none);
	manifest_free(m);
}

/* No deploy: the container's hash is what it was; the swarm hash differs
 * from it and follows replicas and the update settings. */
static void
test_hashes(void **state)
{
	struct manifest *m = load(WEB);
	char c1[65], c2[65], s1[65], s2[65], s3[65], old[65];
	json_t *spec = NULL;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(spec_service(m, &m->services[0], &sec, &spec, err), 0);
	spec_hash(spec, old);
	json_decref(spec);
	hash_for(m, SPEC_CONTAINERS, c1);
	hash_for(m, SPEC_SWARM, s1);
	assert_string_equal(c1, old);
	assert_string_not_equal(c1, s1);
	m->services[0].deploy.replicas = 3;
	hash_for(m, SPEC_CONTAINERS, c2);
	hash_for(m, SPEC_SWARM, s2);
	assert_string_equal(c2, c1);
	assert_string_not_equal(s2, s1);
	m->services[0].update.parallelism = 2;
	hash_for(m, SPEC_SWARM, s3);
	assert_string_not_equal(s3, s2);
	/* resources enter a container's hash only once set */
	m->services[0].deploy.limits.memory = 64 << 20;
	hash_for(m, SPEC_CONTAINERS, c2);
	assert_string_not_equal(c2, c1);
	manifest_free(m);
}

/* deploy: mode, placement, resources and the update settings in the body. */
static void
test_deploy_settings(void **state)
{
	struct manifest *m = load(WEB);
	struct mf_service *s = &m->services[0];
	char c1[] = "node.role==worker", c2[] = "node.labels.zone==a", sp[] = "node.labels.zone";
	char *cons[] = { c1, c2 }, *spread[] = { sp };
	json_t *ids = secret_ids(), *body = NULL, *tt, *pl;
	char err[ERR_LEN] = "";

	(void)state;
	s->deploy.mode = MF_GLOBAL;
	s->deploy.constraints = cons;
	s->deploy.nconstraints = 2;
	s->deploy.spread = spread;
	s->deploy.nspread = 1;
	s->deploy.limits.nano_cpus = 500000000;
	s->deploy.limits.memory = 128 << 20;
	s->deploy.reservations.memory = 64 << 20;
	s->update.strategy = MF_STOP_FIRST;
	s->update.strategy_explicit = 1;
	s->update.parallelism = 2;
	s->update.delay = 3000;
	assert_int_equal(spec_swarm_service(m, s, &sec, "r", ids, &body, err), 0);
	assert_non_null(json_object_get(json_object_get(body, "Mode"), "Global"));
	tt = json_object_get(body, "TaskTemplate");
	pl = json_object_get(tt, "Placement");
	/* constraints are a set: sorted */
	assert_string_equal(json_string_value(json_array_get(json_object_get(pl, "Constraints"), 0)),
	    "node.labels.zone==a");
	assert_string_equal(str_at(json_array_get(json_object_get(pl, "Preferences"), 0),
	    "Spread.SpreadDescriptor"), "node.labels.zone");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(tt,
	    "Resources"), "Limits"), "NanoCPUs")), 500000000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(tt,
	    "Resources"), "Reservations"), "MemoryBytes")), 64 << 20);
	assert_string_equal(str_at(body, "UpdateConfig.Order"), "stop-first");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "UpdateConfig"),
	    "Parallelism")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "UpdateConfig"),
	    "Delay")), 3000LL * 1000000);
	/* the rollback goes the update's way unless told otherwise */
	assert_string_equal(str_at(body, "RollbackConfig.Order"), "stop-first");
	s->deploy.constraints = NULL;
	s->deploy.nconstraints = 0;
	s->deploy.spread = NULL;
	s->deploy.nspread = 0;
	json_decref(body);
	json_decref(ids);
	manifest_free(m);
}

/* A container honours deploy.resources through its HostConfig. */
static void
test_container_resources(void **state)
{
	struct manifest *m = load(WEB);
	json_t *cfg = NULL, *host;
	char err[ERR_LEN] = "";

	(void)state;
	m->services[0].deploy.limits.nano_cpus = 250000000;
	m->services[0].deploy.limits.memory = 32 << 20;
	m->services[0].deploy.limits.pids = 64;
	assert_int_equal(spec_container_config(m, &m->services[0], &sec, "r", ROLE_PRIMARY, &cfg,
	    err), 0);
	host = json_object_get(cfg, "HostConfig");
	assert_int_equal(json_integer_value(json_object_get(host, "NanoCpus")), 250000000);
	assert_int_equal(json_integer_value(json_object_get(host, "Memory")), 32 << 20);
	assert_int_equal(json_integer_value(json_object_get(host, "PidsLimit")), 64);
	json_decref(cfg);
	manifest_free(m);
}

/* A pre-deploy hook is a one-off job: its command, no healthcheck, no
 * restart, role hook. */
static void
test_hook_job(void **state)
{
	struct manifest *m = load(WEB);
	json_t *ids = secret_ids(), *body = NULL, *cs;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(spec_swarm_hook(m, &m->services[0], &m->services[0].hooks[0], &sec, "r",
	    ids, &body, err), 0);
	assert_string_equal(str_at(body, "Name"), "t-web-hook-migrate");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(body,
	    "Mode"), "ReplicatedJob"), "TotalCompletions")), 1);
	cs = json_object_get(json_object_get(body, "TaskTemplate"), "ContainerSpec");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "Command"), 0)),
	    "/app/migrate");
	assert_null(json_object_get(cs, "Healthcheck"));
	assert_string_equal(str_at(body, "TaskTemplate.RestartPolicy.Condition"), "none");
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "Labels"),
	    LABEL_ROLE)), ROLE_HOOK);
	json_decref(body);
	json_decref(ids);
	manifest_free(m);
}

/* A secret's Swarm name follows its value, so a rotation is a new secret. */
static void
test_secret_name(void **state)
{
	struct manifest *m = load(WEB);
	char *a = spec_swarm_secret_name(m, &m->services[0], "cert", "one", 3);
	char *b = spec_swarm_secret_name(m, &m->services[0], "cert", "two", 3);
	char *c = spec_swarm_secret_name(m, &m->services[0], "cert", "one", 3);

	(void)state;
	assert_string_not_equal(a, b);
	assert_string_equal(a, c);
	assert_int_equal(strlen(a), strlen("t-web-cert-") + 12);
	assert_int_equal(strncmp(a, "t-web-cert-", 11), 0);
	free(a);
	free(b);
	free(c);
	manifest_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_body),
		cmocka_unit_test(test_service_needs_secret_ids),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_deploy_settings),
		cmocka_unit_test(test_container_resources),
		cmocka_unit_test(test_hook_job),
		cmocka_unit_test(test_secret_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
