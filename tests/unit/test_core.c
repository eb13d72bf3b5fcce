/* Unit tests of the pure core as a whole: this program links every object of
 * reconciler/base and reconciler/core (whole archive) with only jansson,
 * libyaml and libcrypto, so a core file that reaches for libcurl, libuv,
 * libgit2 or sqlite fails the build. The pipeline's pure half runs here with
 * no engine: a manifest and an in-memory secret map give the desired state,
 * and a hand-made actual state gives the plan. */
#include "helpers.h"
#include "diff.h"
#include "secretmap.h"
#include "spec.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#define TWO MF_HEAD \
	"services:\n" \
	"  web:\n" \
	"    image: r/web@" DIGEST_A "\n" \
	"    environment: {TOKEN: {secret: token}}\n" \
	"  db:\n" \
	"    image: r/db@" DIGEST_A "\n"

static const unsigned char zero_key[32];

/* A container of service svc as the engine would list it, with the labels
 * the reconciler puts on it. */
static void
add_container_in(struct actual *a, const char *name, const char *svc, const char *hash,
    const char *st)
{
	struct actual_ctr c = { 0 };
	json_t *raw = json_object();

	c.id = xstrdup(name);
	c.name = xstrdup(name);
	c.image = xstrdup("r/x");
	c.state = xstrdup(st);
	c.labels = json_pack("{s:s,s:s,s:s,s:s}", LABEL_PROJECT, "t", LABEL_SERVICE, svc,
	    LABEL_HASH, hash, LABEL_ROLE, ROLE_PRIMARY);
	actual_add(a, &c, raw);
	json_decref(raw);
	assert_null(c.labels);	/* taken over */
}

static void
add_container(struct actual *a, const char *name, const char *svc, const char *hash)
{
	add_container_in(a, name, svc, hash, "running");
}

static void
test_plan_without_engine(void **state)
{
	struct secretmap sm;
	struct desired ds;
	struct actual a = { 0 };
	struct plan *p = NULL;
	struct diag d;
	struct manifest *m = parse_text(TWO, &d);
	char err[ERR_LEN] = "";

	assert_non_null(m);
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	secretmap_put(&sm, "token", "t0ken\n", 6, NULL);
	assert_int_equal(desired_build(&ds, m, &sm, err), 0);
	assert_int_equal(ds.nservices, 2);
	/* web runs with another spec, db runs as desired, old is not in the manifest */
	add_container(&a, "t-web", "web", "0000");
	add_container(&a, "t-db", "db", ds.services[1].hash);
	add_container(&a, "t-old", "old", "1111");
	a.networks = json_object();
	a.volumes = json_object();
	assert_int_equal(diff_compute(&p, &ds, &a), 0);
	assert_false(plan_in_sync(p));
	for (size_t i = 0; i < p->nservices; i++) {
		const struct plan_service *ps = &p->services[i];

		if (strcmp(ps->service, "web") == 0)
			assert_int_equal(ps->action, PLAN_RECREATE);
		else if (strcmp(ps->service, "db") == 0)
			assert_int_equal(ps->action, PLAN_IN_SYNC);
		else
			assert_int_equal(ps->action, PLAN_REMOVE);
	}
	assert_int_equal(p->nservices, 3);
	plan_free(p);
	actual_release(&a);
	desired_release(&ds);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

/* A stopped container with the desired spec is started; one the engine is
 * removing is neither started nor replaced (its name is not free yet): an
 * anomaly says so, and the next cycle creates it. */
static void
test_plan_stopped_and_removing(void **state)
{
	struct secretmap sm;
	struct desired ds;
	struct actual a = { 0 };
	struct plan *p = NULL;
	struct diag d;
	struct manifest *m = parse_text(TWO, &d);
	char err[ERR_LEN] = "";

	assert_non_null(m);
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	secretmap_put(&sm, "token", "t0ken\n", 6, NULL);
	assert_int_equal(desired_build(&ds, m, &sm, err), 0);
	add_container_in(&a, "t-web", "web", ds.services[0].hash, "removing");
	add_container_in(&a, "t-db", "db", ds.services[1].hash, "exited");
	a.networks = json_object();
	a.volumes = json_object();
	assert_int_equal(diff_compute(&p, &ds, &a), 0);
	assert_false(plan_in_sync(p));
	assert_int_equal(p->nservices, 2);
	assert_string_equal(p->services[0].service, "web");
	assert_int_equal(p->services[0].action, PLAN_IN_SYNC);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    p->services[0].anomalies, 0), "kind")), "removing");
	assert_string_equal(p->services[1].service, "db");
	assert_int_equal(p->services[1].action, PLAN_START);
	plan_free(p);
	actual_release(&a);
	desired_release(&ds);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

/* The plan of one actual state of TWO's web (db in sync), for the cases below. */
static struct plan *
plan_web(struct desired *ds, struct actual *a, const char *const *names,
    const char *const *hashes, size_t n)
{
	struct plan *p = NULL;

	for (size_t i = 0; i < n; i++)
		add_container(a, names[i], "web", hashes[i] ? hashes[i] : ds->services[0].hash);
	add_container(a, "t-db", "db", ds->services[1].hash);
	a->networks = json_object();
	a->volumes = json_object();
	assert_int_equal(diff_compute(&p, ds, a), 0);
	assert_string_equal(p->services[0].service, "web");
	return p;
}

/* What a crash between the steps of a cut-over leaves (containers.c
 * cut_over): the new one serving beside "-old"; "-old" beside the healthy
 * "-next"; "-old" alone. The old one always goes, the new one is kept. */
static void
test_plan_rollout_leftovers(void **state)
{
	static const char *const served[] = { "t-web", "t-web-old" };
	static const char *const between[] = { "t-web-old", "t-web-next" };
	static const char *const alone[] = { "t-web-old" };
	const char *hashes[2] = { NULL, "0000" };
	struct secretmap sm;
	struct desired ds;
	struct plan *p;
	struct diag d;
	struct manifest *m = parse_text(TWO, &d);
	char err[ERR_LEN] = "";
	struct actual a = { 0 };

	assert_non_null(m);
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	secretmap_put(&sm, "token", "t0ken\n", 6, NULL);
	assert_int_equal(desired_build(&ds, m, &sm, err), 0);

	p = plan_web(&ds, &a, served, hashes, 2);
	assert_int_equal(p->services[0].action, PLAN_IN_SYNC);
	assert_string_equal(p->services[0].container, "t-web");
	assert_int_equal(json_array_size(p->services[0].extra_ids), 1);
	assert_string_equal(json_string_value(json_array_get(p->services[0].extra_ids, 0)),
	    "t-web-old");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    p->services[0].anomalies, 0), "kind")), "stale-rollout");
	plan_free(p);
	actual_release(&a);

	memset(&a, 0, sizeof(a));
	hashes[0] = "0000";
	hashes[1] = NULL;
	p = plan_web(&ds, &a, between, hashes, 2);
	assert_int_equal(p->services[0].action, PLAN_START);	/* renamed, then gated */
	assert_string_equal(p->services[0].container, "t-web-next");
	assert_string_equal(json_string_value(json_array_get(p->services[0].extra_ids, 0)),
	    "t-web-old");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    p->services[0].anomalies, 0), "kind")), "stale-rollout");
	plan_free(p);
	actual_release(&a);

	memset(&a, 0, sizeof(a));
	p = plan_web(&ds, &a, alone, hashes, 1);
	assert_int_equal(p->services[0].action, PLAN_RECREATE);
	assert_string_equal(p->services[0].container, "t-web-old");
	assert_int_equal(json_array_size(p->services[0].extra_ids), 0);
	plan_free(p);
	actual_release(&a);

	desired_release(&ds);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

static void
test_secret_error_is_reported_in_order(void **state)
{
	struct secretmap sm;
	struct desired ds;
	struct diag d;
	struct manifest *m = parse_text(TWO, &d);
	char err[ERR_LEN] = "";
	const char *v;
	size_t len;

	assert_non_null(m);
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	secretmap_put(&sm, "token", NULL, 0, "secret 'token': no such file (create it)");
	assert_int_equal(desired_build(&ds, m, &sm, err), -1);
	assert_string_equal(err, "services.web: secret 'token': no such file (create it)");
	assert_int_equal(secretmap_get(&sm, "absent", 0, &v, &len, err), -1);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

static void
test_secret_trim_and_digest(void **state)
{
	struct secretmap sm;
	const char *v;
	size_t len;
	char err[ERR_LEN], d1[80], d2[80];
	char *path;

	secretmap_init(&sm, "/run/s", zero_key);
	secretmap_put(&sm, "a", "x\r\n", 3, NULL);
	assert_int_equal(secretmap_get(&sm, "a", 1, &v, &len, err), 0);
	assert_int_equal(len, 1);
	assert_int_equal(secretmap_get(&sm, "a", 0, &v, &len, err), 0);
	assert_int_equal(len, 3);
	secretmap_digest(&sm, "x", 1, d1);
	secretmap_digest(&sm, "y", 1, d2);
	assert_string_not_equal(d1, d2);
	assert_int_equal(strncmp(d1, "hmac-sha256:", 12), 0);
	path = secretmap_path(&sm, "a");
	assert_string_equal(path, "/run/s/a");
	free(path);
	secretmap_release(&sm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_without_engine),
		cmocka_unit_test(test_plan_stopped_and_removing),
		cmocka_unit_test(test_plan_rollout_leftovers),
		cmocka_unit_test(test_secret_error_is_reported_in_order),
		cmocka_unit_test(test_secret_trim_and_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
