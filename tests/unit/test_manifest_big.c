/* Unit tests: big manifests, within the 1 MiB cap, are read in linear time
 * and give the same answers as small ones: a service with tens of thousands
 * of labels and variables, thousands of services merging one anchor, a
 * dependency chain of 20000 services (its order and its cycle), tens of
 * thousands of ports (clashes). These assert results, not time; the order and
 * the clash rule are compared with their plain quadratic definitions. */
#include "helpers.h"
#include "util.h"
#include "yamltree.h"

#include <stdio.h>
#include <stdlib.h>

#define SVC_HEAD MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n"

/* A service with 50k labels and 30k environment entries (flow style, to stay
 * within the size cap), then `extra` as one more environment entry. */
static void
big_service(struct buf *b, const char *extra)
{
	buf_init(b, 0);
	buf_adds(b, SVC_HEAD "    labels: {");
	for (int i = 0; i < 50000; i++)
		buf_addf(b, "l%d: v, ", i);
	buf_adds(b, "}\n    environment: [");
	for (int i = 0; i < 30000; i++)
		buf_addf(b, "E%d=v, ", i);
	buf_addf(b, "%s]\n", extra);
	assert_true(b->len <= YT_MAX_SIZE);
}

/* A big service is a valid manifest, every entry kept; one duplicate among
 * its entries is reported once, at its place. */
static void
test_big_service(void **state)
{
	const struct mf_service *s;
	struct manifest *m;
	struct diag d;
	struct buf b;

	big_service(&b, "");
	m = parse_valid(b.data, b.len);
	s = manifest_service(m, "web");
	assert_int_equal(s->nlabels, 50000);
	assert_int_equal(s->nenv, 30000);
	assert_string_equal(s->labels[49999].key, "l49999");
	assert_string_equal(s->env[29999].name, "E29999");
	manifest_free(m);
	buf_release(&b);

	big_service(&b, "E777=again");
	m = parse_text(b.data, &d);
	assert_null(m);
	if (d.n != 1)
		print_diag(&d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].path, "services.web.environment[30000]");
	assert_non_null(strstr(d.v[0].msg, "'E777'"));
	diag_release(&d);
	buf_release(&b);
}

/* Many aliases of a small mapping (a `<<: *defaults` in each of 8000
 * services): a big manifest, well within the limit on what aliases repeat. */
static void
test_many_merges(void **state)
{
	enum { N = 8000 };
	struct manifest *m;
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, MF_HEAD "x-defaults: &d\n  restart: always\n  stop_grace_period: 5s\n"
	    "  labels: {team: ops, tier: web}\nservices:\n");
	for (int i = 0; i < N; i++)
		buf_addf(&b, "  s%d: {<<: *d, image: 'r@" DIGEST_A "'}\n", i);
	assert_true(b.len <= YT_MAX_SIZE);
	m = parse_valid(b.data, b.len);
	assert_int_equal(m->nservices, N);
	assert_string_equal(manifest_service(m, "s7999")->restart, "always");
	assert_int_equal(manifest_service(m, "s4000")->nlabels, 2);
	manifest_free(m);
	buf_release(&b);
}

/* The deploy order as its definition reads: passes over the services in
 * manifest order, each taking every service whose dependencies are taken;
 * when a pass takes nothing, the rest in manifest order. */
static size_t *
reference_order(const struct manifest *m)
{
	size_t n = m->nservices, k = 0;
	size_t *order = xcalloc(n + 1, sizeof(*order));
	int *done = xcalloc(n + 1, sizeof(*done));

	while (k < n) {
		int progress = 0;

		for (size_t i = 0; i < n; i++) {
			const struct mf_service *s = &m->services[i];
			int ready = !done[i];

			for (size_t j = 0; ready && j < s->ndepends_on; j++) {
				const struct mf_service *d = manifest_service(m, s->depends_on[j]);

				if (d && d != s && !done[d - m->services])
					ready = 0;
			}
			if (ready) {
				done[i] = 1;
				order[k++] = i;
				progress = 1;
			}
		}
		if (!progress)
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					done[i] = 1;
					order[k++] = i;
				}
	}
	free(done);
	return order;
}

/* Random dependency graphs (self, unknown, repeated dependencies, cycles
 * and what waits on them): the order is the reference's, service by service. */
static void
test_order_matches_definition(void **state)
{
	srand(11);
	for (int round = 0; round < 2000; round++) {
		struct manifest m = { 0 };
		size_t *got, *want;

		m.nservices = 1 + (size_t)(rand() % 12);
		m.services = xcalloc(m.nservices, sizeof(*m.services));
		for (size_t i = 0; i < m.nservices; i++) {
			struct mf_service *s = &m.services[i];

			s->name = xasprintf("s%zu", i);
			s->ndepends_on = (size_t)(rand() % 4);
			s->depends_on = xcalloc(s->ndepends_on + 1, sizeof(char *));
			for (size_t j = 0; j < s->ndepends_on; j++)
				s->depends_on[j] = xasprintf("s%d", rand() % (int)(m.nservices + 1));
		}
		got = manifest_topo_order(&m);
		want = reference_order(&m);
		for (size_t i = 0; i < m.nservices; i++) {
			if (got[i] != want[i])
				print_error("round %d: position %zu: s%zu, expected s%zu\n", round, i,
				    got[i], want[i]);
			assert_int_equal(got[i], want[i]);
		}
		free(got);
		free(want);
		for (size_t i = 0; i < m.nservices; i++) {
			free(m.services[i].name);
			strv_free(m.services[i].depends_on, m.services[i].ndepends_on);
		}
		free(m.services);
	}
}

/* s0 depends on s1, s1 on s2, ... on s<n-1>; with `cycle`, s<n-1> on s0.
 * Every service merges one anchor (its image), so 20000 fit in the cap. */
static void
chain(struct buf *b, int n, int cycle)
{
	buf_init(b, 0);
	buf_adds(b, MF_HEAD "x-d: &d {image: 'r@" DIGEST_A "'}\nservices:\n");
	for (int i = 0; i < n - 1; i++)
		buf_addf(b, "  s%d: {<<: *d, depends_on: [s%d]}\n", i, i + 1);
	if (cycle)
		buf_addf(b, "  s%d: {<<: *d, depends_on: [s0]}\n", n - 1);
	else
		buf_addf(b, "  s%d: *d\n", n - 1);
	assert_true(b->len <= YT_MAX_SIZE);
}

/* A chain of 20000 services: deployed from its end, in one walk; closed into
 * a cycle, reported once, at the item that closes it, every hop named. */
static void
test_long_chain(void **state)
{
	enum { N = 20000 };
	struct manifest *m;
	struct diag d;
	struct buf b;
	size_t *order;
	char want[64];

	chain(&b, N, 0);
	m = parse_valid(b.data, b.len);
	order = manifest_topo_order(m);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(order[i], N - 1 - i);
	free(order);
	manifest_free(m);
	buf_release(&b);

	chain(&b, N, 1);
	m = parse_text(b.data, &d);
	assert_null(m);
	if (d.n != 1)
		print_diag(&d);
	assert_int_equal(d.n, 1);
	snprintf(want, sizeof(want), "services.s%d.depends_on[0]", N - 1);
	assert_string_equal(d.v[0].path, want);
	assert_int_equal(strncmp(d.v[0].msg, "dependency cycle: s0 -> s1 -> s2 -> ", 36), 0);
	snprintf(want, sizeof(want), " -> s%d -> s0", N - 1);
	assert_string_equal(d.v[0].msg + strlen(d.v[0].msg) - strlen(want), want);
	diag_release(&d);
	buf_release(&b);
}

/* 5000 services, each depending on an unknown one: every reference is an
 * error (the first 200 are kept), and only the first few get a "did you
 * mean" (each compares the name with all 5000 services). */
static void
test_many_unknown_services(void **state)
{
	enum { N = 5000 };
	struct manifest *m;
	struct diag d;
	struct buf b;
	size_t hinted = 0;

	buf_init(&b, 0);
	buf_adds(&b, MF_HEAD "x-d: &d {image: 'r@" DIGEST_A "'}\nservices:\n");
	for (int i = 0; i < N; i++)
		buf_addf(&b, "  s%d: {<<: *d, depends_on: [x%d]}\n", i, i);
	m = parse_text(b.data, &d);
	assert_null(m);
	assert_int_equal(d.n, 200);	/* what a diag keeps */
	for (size_t i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, "did you mean"))
			hinted++;
	assert_int_equal(hinted, 16);
	assert_string_equal(d.v[0].msg, "unknown service 'x0' (did you mean 's0'?)");
	diag_release(&d);
	buf_release(&b);
}

static const char *const port_ips[] = { "", "0.0.0.0:", "[::]:", "127.0.0.1:", "[::1]:" };

/* Random ports over three services: an error exactly where the clash rule
 * (same number and protocol; same address, or either on every address)
 * finds an earlier port, naming the first one. */
static void
test_ports_match_rule(void **state)
{
	srand(12);
	for (int round = 0; round < 300; round++) {
		struct { int ip, port, udp; } p[3][4];
		size_t want = 0, found = 0;
		struct diag d;
		struct manifest *m;
		struct buf b;

		buf_init(&b, 0);
		buf_adds(&b, MF_HEAD "services:\n");
		for (int s = 0; s < 3; s++) {
			buf_addf(&b, "  s%d:\n    image: r@" DIGEST_A "\n    ports: [", s);
			for (int j = 0; j < 4; j++) {
				p[s][j].ip = rand() % 5;
				p[s][j].port = 80 + rand() % 2;
				p[s][j].udp = rand() % 3 == 0;
				buf_addf(&b, "%s\"%s%d:1%s\"", j ? ", " : "", port_ips[p[s][j].ip],
				    p[s][j].port, p[s][j].udp ? "/udp" : "");
			}
			buf_adds(&b, "]\n");
		}
		m = parse_text(b.data, &d);
		for (int s = 0; s < 3; s++) {
			for (int j = 0; j < 4; j++) {
				int first = -1;
				char path[64], *msg = NULL;

				for (int q = 0; q < s * 4 + j && first < 0; q++) {
					int qs = q / 4, qj = q % 4;
					int pany = p[s][j].ip < 3, qany = p[qs][qj].ip < 3;	/* "", 0.0.0.0, :: */
					if (p[qs][qj].port == p[s][j].port && p[qs][qj].udp == p[s][j].udp &&
					    (pany || qany || p[qs][qj].ip == p[s][j].ip))
						first = q;
				}
				if (first < 0)
					continue;
				want++;
				snprintf(path, sizeof(path), "services.s%d.ports[%d]", s, j);
				for (size_t e = 0; e < d.n; e++)
					if (strcmp(d.v[e].path, path) == 0)
						msg = d.v[e].msg;
				if (!msg)
					print_error("round %d: no error at %s\n%s", round, path, b.data);
				assert_non_null(msg);
				snprintf(path, sizeof(path), "by service 's%d' (line %d)", first / 4,
				    6 + (first / 4) * 3);
				if (!strstr(msg, path))
					print_error("round %d: %s: wanted %s\n", round, msg, path);
				assert_non_null(strstr(msg, path));
				found++;
			}
		}
		assert_int_equal(d.n, want);
		assert_int_equal(found, want);
		assert_true(want ? m == NULL : m != NULL);
		manifest_free(m);
		diag_release(&d);
		buf_release(&b);
	}
}

/* 60000 ports on one service, then with one more that clashes with the
 * 30000th. */
static void
test_many_ports(void **state)
{
	enum { N = 60000 };
	struct manifest *m;
	struct diag d;
	struct buf ports, b;

	buf_init(&ports, 0);
	for (int i = 0; i < N; i++)
		buf_addf(&ports, "\"%d:80\", ", 1 + i);
	buf_init(&b, 0);
	buf_addf(&b, SVC_HEAD "    ports: [%s]\n", ports.data);
	m = parse_valid(b.data, b.len);
	assert_int_equal(manifest_service(m, "web")->nports, N);
	manifest_free(m);
	buf_release(&b);

	buf_init(&b, 0);
	buf_addf(&b, SVC_HEAD "    ports: [%s\"0.0.0.0:30000:81/tcp\"]\n", ports.data);
	m = parse_text(b.data, &d);
	assert_null(m);
	if (d.n != 1)
		print_diag(&d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].path, "services.web.ports[60000]");
	assert_string_equal(d.v[0].msg, "host port 0.0.0.0:30000/tcp is already published by "
	    "service 'web' (line 6)");
	diag_release(&d);
	buf_release(&b);
	buf_release(&ports);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_service),
		cmocka_unit_test(test_many_merges),
		cmocka_unit_test(test_order_matches_definition),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_many_unknown_services),
		cmocka_unit_test(test_ports_match_rule),
		cmocka_unit_test(test_many_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
