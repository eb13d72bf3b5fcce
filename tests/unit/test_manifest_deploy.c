/* Unit tests: deploy: and the swarm update settings (the values read, their
 * defaults, each error at its place, the cpus and memory forms) and
 * manifest_check_backend on both backends. */
#include "helpers.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#define SVC MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"

static const char *all_keys =
	SVC
	"    update: {strategy: stop-first, parallelism: 2, delay: 1m30s}\n"
	"    deploy:\n"
	"      mode: replicated\n"
	"      replicas: 3\n"
	"      placement:\n"
	"        constraints: [\"node.role == worker\", node.labels.zone!=b]\n"
	"        preferences: [{spread: node.labels.zone}, {spread: engine.labels.rack}]\n"
	"        max_replicas_per_node: 2\n"
	"      resources:\n"
	"        limits: {cpus: \"0.5\", memory: 512M, pids: 100}\n"
	"        reservations: {cpus: 0.125, memory: 128mb}\n"
	"      rollback_config: {parallelism: 4, delay: 5s, order: start-first, monitor: 30s,\n"
	"                        failure_action: continue}\n";

static void
test_values(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(all_keys, &d);
	const struct mf_service *a;
	const struct mf_deploy *dp;

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	a = manifest_service(m, "a");
	dp = &a->deploy;
	assert_int_equal(a->update.parallelism, 2);
	assert_int_equal(a->update.delay, 90000);
	assert_true(dp->set);
	assert_int_equal(dp->mode, MF_REPLICATED);
	assert_int_equal(dp->replicas, 3);
	assert_int_equal(dp->nconstraints, 2);
	assert_string_equal(dp->constraints[0], "node.role == worker");
	assert_string_equal(dp->constraints[1], "node.labels.zone!=b");
	assert_int_equal(dp->nspread, 2);
	assert_string_equal(dp->spread[0], "node.labels.zone");
	assert_string_equal(dp->spread[1], "engine.labels.rack");
	assert_int_equal(dp->max_per_node, 2);
	assert_int_equal(dp->limits.nano_cpus, 500000000);
	assert_int_equal(dp->limits.memory, 512LL << 20);
	assert_int_equal(dp->limits.pids, 100);
	assert_int_equal(dp->reservations.nano_cpus, 125000000);
	assert_int_equal(dp->reservations.memory, 128LL << 20);
	assert_int_equal(dp->reservations.pids, 0);
	assert_true(dp->rollback.set);
	assert_int_equal(dp->rollback.parallelism, 4);
	assert_int_equal(dp->rollback.delay, 5000);
	assert_int_equal(dp->rollback.order, MF_START_FIRST);
	assert_true(dp->rollback.order_explicit);
	assert_int_equal(dp->rollback.monitor, 30000);
	assert_int_equal(dp->rollback.failure_action, MF_FAIL_CONTINUE);
	assert_int_equal(manifest_check_backend(m, "swarm", &d), 0);
	assert_int_equal(d.n, 0);
	manifest_free(m);
	diag_release(&d);

	m = parse_text(SVC "    deploy: {mode: global, resources: {limits: {cpus: 2, memory: 0x1000000}}}\n",
	    &d);
	assert_non_null(m);
	dp = &manifest_service(m, "a")->deploy;
	assert_int_equal(dp->mode, MF_GLOBAL);
	assert_int_equal(dp->replicas, -1);
	assert_int_equal(dp->limits.nano_cpus, 2000000000LL);
	assert_int_equal(dp->limits.memory, 16LL << 20);
	manifest_free(m);
	diag_release(&d);
}

/* What a service gets for the keys it leaves out. */
static void
test_defaults(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(SVC "  b:\n    image: r@" DIGEST_A "\n    ports: [\"80:80\"]\n"
	    "    deploy: {rollback_config: {}}\n  c:\n    image: r@" DIGEST_A "\n"
	    "    deploy: {}\n    update: {strategy: stop-first}\n", &d);
	const struct mf_service *a, *b, *c;

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	a = manifest_service(m, "a");
	b = manifest_service(m, "b");
	c = manifest_service(m, "c");
	/* no deploy: nothing set */
	assert_false(a->deploy.set);
	assert_int_equal(a->deploy.mode, MF_REPLICATED);
	assert_int_equal(a->deploy.replicas, -1);
	assert_int_equal(a->deploy.nconstraints, 0);
	assert_null(a->deploy.constraints);
	assert_int_equal(a->deploy.max_per_node, 0);
	assert_int_equal(a->deploy.limits.nano_cpus, 0);
	assert_int_equal(a->deploy.limits.memory, 0);
	assert_false(a->deploy.rollback.set);
	assert_int_equal(a->update.parallelism, 0);
	assert_int_equal(a->update.delay, 0);
	/* a rollback goes the way the update went */
	assert_int_equal(a->update.strategy, MF_START_FIRST);
	assert_int_equal(a->deploy.rollback.order, MF_START_FIRST);
	assert_false(a->deploy.rollback.order_explicit);
	assert_true(b->deploy.set);
	assert_true(b->deploy.rollback.set);
	assert_int_equal(b->deploy.rollback.order, MF_STOP_FIRST);	/* ports: stop-first */
	assert_int_equal(b->deploy.rollback.parallelism, 0);
	assert_int_equal(b->deploy.rollback.monitor, 0);
	assert_int_equal(b->deploy.rollback.failure_action, MF_FAIL_PAUSE);
	assert_true(c->deploy.set);
	assert_int_equal(c->deploy.replicas, -1);
	assert_int_equal(c->deploy.rollback.order, MF_STOP_FIRST);
	manifest_free(m);
	diag_release(&d);
}

static void
test_cpus_memory_forms(void **state)
{
	static const struct { const char *s; int rc; int64_t nano; } cpus[] = {
		{ "0.5", 0, 500000000 }, { "2", 0, 2000000000 }, { ".25", 0, 250000000 },
		{ "0.001", 0, 1000000 }, { "1024", 0, 1024 * 1000000000LL }, { "1024.000", 0,
		1024 * 1000000000LL }, { "007", 0, 7000000000LL },
		{ "0", MANIFEST_VALUE_RANGE, 0 }, { "0.000", MANIFEST_VALUE_RANGE, 0 },
		{ "-1", MANIFEST_VALUE_RANGE, 0 }, { "1024.001", MANIFEST_VALUE_RANGE, 0 },
		{ "99999999999999999999999", MANIFEST_VALUE_RANGE, 0 },
		{ "0.0001", MANIFEST_VALUE_PRECISION, 0 }, { "0.5000", MANIFEST_VALUE_PRECISION, 0 },
		{ "", MANIFEST_VALUE_FORM, 0 }, { ".", MANIFEST_VALUE_FORM, 0 },
		{ "1.", MANIFEST_VALUE_FORM, 0 }, { "abc", MANIFEST_VALUE_FORM, 0 },
		{ "1e3", MANIFEST_VALUE_FORM, 0 }, { " 1", MANIFEST_VALUE_FORM, 0 },
		{ "+1", MANIFEST_VALUE_FORM, 0 }, { "1.5 ", MANIFEST_VALUE_FORM, 0 },
	};
	static const struct { const char *s; int rc; int64_t bytes; } mem[] = {
		{ "512m", 0, 512LL << 20 }, { "512M", 0, 512LL << 20 }, { "512mb", 0, 512LL << 20 },
		{ "512MB", 0, 512LL << 20 }, { "512Mb", 0, 512LL << 20 }, { "1g", 0, 1LL << 30 },
		{ "1GB", 0, 1LL << 30 }, { "6144k", 0, 6LL << 20 }, { "6144KB", 0, 6LL << 20 },
		{ "6291456", 0, 6LL << 20 }, { "6291456b", 0, 6LL << 20 }, { "1024g", 0, 1LL << 40 },
		{ "6291455", MANIFEST_VALUE_RANGE, 0 }, { "5m", MANIFEST_VALUE_RANGE, 0 },
		{ "0", MANIFEST_VALUE_RANGE, 0 }, { "1025g", MANIFEST_VALUE_RANGE, 0 },
		{ "1048577m", MANIFEST_VALUE_RANGE, 0 },
		{ "99999999999999999999999g", MANIFEST_VALUE_RANGE, 0 },
		{ "", MANIFEST_VALUE_FORM, 0 }, { "m", MANIFEST_VALUE_FORM, 0 },
		{ "1.5g", MANIFEST_VALUE_FORM, 0 }, { "1t", MANIFEST_VALUE_FORM, 0 },
		{ "1gib", MANIFEST_VALUE_FORM, 0 }, { "512 m", MANIFEST_VALUE_FORM, 0 },
		{ "-8m", MANIFEST_VALUE_FORM, 0 }, { "1bb", MANIFEST_VALUE_FORM, 0 },
	};

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		int64_t v = 0;
		int rc = manifest_cpus_parse(cpus[i].s, &v);

		if (rc != cpus[i].rc || (rc == 0 && v != cpus[i].nano))
			print_error("cpus '%s': rc %d (wanted %d), %lld (wanted %lld)\n", cpus[i].s,
			    rc, cpus[i].rc, (long long)v, (long long)cpus[i].nano);
		assert_int_equal(rc, cpus[i].rc);
		if (rc == 0)
			assert_int_equal(v, cpus[i].nano);
	}
	for (size_t i = 0; i < sizeof(mem) / sizeof(mem[0]); i++) {
		int64_t v = 0;
		int rc = manifest_memory_parse(mem[i].s, &v);

		if (rc != mem[i].rc || (rc == 0 && v != mem[i].bytes))
			print_error("memory '%s': rc %d (wanted %d), %lld (wanted %lld)\n", mem[i].s,
			    rc, mem[i].rc, (long long)v, (long long)mem[i].bytes);
		assert_int_equal(rc, mem[i].rc);
		if (rc == 0)
			assert_int_equal(v, mem[i].bytes);
	}
}

/* Each error at its place: a service's keys under "services.a" (line 6). */
static const struct { const char *body; const char *want; } error_cases[] = {
	{ "    deploy: [a]\n", "6:13: services.a.deploy: expected a mapping, found a list" },
	{ "    deploy: {replica: 2}\n",
	  "6:14: services.a.deploy.replica: unknown key 'replica' (did you mean 'replicas'?)" },
	{ "    deploy: {mode: job}\n",
	  "6:20: services.a.deploy.mode: unknown mode 'job' (expected replicated or global)" },
	{ "    deploy: {mode: [global]}\n",
	  "6:20: services.a.deploy.mode: unknown mode a list (expected replicated or global)" },
	{ "    deploy: {replicas: -1}\n",
	  "6:24: services.a.deploy.replicas: expected an integer from 0 to 1000, found '-1'" },
	{ "    deploy: {replicas: \"3\"}\n",
	  "6:24: services.a.deploy.replicas: expected an integer from 0 to 1000, found '3'" },
	{ "    deploy: {mode: global, replicas: 1}\n",
	  "6:38: services.a.deploy.replicas: replicas does not apply to mode global (one task "
	  "runs on every node): remove replicas, or set mode: replicated" },
	{ "    deploy: {replicas: 1, mode: global, placement: {max_replicas_per_node: 2}}\n",
	  "6:76: services.a.deploy.placement.max_replicas_per_node: max_replicas_per_node "
	  "does not apply to mode global" },
	{ "    deploy: {placement: {constraint: []}}\n",
	  "6:26: services.a.deploy.placement.constraint: unknown key 'constraint' (did you "
	  "mean 'constraints'?)" },
	{ "    deploy: {placement: {constraints: node.role==worker}}\n",
	  "6:39: services.a.deploy.placement.constraints: expected a list, found a string" },
	{ "    deploy: {placement: {constraints: [node.role==worker, \"\"]}}\n",
	  "6:59: services.a.deploy.placement.constraints[1]: invalid constraint ''" },
	{ "    deploy: {placement: {constraints: [\"node.role=worker\"]}}\n",
	  "6:40: services.a.deploy.placement.constraints[0]: invalid constraint "
	  "'node.role=worker' (expected ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE" },
	{ "    deploy: {placement: {constraints: [\"node.role==\"]}}\n",
	  "6:40: services.a.deploy.placement.constraints[0]: invalid constraint 'node.role=='" },
	{ "    deploy: {placement: {constraints: [\"node.labels.a==b!=c\"]}}\n",
	  "6:40: services.a.deploy.placement.constraints[0]: invalid constraint" },
	{ "    deploy: {placement: {constraints: [\"node role==x\"]}}\n",
	  "6:40: services.a.deploy.placement.constraints[0]: invalid constraint" },
	{ "    deploy: {placement: {constraints: [1]}}\n",
	  "6:40: services.a.deploy.placement.constraints[0]: expected a string, found an "
	  "integer (quote it)" },
	{ "    deploy: {placement: {constraints: [a.b==c, a.b==c]}}\n",
	  "6:48: services.a.deploy.placement.constraints[1]: duplicate constraint 'a.b==c'" },
	{ "    deploy: {placement: {preferences: [{spread: node.labels.}]}}\n",
	  "6:49: services.a.deploy.placement.preferences[0].spread: invalid spread "
	  "'node.labels.' (expected node.labels.NAME or engine.labels.NAME)" },
	{ "    deploy: {placement: {preferences: [{}]}}\n",
	  "6:40: services.a.deploy.placement.preferences[0].spread: missing required key "
	  "'spread'" },
	{ "    deploy: {placement: {preferences: [{spread: node.labels.z, x: 1}]}}\n",
	  "6:64: services.a.deploy.placement.preferences[0].x: unknown key 'x'" },
	{ "    deploy: {placement: {preferences: [{spread: node.labels.z}, "
	  "{spread: node.labels.z}]}}\n",
	  "6:65: services.a.deploy.placement.preferences[1]: duplicate spread preference "
	  "'node.labels.z'" },
	{ "    deploy: {placement: {max_replicas_per_node: 1001}}\n",
	  "6:49: services.a.deploy.placement.max_replicas_per_node: expected an integer from "
	  "1 to 1000, found '1001'" },
	{ "    deploy: {resources: {limit: {}}}\n",
	  "6:26: services.a.deploy.resources.limit: unknown key 'limit' (did you mean "
	  "'limits'?)" },
	{ "    deploy: {resources: {limits: {cpus: true}}}\n",
	  "6:41: services.a.deploy.resources.limits.cpus: expected a number of CPUs such as "
	  "0.5 or \"1.5\", found a boolean" },
	{ "    deploy: {resources: {limits: {cpus: 1.5e1}}}\n",
	  "6:41: services.a.deploy.resources.limits.cpus: invalid cpus '1.5e1'" },
	{ "    deploy: {resources: {limits: {cpus: -0.5}}}\n",
	  "6:41: services.a.deploy.resources.limits.cpus: cpus '-0.5' is out of range (more "
	  "than 0, at most 1024)" },
	{ "    deploy: {resources: {limits: {cpus: 1025}}}\n",
	  "6:41: services.a.deploy.resources.limits.cpus: cpus '1025' is out of range" },
	{ "    deploy: {resources: {limits: {cpus: 0.0001}}}\n",
	  "6:41: services.a.deploy.resources.limits.cpus: cpus '0.0001' has more than 3 "
	  "decimals" },
	{ "    deploy: {resources: {limits: {memory: ~}}}\n",
	  "6:43: services.a.deploy.resources.limits.memory: expected a memory size such as "
	  "512m, found null" },
	{ "    deploy: {resources: {limits: {memory: 512 MB}}}\n",
	  "6:43: services.a.deploy.resources.limits.memory: invalid memory '512 MB' (expected "
	  "bytes, or a whole number with a unit b, k, kb, m, mb, g or gb, e.g. 512m)" },
	{ "    deploy: {resources: {limits: {memory: 4m}}}\n",
	  "6:43: services.a.deploy.resources.limits.memory: memory '4m' is out of range (at "
	  "least 6m, Docker's minimum, and at most 1024g)" },
	{ "    deploy: {resources: {limits: {memory: -1}}}\n",
	  "6:43: services.a.deploy.resources.limits.memory: memory '-1' is out of range" },
	{ "    deploy: {resources: {limits: {pids: 4194305}}}\n",
	  "6:41: services.a.deploy.resources.limits.pids: expected an integer from 1 to "
	  "4194304, found '4194305'" },
	{ "    deploy: {resources: {reservations: {pids: 1}}}\n",
	  "6:41: services.a.deploy.resources.reservations.pids: unknown key 'pids' (expected "
	  "one of: cpus, memory)" },
	{ "    deploy: {resources: {limits: {cpus: 1}, reservations: {cpus: \"1.5\"}}}\n",
	  "6:66: services.a.deploy.resources.reservations.cpus: reservations.cpus '1.5' is "
	  "more than limits.cpus '1'" },
	{ "    deploy: {resources: {reservations: {memory: 2g}, limits: {memory: 1g}}}\n",
	  "6:49: services.a.deploy.resources.reservations.memory: reservations.memory '2g' is "
	  "more than limits.memory '1g'" },
	{ "    deploy: {rollback_config: {paralelism: 1}}\n",
	  "6:32: services.a.deploy.rollback_config.paralelism: unknown key 'paralelism' (did "
	  "you mean 'parallelism'?)" },
	{ "    deploy: {rollback_config: {parallelism: 0}}\n",
	  "6:45: services.a.deploy.rollback_config.parallelism: expected an integer from 1 to "
	  "1000, found '0'" },
	{ "    deploy: {rollback_config: {delay: 10}}\n",
	  "6:39: services.a.deploy.rollback_config.delay: invalid duration '10'" },
	{ "    deploy: {rollback_config: {monitor: 24h1ms}}\n",
	  "6:41: services.a.deploy.rollback_config.monitor: duration '24h1ms' is more than the "
	  "limit of 24h" },
	{ "    deploy: {rollback_config: {order: stop}}\n",
	  "6:39: services.a.deploy.rollback_config.order: unknown order 'stop' (expected "
	  "start-first or stop-first)" },
	{ "    deploy: {rollback_config: {failure_action: rollback}}\n",
	  "6:48: services.a.deploy.rollback_config.failure_action: unknown failure_action "
	  "'rollback' (expected pause or continue)" },
	{ "    update: {parallelism: 1001}\n",
	  "6:27: services.a.update.parallelism: expected an integer from 1 to 1000, found "
	  "'1001'" },
	{ "    update: {delay: 25h}\n",
	  "6:21: services.a.update.delay: duration '25h' is more than the limit of 24h" },
	{ "    update: {dealy: 1s}\n",
	  "6:14: services.a.update.dealy: unknown key 'dealy' (did you mean 'delay'?)" },
};

static void
test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		char *text = xasprintf(SVC "%s", error_cases[i].body);

		assert_error(text, error_cases[i].want);
		free(text);
	}
}

/* Every error at once, never only the first. */
static void
test_all_errors(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(SVC "    update: {parallelism: 0, delay: x}\n"
	    "    deploy:\n      mode: x\n      replicas: 5000\n"
	    "      placement: {constraints: [a], preferences: [{spread: b}], max_replicas_per_node: 0}\n"
	    "      resources: {limits: {cpus: x, memory: x, pids: x}, reservations: {cpus: 0}}\n"
	    "      rollback_config: {parallelism: x, delay: x, order: x, monitor: x, "
	    "failure_action: x}\n", &d);

	assert_null(m);
	if (d.n != 16)
		print_diag(&d);
	assert_int_equal(d.n, 16);
	diag_release(&d);
}

static struct manifest *
parse_ok(const char *text)
{
	return parse_valid(text, strlen(text));
}

static void
assert_refused(struct diag *d, size_t i, const char *want)
{
	char line[1024];

	assert_true(i < d->n);
	snprintf(line, sizeof(line), "%d:%d: %s: %s", d->v[i].line, d->v[i].col, d->v[i].path,
	    d->v[i].msg);
	if (strcmp(line, want) != 0)
		print_error("wanted: %s\ngot:    %s\n", want, line);
	assert_string_equal(line, want);
}

#define SWARM_ONLY "applies to backend swarm only (this host's backend is containers): set " \
	"backend: swarm in the daemon's config, or remove it"
#define CONTAINERS_ONLY "applies to backend containers only (this host's backend is swarm)"

static void
test_backend_containers(void **state)
{
	struct manifest *m = parse_ok(all_keys);
	struct diag d;

	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "containers", &d), -1);
	assert_int_equal(d.n, 9);
	assert_refused(&d, 0, "6:36: services.a.update.parallelism: 'update.parallelism' "
	    SWARM_ONLY);
	assert_refused(&d, 1, "6:52: services.a.update.delay: 'update.delay' " SWARM_ONLY);
	assert_refused(&d, 2, "8:7: services.a.deploy.mode: 'deploy.mode' " SWARM_ONLY);
	assert_refused(&d, 3, "9:7: services.a.deploy.replicas: 'deploy.replicas' " SWARM_ONLY);
	/* a fleet's constraints (node.hostname, node.labels.*) are read on
	 * containers; what else a Swarm node has is not there */
	assert_refused(&d, 4, "11:23: services.a.deploy.placement.constraints[0]: constraint "
	    "'node.role == worker' applies to backend swarm only (this host's backend is "
	    "containers, where a constraint reads node.hostname or node.labels.NAME: the host and "
	    "host_labels of each daemon's config)");
	assert_refused(&d, 5, "12:9: services.a.deploy.placement.preferences: "
	    "'deploy.placement.preferences' " SWARM_ONLY);
	assert_refused(&d, 6, "13:9: services.a.deploy.placement.max_replicas_per_node: "
	    "'deploy.placement.max_replicas_per_node' " SWARM_ONLY);
	assert_refused(&d, 7, "16:24: services.a.deploy.resources.reservations.cpus: "
	    "'deploy.resources.reservations.cpus' " SWARM_ONLY);
	assert_refused(&d, 8, "17:7: services.a.deploy.rollback_config: 'deploy.rollback_config' "
	    SWARM_ONLY);
	diag_release(&d);
	manifest_free(m);

	/* what containers honours: limits, reservations.memory; a network without
	 * a driver stays bridge */
	m = parse_ok(SVC "    ports: [\"127.0.0.1:80:80\"]\n    probe: {http: {port: 80}}\n"
	    "    deploy: {resources: {limits: {cpus: 1, memory: 1g, pids: 9}, "
	    "reservations: {memory: 64m}}}\n    networks: [n]\nnetworks:\n  n:\n");
	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "containers", &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(manifest_network(m, "n")->driver, "bridge");
	diag_release(&d);
	manifest_free(m);
}

static void
test_backend_swarm(void **state)
{
	struct manifest *m = parse_ok(MF_HEAD "services:\n  db:\n    image: r@" DIGEST_A "\n"
	    "  a:\n    image: r@" DIGEST_A "\n"
	    "    ports: [\"0.0.0.0:81:81\", \"127.0.0.1:80:80\", \"8080:80\", \"[::1]:443:443/udp\"]\n"
	    "    depends_on: [db]\n"
	    "    probe: {http: {port: 80}}\n"
	    "    on_dependency_update: [{service: db, exec: [reload]}]\n"
	    "networks:\n  o: {driver: overlay}\n  n:\n  b: {driver: bridge}\n  h: {driver: host}\n"
	    "  m: {external: true, driver: macvlan}\n");
	struct diag d;

	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "swarm", &d), -1);
	assert_int_equal(d.n, 7);
	assert_refused(&d, 0, "8:30: services.a.ports[1]: host address '127.0.0.1' " CONTAINERS_ONLY
	    ": swarm publishes a port on every address of every node; remove the address");
	assert_refused(&d, 1, "8:60: services.a.ports[3]: host address '::1' " CONTAINERS_ONLY
	    ": swarm publishes a port on every address of every node; remove the address");
	assert_refused(&d, 2, "10:5: services.a.probe: 'probe' " CONTAINERS_ONLY ": the HTTP probe "
	    "execs in the container through the local engine; on swarm the gate is the "
	    "healthcheck: use healthcheck");
	assert_refused(&d, 3, "11:5: services.a.on_dependency_update: 'on_dependency_update' "
	    CONTAINERS_ONLY ": a signal or an exec reaches a container through the local engine, "
	    "and a swarm service's tasks run on any node: remove it");
	assert_refused(&d, 4, "15:15: networks.b.driver: driver 'bridge' " CONTAINERS_ONLY
	    ": swarm services attach to overlay networks; set driver: overlay, or leave driver "
	    "out");
	assert_refused(&d, 5, "16:15: networks.h.driver: driver 'host' " CONTAINERS_ONLY
	    ": swarm services attach to overlay networks; set driver: overlay, or leave driver "
	    "out");
	assert_refused(&d, 6, "17:31: networks.m.driver: driver 'macvlan' " CONTAINERS_ONLY
	    ": swarm services attach to overlay networks; set driver: overlay, or leave driver "
	    "out");
	diag_release(&d);
	/* and the same manifest is fine on containers */
	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "containers", &d), 0);
	diag_release(&d);
	manifest_free(m);

	/* every swarm key on swarm; the keys both honour */
	m = parse_ok(all_keys);
	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "swarm", &d), 0);
	assert_int_equal(d.n, 0);
	diag_release(&d);
	manifest_free(m);
}

static void
test_backend_unknown(void **state)
{
	struct manifest *m = parse_ok(SVC);
	struct diag d;

	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "kubernetes", &d), -1);
	assert_int_equal(d.n, 1);
	assert_refused(&d, 0, "0:0: : unknown backend 'kubernetes' (expected containers or swarm)");
	diag_release(&d);
	manifest_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_cpus_memory_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_backend_containers),
		cmocka_unit_test(test_backend_swarm),
		cmocka_unit_test(test_backend_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
