/* Placement of services on the hosts of a fleet (core/placement.c): which
 * constraints hold on a host, the fleet section of a manifest, and the plan of
 * one host: services placed elsewhere are neither built, created nor orphans;
 * a container of a service that moved away is a remove marked "moved"; only
 * the networks and volumes of the services placed here are made. */
#include "helpers.h"
#include "diff.h"
#include "placement.h"
#include "secretmap.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#define SPLIT MF_HEAD \
	"services:\n" \
	"  db:\n" \
	"    image: r/db@" DIGEST_A "\n" \
	"    environment: {PASSWORD: {secret: db_password}}\n" \
	"    volumes: [data:/data]\n" \
	"    networks: [back]\n" \
	"    deploy: {placement: {constraints: [\"node.hostname == data1\"]}}\n" \
	"  web:\n" \
	"    image: r/web@" DIGEST_A "\n" \
	"    networks: [front]\n" \
	"    deploy: {placement: {constraints: [node.labels.role==web, " \
	"\"node.labels.region != us\"]}}\n" \
	"  agent:\n" \
	"    image: r/agent@" DIGEST_A "\n" \
	"    networks: [front]\n" \
	"networks: {back: {}, front: {}}\n" \
	"volumes: {data: {}}\n" \
	"fleet:\n" \
	"  data1: {url: \"http://10.0.0.2:9180/\"}\n" \
	"  web1: {url: \"https://web1.internal:9443\"}\n"

static const unsigned char zero_key[32];

static void
host_init(struct fleet_host *h, const char *name, const char *label, const char *label2)
{
	memset(h, 0, sizeof(*h));
	h->name = xstrdup(name);
	if (label)
		assert_int_equal(fleet_host_add_label(h, label), 0);
	if (label2)
		assert_int_equal(fleet_host_add_label(h, label2), 0);
}

static void
test_constraints(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(SPLIT, &d);
	struct fleet_host data1, web1, web_us, bare;
	char *why;

	assert_non_null(m);
	host_init(&data1, "data1", "role=data", NULL);
	host_init(&web1, "web1", "role=web", "region=eu");
	host_init(&web_us, "web2", "role=web", "region=us");
	host_init(&bare, "DATA1", NULL, NULL);
	/* by name (Swarm compares without case) */
	assert_null(placement_elsewhere(manifest_service(m, "db"), &data1));
	assert_null(placement_elsewhere(manifest_service(m, "db"), &bare));
	why = placement_elsewhere(manifest_service(m, "db"), &web1);
	assert_string_equal(why, "node.hostname == data1 (this host is web1)");
	free(why);
	/* by label; != holds when the label is absent */
	assert_null(placement_elsewhere(manifest_service(m, "web"), &web1));
	why = placement_elsewhere(manifest_service(m, "web"), &web_us);
	assert_string_equal(why, "node.labels.region != us (this host's label region is us)");
	free(why);
	why = placement_elsewhere(manifest_service(m, "web"), &data1);
	assert_string_equal(why, "node.labels.role == web (this host's label role is data)");
	free(why);
	why = placement_elsewhere(manifest_service(m, "web"), &bare);
	assert_string_equal(why, "node.labels.role == web (this host has no label role)");
	free(why);
	/* no constraint: every host; no host: everything here */
	assert_null(placement_elsewhere(manifest_service(m, "agent"), &web1));
	assert_null(placement_elsewhere(manifest_service(m, "web"), NULL));
	/* what backend containers reads */
	assert_true(placement_attr_ok("node.hostname==a"));
	assert_true(placement_attr_ok(" node.labels.zone != b "));
	assert_false(placement_attr_ok("node.role==worker"));
	assert_false(placement_attr_ok("engine.labels.x==y"));
	assert_false(placement_attr_ok("node.labels.==y"));
	/* labels as the config and --host-label give them */
	assert_int_equal(fleet_host_add_label(&bare, "bad key=1"), -1);
	assert_int_equal(fleet_host_add_label(&bare, "=v"), -1);
	assert_int_equal(fleet_host_add_label(&bare, "novalue"), -1);
	assert_int_equal(fleet_host_add_label(&bare, "zone=a=b"), 0);
	assert_string_equal(bare.labels[0].value, "a=b");
	fleet_host_release(&data1);
	fleet_host_release(&web1);
	fleet_host_release(&web_us);
	fleet_host_release(&bare);
	manifest_free(m);
	diag_release(&d);
}

static void
test_fleet_section(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(SPLIT, &d);

	assert_non_null(m);
	assert_int_equal(m->nfleet, 2);
	assert_string_equal(m->fleet[0].name, "data1");
	assert_string_equal(m->fleet[0].url, "http://10.0.0.2:9180");	/* no trailing slash */
	assert_string_equal(m->fleet[1].url, "https://web1.internal:9443");
	manifest_free(m);
	diag_release(&d);

	assert_error(MF_HEAD "services: {}\nfleet: {w: {}}\n",
	    "4:12: fleet.w.url: missing required key 'url'");
	assert_error(MF_HEAD "services: {}\nfleet: {w: {url: \"ftp://x\"}}\n",
	    "4:18: fleet.w.url: invalid url 'ftp://x' (expected the address of the host's "
	    "read-only listener, http://HOST:PORT, without credentials)");
	assert_error(MF_HEAD "services: {}\nfleet: {w: {url: \"http://x\", labels: {}}}\n",
	    "4:30: fleet.w.labels: unknown key 'labels'");
	assert_error(MF_HEAD "services: {}\nfleet: [w]\n",
	    "4:8: fleet: expected a mapping, found a list");
}

/* The plan of host web1 (role web): db is data1's. */
static void
test_plan_of_one_host(void **state)
{
	struct secretmap sm;
	struct desired ds;
	struct actual a = { 0 };
	struct plan *p = NULL;
	struct diag d;
	struct manifest *m = parse_text(SPLIT, &d);
	struct fleet_host web1;
	char err[ERR_LEN] = "";
	json_t *js;

	assert_non_null(m);
	host_init(&web1, "web1", "role=web", NULL);
	/* db's secret is not on this host: it is not needed here */
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	assert_int_equal(desired_build_at(&ds, m, &sm, SPEC_CONTAINERS, &web1, err), 0);
	assert_int_equal(ds.nservices, 3);
	assert_int_equal(ds.nelsewhere, 1);
	assert_non_null(ds.services[0].elsewhere);
	assert_null(ds.services[0].spec);
	assert_null(ds.services[1].elsewhere);
	assert_false(desired_uses_network(&ds, "back"));
	assert_true(desired_uses_network(&ds, "front"));
	assert_false(desired_uses_volume(&ds, "data"));
	a.networks = json_object();
	a.volumes = json_object();
	assert_int_equal(diff_compute(&p, &ds, &a), 0);
	/* web and agent created; db neither created nor an orphan */
	assert_int_equal(p->nservices, 2);
	assert_int_equal(p->services[0].action, PLAN_CREATE);
	assert_int_equal(p->services[1].action, PLAN_CREATE);
	assert_int_equal(p->nnetworks, 1);
	assert_string_equal(p->networks[0].name, "t_front");
	assert_int_equal(p->nvolumes, 0);
	assert_int_equal(json_array_size(p->elsewhere), 1);
	js = plan_json(p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(js, "elsewhere"), 0), "service")), "db");
	json_decref(js);
	plan_free(p);
	desired_release(&ds);
	actual_release(&a);
	fleet_host_release(&web1);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

/* web moved away from data1: its container there is a remove, marked moved,
 * its volumes kept; the JSON form keeps the mark both ways. */
static void
test_moved_away(void **state)
{
	struct secretmap sm;
	struct desired ds;
	struct actual a = { 0 };
	struct actual_ctr c = { 0 };
	struct plan *p = NULL, *back = NULL;
	struct diag d;
	struct manifest *m = parse_text(SPLIT, &d);
	struct fleet_host data1;
	char err[ERR_LEN] = "";
	const struct plan_service *ps = NULL;
	json_t *js, *raw = json_object();

	assert_non_null(m);
	host_init(&data1, "data1", "role=data", NULL);
	secretmap_init(&sm, "/run/reconciler-test", zero_key);
	secretmap_put(&sm, "db_password", "pw\n", 3, NULL);
	assert_int_equal(desired_build_at(&ds, m, &sm, SPEC_CONTAINERS, &data1, err), 0);
	c.id = xstrdup("id-web");
	c.name = xstrdup("t-web");
	c.image = xstrdup("r/web");
	c.state = xstrdup("running");
	c.labels = json_pack("{s:s,s:s,s:s,s:s}", LABEL_PROJECT, "t", LABEL_SERVICE, "web",
	    LABEL_HASH, "0000", LABEL_ROLE, ROLE_PRIMARY);
	actual_add(&a, &c, raw);
	json_decref(raw);
	a.networks = json_object();
	a.volumes = json_object();
	assert_int_equal(diff_compute(&p, &ds, &a), 0);
	for (size_t i = 0; i < p->nservices; i++)
		if (strcmp(p->services[i].service, "web") == 0)
			ps = &p->services[i];
	assert_non_null(ps);
	assert_int_equal(ps->action, PLAN_REMOVE);
	assert_string_equal(ps->moved, "node.labels.role == web (this host's label role is data)");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ps->reasons, 0),
	    "field")), "placement");
	assert_false(plan_in_sync(p));
	js = plan_json(p);
	assert_int_equal(plan_from_json(&back, js, err), 0);
	for (size_t i = 0; i < back->nservices; i++)
		if (strcmp(back->services[i].service, "web") == 0)
			assert_string_equal(back->services[i].moved, ps->moved);
	assert_int_equal(json_array_size(back->elsewhere), 1);
	json_decref(js);
	plan_free(back);
	plan_free(p);
	desired_release(&ds);
	actual_release(&a);
	fleet_host_release(&data1);
	secretmap_release(&sm);
	manifest_free(m);
	diag_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_fleet_section),
		cmocka_unit_test(test_plan_of_one_host),
		cmocka_unit_test(test_moved_away),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
