/* Unit tests of converge's scheduler through a fake backend (no engine):
 * dependency order, a failed dependency blocking its dependents, the old
 * container of a replace removed after the new one serves (the leftover),
 * and each rollout's step times. */
#include "helpers.h"
#include "backend.h"
#include "converge.h"
#include "diff.h"
#include "secretmap.h"
#include "spec.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

/* b depends on a, c on nothing: a and c may go at once, b only after a. */
#define THREE MF_HEAD \
	"services:\n" \
	"  a:\n" \
	"    image: r/a@" DIGEST_A "\n" \
	"  b:\n" \
	"    image: r/b@" DIGEST_A "\n" \
	"    depends_on: [a]\n" \
	"  c:\n" \
	"    image: r/c@" DIGEST_A "\n"

static const unsigned char zero_key[32];

/* What the fake backend was asked, in order: "replace a", "remove old-a". */
static char calls[16][32];
static size_t ncalls;
static const char *fail_service;	/* its replace fails */

static void
called(const char *what, const char *name)
{
	if (ncalls < sizeof(calls) / sizeof(calls[0]))
		snprintf(calls[ncalls++], sizeof(calls[0]), "%s %s", what, name);
}

static int
fake_prepare(const struct deploy_ctx *c, const struct plan *p, char *err)
{
	(void)c;
	(void)p;
	(void)err;
	return 0;
}

static int
fake_replace(const struct deploy_ctx *c, const struct desired_service *dsv,
    const struct plan_service *ps, char *err)
{
	called("replace", dsv->svc->name);
	deploy_step(c, STEP_CREATED);
	if (fail_service && strcmp(fail_service, dsv->svc->name) == 0)
		return errf(err, "the container is unhealthy");
	deploy_step(c, STEP_HEALTHY);
	deploy_step(c, STEP_RENAMED);
	c->cs->leftover = xstrdup(ps->id);
	return 0;
}

static int
fake_remove(const struct deploy_ctx *c, const char *id, const struct mf_service *s,
    char *err)
{
	(void)s;
	(void)err;
	called("remove", id);
	deploy_step(c, STEP_OLD_STOPPED);
	deploy_step(c, STEP_OLD_REMOVED);
	return 0;
}

static const struct backend_ops fake = {
	.name = "fake",
	.target = SPEC_CONTAINERS,
	.prepare = fake_prepare,
	.replace = fake_replace,
	.remove = fake_remove,
};

static void
add_container(struct actual *a, const char *name, const char *svc)
{
	struct actual_ctr c = { 0 };
	json_t *raw = json_object();

	c.id = xasprintf("old-%s", svc);
	c.name = xstrdup(name);
	c.image = xstrdup("r/x");
	c.state = xstrdup("running");
	c.labels = json_pack("{s:s,s:s,s:s,s:s}", LABEL_PROJECT, "t", LABEL_SERVICE, svc,
	    LABEL_HASH, "0000", LABEL_ROLE, ROLE_PRIMARY);
	actual_add(a, &c, raw);
	json_decref(raw);
}

static size_t
at(const char *call)
{
	for (size_t i = 0; i < ncalls; i++)
		if (strcmp(calls[i], call) == 0)
			return i;
	fail_msg("no call '%s'", call);
	return 0;
}

/* Every service replaced: a, c and b in dependency order, then the three
 * old containers removed (one worker: nothing else was left to start). */
static void
run(struct converge_report *rep, const char *failing)
{
	struct secretmap sm;
	struct desired ds;
	struct actual a = { 0 };
	struct plan *p = NULL;
	struct diag d;
	struct manifest *m = parse_text(THREE, &d);
	struct converge_options o = CONVERGE_OPTIONS_INIT;
	char err[ERR_LEN] = "";

	assert_non_null(m);
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	assert_int_equal(desired_build(&ds, m, &sm, err), 0);
	add_container(&a, "t-a", "a");
	add_container(&a, "t-b", "b");
	add_container(&a, "t-c", "c");
	a.networks = json_object();
	a.volumes = json_object();
	assert_int_equal(diff_compute(&p, &ds, &a), 0);
	ncalls = 0;
	fail_service = failing;
	o.backend = &fake;
	o.revision = "r1";
	assert_int_equal(converge_apply(NULL, &ds, p, &sm, &o, rep, err), 0);
	plan_free(p);
	actual_release(&a);
	desired_release(&ds);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

static const struct converge_service *
report_of(const struct converge_report *rep, const char *service)
{
	for (size_t i = 0; i < rep->nservices; i++)
		if (strcmp(rep->services[i].service, service) == 0)
			return &rep->services[i];
	fail_msg("no report for '%s'", service);
	return NULL;
}

static void
test_order_and_leftovers(void **state)
{
	struct converge_report rep;
	const struct converge_service *cs;
	json_t *t;

	run(&rep, NULL);
	assert_int_equal(ncalls, 6);
	assert_true(at("replace a") < at("replace b"));
	/* the old containers go after every service that could start started */
	assert_true(at("remove old-a") > at("replace b"));
	assert_true(at("remove old-a") > at("replace c"));
	assert_true(at("remove old-b") > at("replace b"));
	assert_true(at("remove old-c") > at("replace c"));
	assert_int_equal(rep.failed, 0);
	assert_int_equal(rep.changed, 3);
	cs = report_of(&rep, "a");
	assert_int_equal(cs->outcome, CONVERGE_OK);
	assert_null(cs->leftover);
	assert_true(cs->began > 0);
	assert_true(cs->steps[STEP_RENAMED] >= cs->steps[STEP_CREATED]);
	assert_true(cs->steps[STEP_OLD_REMOVED] >= cs->steps[STEP_RENAMED]);
	assert_int_equal(cs->steps[STEP_STARTED], 0);	/* not reached: not written */
	t = converge_steps_json(cs);
	assert_int_equal(json_integer_value(json_object_get(t, "began")), cs->began);
	assert_non_null(json_object_get(json_object_get(t, "steps"), "old-removed"));
	assert_null(json_object_get(json_object_get(t, "steps"), "started"));
	assert_string_equal(json_object_iter_key(json_object_iter(json_object_get(t, "steps"))),
	    "created");
	json_decref(t);
	converge_report_release(&rep);
}

/* a fails: b, which depends on it, is blocked and never replaced; c, which
 * does not, is replaced; a failed replace leaves no leftover to remove. */
static void
test_failed_dependency_blocks(void **state)
{
	struct converge_report rep;

	run(&rep, "a");
	assert_int_equal(report_of(&rep, "a")->outcome, CONVERGE_FAILED);
	assert_int_equal(report_of(&rep, "b")->outcome, CONVERGE_BLOCKED);
	assert_string_equal(report_of(&rep, "b")->reason, "dependency 'a' failed");
	assert_int_equal(report_of(&rep, "c")->outcome, CONVERGE_OK);
	assert_int_equal(rep.failed, 2);
	assert_int_equal(ncalls, 3);
	assert_true(at("replace c") < at("remove old-c"));
	assert_int_equal(at("replace a"), 0);
	converge_report_release(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_leftovers),
		cmocka_unit_test(test_failed_dependency_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
