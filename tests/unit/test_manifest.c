/* Unit tests: YAML tree defences, manifest parsing and validation, cron and
 * durations. */
#include "helpers.h"
#include "cron.h"
#include "util.h"
#include "yamltree.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *full =
	MF_HEAD
	"x-common: &common\n"
	"  restart: always\n"
	"services:\n"
	"  web:\n"
	"    <<: *common\n"
	"    image: r/web@" DIGEST_A "\n"
	"    command: [\"httpd\", \"-f\"]\n"
	"    entrypoint: /bin/sh -c 'exec \"$@\"'\n"
	"    environment:\n"
	"      A: one\n"
	"      PORT: 8080\n"
	"      TOKEN: {secret: token}\n"
	"    env_files: [web.env]\n"
	"    secrets: [cert, {source: key, target: /etc/key, mode: 0400}]\n"
	"    ports: [\"127.0.0.1:8080:80\", \"9000:9000/udp\", \"[::1]:8443:443\"]\n"
	"    volumes: [\"data:/data\", \"/srv/x:/x:ro\"]\n"
	"    networks:\n"
	"      front: {aliases: [www]}\n"
	"      default:\n"
	"    depends_on: [db]\n"
	"    logging: {driver: json-file, options: {max-size: 1m}}\n"
	"    labels: {team: ops}\n"
	"    user: \"1000:1000\"\n"
	"    working_dir: /srv\n"
	"    stop_grace_period: 1m30s\n"
	"    healthcheck: {test: [CMD, wget, -q, http://localhost/], interval: 5s, retries: 2}\n"
	"    probe: {http: {port: 80, path: /health}}\n"
	"    update: {strategy: stop-first, min_ready: 3s, timeout: 2m}\n"
	"    hooks: {pre_deploy: [{name: migrate, command: [migrate, up]}]}\n"
	"    on_dependency_update: [{service: db, signal: SIGHUP}]\n"
	"    backup_before_deploy: nightly\n"
	"  db:\n"
	"    image: r/db@" DIGEST_B "\n"
	"    volumes: [\"data:/var/lib/db\"]\n"
	"volumes:\n"
	"  data:\n"
	"networks:\n"
	"  front: {driver: bridge}\n"
	"backups:\n"
	"  nightly: {service: db, schedule: '@daily', command: dump, destination: /b,\n"
	"            retention: {keep_last: 3, max_age: 720h}, restore: [restore]}\n"
	"notifications:\n"
	"  ops: {type: webhook, url: {secret: hook}, hmac_secret: {secret: hk},\n"
	"        events: [rollout_failed]}\n";

static void
test_full_manifest(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(full, &d);
	struct mf_service *web, *db;

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	assert_int_equal(m->nservices, 2);
	web = manifest_service(m, "web");
	db = manifest_service(m, "db");
	assert_non_null(web);
	assert_non_null(db);
	assert_string_equal(web->restart, "always");	/* from the merge key */
	assert_string_equal(db->restart, "unless-stopped");
	assert_int_equal(web->command.argc, 2);
	assert_true(web->entrypoint.shell);
	assert_int_equal(web->nenv, 3);
	assert_string_equal(web->env[1].value, "8080");
	assert_string_equal(web->env[2].secret, "token");
	assert_int_equal(web->nsecrets, 2);
	assert_string_equal(web->secrets[0].target, "/run/secrets/cert");
	assert_string_equal(web->secrets[1].target, "/etc/key");
	assert_int_equal(web->secrets[1].mode, 0400);
	assert_int_equal(web->nports, 3);
	assert_string_equal(web->ports[0].host_ip, "127.0.0.1");
	assert_string_equal(web->ports[1].host_ip, "0.0.0.0");
	assert_string_equal(web->ports[1].proto, "udp");
	assert_string_equal(web->ports[2].host_ip, "::1");
	assert_int_equal(web->nmounts, 2);
	assert_false(web->mounts[0].bind);
	assert_true(web->mounts[1].bind);
	assert_true(web->mounts[1].ro);
	assert_int_equal(web->nnetworks, 2);
	assert_string_equal(web->networks[0].aliases[0], "www");
	assert_int_equal(web->stop_grace, 90000);
	assert_int_equal(web->health.kind, MF_HEALTH_CMD);
	assert_false(web->health.test.shell);
	assert_string_equal(web->health.test.argv[0], "wget");
	assert_int_equal(web->health.interval, 5000);
	assert_int_equal(web->health.timeout, 30000);
	assert_int_equal(web->update.strategy, MF_STOP_FIRST);
	assert_int_equal(web->probe.port, 80);
	assert_int_equal(web->nhooks, 1);
	assert_string_equal(web->on_dep[0].signal, "SIGHUP");
	/* defaults */
	assert_int_equal(db->update.strategy, MF_START_FIRST);
	assert_string_equal(db->log_driver, "json-file");
	assert_int_equal(db->nlog_opts, 2);
	assert_int_equal(db->nnetworks, 1);
	assert_string_equal(db->networks[0].name, "default");
	assert_string_equal(manifest_network(m, "default")->name, "t_default");
	assert_string_equal(manifest_volume(m, "data")->name, "t_data");
	assert_int_equal(m->nbackups, 1);
	assert_int_equal(m->backups[0].keep_last, 3);
	assert_int_equal(m->notifications[0].events, 2u);
	/* dependency order: db before web */
	size_t *order = manifest_topo_order(m);

	assert_string_equal(m->services[order[0]].name, "db");
	assert_string_equal(m->services[order[1]].name, "web");
	free(order);
	manifest_free(m);
	diag_release(&d);
}

static void
test_all_errors_reported(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(MF_HEAD "services:\n  a:\n    image: x\n  b:\n"
	    "    image: y\n    restart: sometimes\n", &d);

	assert_null(m);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].line, 5);
	assert_int_equal(d.v[2].line, 8);
	manifest_free(m);
	diag_release(&d);
}

static void
test_errors(void **state)
{
	assert_error(MF_HEAD "services:\n  web:\n    imge: r@" DIGEST_A "\n",
	    "5:5: services.web.imge: unknown key 'imge' (did you mean 'image'?)");
	assert_error(MF_HEAD "services:\n  web:\n    image: nginx:1.25\n",
	    "5:12: services.web.image: image 'nginx:1.25' is not pinned by digest");
	assert_error(MF_HEAD "services:\n  web:\n    image: r@sha256:abc\n",
	    "5:12: services.web.image: invalid digest");
	assert_error(MF_HEAD "services:\n  web:\n    image: r@" DIGEST_A "\n    image: r@"
	    DIGEST_B "\n", "6:5: services.web.image: duplicate key 'image' (first at line 5)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    depends_on: [b]\n"
	    "  b:\n    image: r@" DIGEST_A "\n    depends_on: [c]\n  c:\n    image: r@" DIGEST_A
	    "\n    depends_on: [a]\n", "12:18: services.c.depends_on[0]: dependency cycle: "
	    "a -> b -> c -> a");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    depends_on: [a]\n",
	    "6:18: services.a.depends_on[0]: service 'a' depends on itself");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    depends_on: [bb]\n"
	    "  b:\n    image: r@" DIGEST_A "\n", "6:18: services.a.depends_on[0]: unknown service "
	    "'bb' (did you mean 'b'?)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    stop_grace_period: 1m1h\n",
	    "6:24: services.a.stop_grace_period: invalid duration '1m1h'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    ports: [\"8000-8010:80\"]\n",
	    "6:13: services.a.ports[0]: port ranges are not supported");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    ports: [\"80:80\"]\n"
	    "  b:\n    image: r@" DIGEST_A "\n    ports: [\"127.0.0.1:80:81\"]\n",
	    "9:13: services.b.ports[0]: host port 127.0.0.1:80/tcp is already published by "
	    "service 'a'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    volumes: [\"d:/d:rx\"]\n"
	    "volumes: {d: }\n", "6:15: services.a.volumes[0]: invalid volume mode 'rx'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    env_files: [../x]\n",
	    "6:17: services.a.env_files[0]: env file name '../x' must be a plain file name");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    secrets: [a/b]\n",
	    "6:15: services.a.secrets[0]: secret name 'a/b' must be a plain file name");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    ports: [\"80:80\"]\n"
	    "    update: {strategy: start-first}\n", "7:24: services.a.update.strategy: start-first "
	    "cannot be used with published host ports");
	assert_error("version: 2\nproject: t\nservices: {}\n",
	    "1:10: version: unsupported version 2 (this reconciler reads version 1)");
	assert_error("project: t\nservices: {}\n", "1:1: version: missing required key 'version'");
	assert_error("- a\n- b\n", "1:1: : the top level must be a mapping, found a list");
	assert_error("version: \"1\"\nproject: t\nservices: {}\n",
	    "1:10: version: expected the integer 1, found a string '1'");
	assert_error("version: 1.0\nproject: t\nservices: {}\n",
	    "1:10: version: expected the integer 1, found a number '1.0'");
	assert_error("", "1:1: : empty document");
	assert_error(MF_HEAD "services: {}\n---\nversion: 1\n", "4:1: : more than one YAML document");
	assert_error(MF_HEAD "backups:\n  b: {service: a, schedule: '* * * *', command: x, "
	    "destination: /b}\nservices:\n  a: {image: r@" DIGEST_A "}\n",
	    "4:29: backups.b.schedule: schedule '* * * *' has 4 fields, expected 5");
	assert_error(MF_HEAD "notifications:\n  n: {type: slack, url: https://hooks.example/x}\n"
	    "services: {}\n", "4:25: notifications.n.url: expected a secret ref {secret: NAME}");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    labels: "
	    "{io.reconciler.x: y}\n", "6:14: services.a.labels.io.reconciler.x: label keys under "
	    "'io.reconciler.' are reserved");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    volumes: [\"./ssl:/s\"]\n",
	    "6:15: services.a.volumes[0]: bind mount source './ssl' must be an absolute host path");
}

/* Values as the YAML 1.2 core schema types them, as the JSON Schema reads them. */
static void
test_scalar_types(void **state)
{
	struct diag d;
	struct manifest *m;
	struct mf_service *a;

	/* environment, labels, log and driver options take numbers and booleans
	 * as written; a null environment value is empty; user may be a bare uid */
	m = parse_text(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    environment: {PORT: 8080, DEBUG: true, RATIO: 0.5, EMPTY: , my.var-x: 010}\n"
	    "    labels: {n: 3, b: false}\n"
	    "    logging: {options: {max-file: 5}}\n"
	    "    user: 1000\n"
	    "volumes:\n  v: {driver_opts: {uid: 1000}}\n", &d);
	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	a = manifest_service(m, "a");
	assert_int_equal(a->nenv, 5);
	assert_string_equal(a->env[0].value, "8080");
	assert_string_equal(a->env[1].value, "true");
	assert_string_equal(a->env[2].value, "0.5");
	assert_string_equal(a->env[3].value, "");
	assert_string_equal(a->env[4].name, "my.var-x");
	assert_string_equal(a->env[4].value, "010");	/* as written, not 10 or 8 */
	assert_string_equal(a->labels[0].value, "3");
	assert_string_equal(a->log_driver, "json-file");	/* logging without a driver */
	assert_string_equal(a->user, "1000");
	manifest_free(m);
	diag_release(&d);

	/* elsewhere a number is not a string */
	assert_error("version: 1\nproject: 2024\nservices: {}\n",
	    "2:10: project: expected a string, found an integer (quote it)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    command: [sleep, 5]\n",
	    "6:22: services.a.command[1]: expected a string, found an integer (quote it)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    labels: {k: }\n",
	    "6:17: services.a.labels.k: expected a string, number or boolean, found null");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    labels: [a=1, a=2]\n",
	    "6:19: services.a.labels[1]: duplicate label 'a' (first at line 6)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    environment: {1A: x}\n",
	    "6:19: services.a.environment.1A: invalid variable name '1A'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    user: 'a:'\n",
	    "6:11: services.a.user: invalid user 'a:'");
	/* a plain 0 is a duration; 00 too (the integer 0) */
	m = parse_text(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    stop_grace_period: 00\n    healthcheck: {test: [CMD, x], retries: 0x10}\n", &d);
	assert_non_null(m);
	assert_int_equal(manifest_service(m, "a")->stop_grace, 0);
	assert_int_equal(manifest_service(m, "a")->health.retries, 16);
	manifest_free(m);
	diag_release(&d);
	/* a file mode is octal digits */
	m = parse_text(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    secrets: [{source: a, mode: 440}, {source: b, mode: 0o640, target: /b}]\n", &d);
	assert_non_null(m);
	assert_int_equal(manifest_service(m, "a")->secrets[0].mode, 0440);
	assert_int_equal(manifest_service(m, "a")->secrets[1].mode, 0640);
	manifest_free(m);
	diag_release(&d);
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    secrets: [{source: a, mode: 0488}]\n", "6:33: services.a.secrets[0].mode: expected "
	    "a file mode in octal digits");
}

static void
test_yaml_kinds(void **state)
{
	static const struct { const char *text; enum yt_kind kind; } cases[] = {
		{ "a: 8080", YT_KIND_INT }, { "a: -1", YT_KIND_INT }, { "a: 0o17", YT_KIND_INT },
		{ "a: 0x1F", YT_KIND_INT }, { "a: 1.5", YT_KIND_FLOAT }, { "a: 1e3", YT_KIND_FLOAT },
		{ "a: .inf", YT_KIND_FLOAT }, { "a: .nan", YT_KIND_FLOAT }, { "a: true", YT_KIND_BOOL },
		{ "a: FALSE", YT_KIND_BOOL }, { "a: ~", YT_KIND_NULL }, { "a:", YT_KIND_NULL },
		{ "a: yes", YT_KIND_STR }, { "a: off", YT_KIND_STR }, { "a: '8080'", YT_KIND_STR },
		{ "a: 8080:80", YT_KIND_STR }, { "a: 2024-01-01", YT_KIND_STR }, { "a: 0o8", YT_KIND_STR },
		{ "a: -.nan", YT_KIND_STR }, { "a: !!str 1", YT_KIND_STR }, { "a: .", YT_KIND_STR },
		{ "a: [1]", YT_KIND_SEQ }, { "a: {}", YT_KIND_MAP },
	};
	long long v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct yt_doc *doc;
		struct diag d;

		diag_init(&d, "t");
		assert_int_equal(yt_parse(&doc, cases[i].text, strlen(cases[i].text), &d), 0);
		if (yt_kind(yt_get(doc->root, "a")) != cases[i].kind)
			print_error("%s: kind %d\n", cases[i].text, yt_kind(yt_get(doc->root, "a")));
		assert_int_equal(yt_kind(yt_get(doc->root, "a")), cases[i].kind);
		if (strcmp(cases[i].text, "a: 0o17") == 0) {
			assert_int_equal(yt_int(yt_get(doc->root, "a"), &v), 0);
			assert_int_equal(v, 15);
		}
		yt_free(doc);
		diag_release(&d);
	}
}

static void
test_stricter_rules(void **state)
{
	/* hooks need a digest even with allow_tags */
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1\n    allow_tags: true\n"
	    "    hooks: {pre_deploy: [{name: m, command: x, image: 'r:1'}]}\n",
	    "7:55: services.a.hooks.pre_deploy[0].image: image 'r:1' is not pinned by digest");
	assert_error(MF_HEAD "services:\n  a:\n    image: R@" DIGEST_A "\n",
	    "5:12: services.a.image: invalid image reference");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    restart: on-failure:0\n",
	    "6:14: services.a.restart: invalid restart policy 'on-failure:0'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    ports: ['080:80']\n",
	    "6:13: services.a.ports[0]: invalid port '080:80' (port numbers have no leading zeros)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    ports: ['8080']\n",
	    "6:13: services.a.ports[0]: invalid port '8080'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    ports: ['[1.2.3.4]:8:8']\n",
	    "6:13: services.a.ports[0]: invalid host IP '1.2.3.4'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    depends_on: [b, b]\n"
	    "  b:\n    image: r@" DIGEST_A "\n",
	    "6:21: services.a.depends_on[1]: duplicate dependency 'b' (first at line 6)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    env_files: [e, e]\n",
	    "6:20: services.a.env_files[1]: duplicate env file 'e'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    secrets: [s, {source: s}]\n",
	    "6:18: services.a.secrets[1]: duplicate secret target '/run/secrets/s'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    environment: [A=1, A=2]\n", "6:24: services.a.environment[1]: duplicate variable 'A'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    volumes: [/x:/d, /y:/d]\n", "6:22: services.a.volumes[1]: duplicate mount target '/d'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    healthcheck: {test: [NONE, x]}\n", "6:25: services.a.healthcheck.test: NONE takes no "
	    "arguments");
	assert_error(MF_HEAD "services: {}\nnotifications:\n  n: {type: slack, url: {secret: u}, "
	    "events: []}\n", "5:46: notifications.n.events: events must not be empty");
	assert_error(MF_HEAD "services: {}\nnotifications:\n  n: {type: slack, url: {secret: u}, "
	    "hmac_secret: {secret: h}}\n", "5:38: notifications.n.hmac_secret: hmac_secret is only "
	    "for type webhook");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n  b:\n    image: r@" DIGEST_A
	    "\n    depends_on: [a]\n    on_dependency_update: [{service: a, signal: SIGHUP, exec: x}]\n",
	    "9:57: services.b.on_dependency_update[0].exec: give exactly one of 'signal' or 'exec'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n  b:\n    image: r@" DIGEST_A
	    "\n    depends_on: [a]\n    on_dependency_update: [{service: a}]\n",
	    "9:29: services.b.on_dependency_update[0].signal: give exactly one of 'signal' or 'exec'");
	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    networks: {n: {aliases: [ok.name, Bad]}}\nnetworks: {n: }\n",
	    "6:39: services.a.networks.n.aliases[1]: invalid alias 'Bad'");
	/* a newline in a value is spelled out: an error stays one line */
	assert_error("version: 1\nproject: \"a\\nb\"\nservices: {}\n",
	    "2:10: project: invalid project name 'a\\nb'");
}

static void
test_null_means_defaults(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    networks: {n: , default: }\n    ports: ['[::1]:8443:443']\nnetworks:\n  n:\n"
	    "volumes:\nbackups:\n", &d);

	if (!m)
		diag_print(&d, stderr);
	assert_non_null(m);
	assert_string_equal(manifest_network(m, "n")->driver, "bridge");
	assert_string_equal(manifest_service(m, "a")->ports[0].host_ip, "::1");
	manifest_free(m);
	diag_release(&d);
}

static void
test_allow_tags(void **state)
{
	struct diag d;
	struct manifest *m = parse_text(MF_HEAD "services:\n  a:\n    image: busybox:1.36\n"
	    "    allow_tags: true\n", &d);

	assert_non_null(m);
	manifest_free(m);
	diag_release(&d);
}

static void
test_alias_bomb(void **state)
{
	struct buf b;
	struct diag d;
	struct manifest *m;

	buf_init(&b, 0);
	buf_adds(&b, MF_HEAD "x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++)
		buf_addf(&b, "x-%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
		    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	buf_adds(&b, "services: {}\n");
	m = parse_text(b.data, &d);
	assert_null(m);
	assert_int_equal(d.n, 1);
	/* reported at the alias that crosses the limit, not at its anchor: the
	 * aliases of x-1..x-4 repeat 74718 nodes, each *a4 66430 more */
	assert_string_equal(d.v[0].msg, "alias '*a4' brings the nodes repeated through aliases "
	    "to 539728, more than the limit of 500000 (an alias bomb?)");
	assert_int_equal(d.v[0].line, 8);
	assert_int_equal(d.v[0].col, 41);
	assert_string_equal(d.v[0].path, "x-5[6]");
	buf_release(&b);
	diag_release(&d);
}

static void
test_limits(void **state)
{
	struct buf b;
	struct diag d;
	struct manifest *m;
	char *big;

	/* depth */
	buf_init(&b, 0);
	buf_adds(&b, MF_HEAD "x-deep: ");
	for (int i = 0; i < 70; i++)
		buf_adds(&b, "[");
	for (int i = 0; i < 70; i++)
		buf_adds(&b, "]");
	buf_adds(&b, "\nservices: {}\n");
	m = parse_text(b.data, &d);
	assert_null(m);
	assert_non_null(strstr(d.v[0].msg, "nesting deeper than 64"));
	assert_int_equal(strncmp(d.v[0].path, "x-deep[0][0]", 12), 0);
	diag_release(&d);
	buf_release(&b);

	/* size */
	big = xcalloc(YT_MAX_SIZE + 16, 1);
	memset(big, '#', YT_MAX_SIZE + 10);
	m = parse_text(big, &d);
	assert_null(m);
	assert_non_null(strstr(d.v[0].msg, "more than the limit"));
	diag_release(&d);
	free(big);

	/* invalid UTF-8, with its position */
	m = parse_text(MF_HEAD "services: {}\n# caf\xc3\xa9 \xff\n", &d);
	assert_null(m);
	assert_int_equal(d.v[0].line, 4);
	assert_int_equal(d.v[0].col, 8);
	assert_non_null(strstr(d.v[0].msg, "invalid UTF-8"));
	diag_release(&d);

	/* overlong encoding and surrogate */
	assert_true(utf8_invalid_at("\xc0\xaf", 2) == 0);
	assert_true(utf8_invalid_at("a\xed\xa0\x80", 4) == 1);
	assert_true(utf8_invalid_at("\xf0\x9f\x98\x80", 4) == (size_t)-1);

	/* recursive alias */
	m = parse_text(MF_HEAD "x: &a [*a]\nservices: {}\n", &d);
	assert_null(m);
	diag_release(&d);
}

static void
test_positions_after_utf8(void **state)
{
	/* byte spans stay right after multi-byte characters */
	const char *t = MF_HEAD "# été ☃\nservices:\n  a:\n    image: \"r@" DIGEST_A "\"\n";
	struct diag d;
	struct manifest *m = parse_text(t, &d);
	const struct yt_node *n;

	assert_non_null(m);
	n = manifest_service(m, "a")->image_node;
	assert_int_equal(t[n->start], '"');
	assert_int_equal(t[n->end - 1], '"');
	assert_int_equal(n->end - n->start, strlen("r@" DIGEST_A) + 2);
	manifest_free(m);
	diag_release(&d);
}

static void
test_duration(void **state)
{
	int64_t ms;
	char out[32];

	assert_int_equal(duration_parse("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(duration_parse("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(duration_parse("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(duration_parse("1m1h", &ms), -1);
	assert_int_equal(duration_parse("10", &ms), -1);
	assert_int_equal(duration_parse("-5s", &ms), -1);
	assert_int_equal(duration_parse("5s5s", &ms), -1);
	assert_int_equal(duration_parse("99999999999999999999h", &ms), -1);
	duration_format(5400500, out, sizeof(out));
	assert_string_equal(out, "1h30m500ms");
}

static void
test_cron(void **state)
{
	char err[ERR_LEN];
	struct cron c;
	struct tm tm = { 0 };
	time_t t, next;

	assert_int_equal(cron_parse(&c, "0 3 * * sun", err), 0);
	/* Tuesday 2026-03-31 12:00 UTC -> Sunday 2026-04-05 03:00 */
	tm.tm_year = 126; tm.tm_mon = 2; tm.tm_mday = 31; tm.tm_hour = 12;
	t = timegm(&tm);
	next = cron_next_utc(&c, t);
	gmtime_r(&next, &tm);
	assert_int_equal(tm.tm_mon, 3);
	assert_int_equal(tm.tm_mday, 5);
	assert_int_equal(tm.tm_hour, 3);
	assert_int_equal(cron_parse(&c, "*/15 9-17 1,15 jan-jun 1-5", err), 0);
	assert_int_equal(cron_parse(&c, "@weekly", err), 0);
	assert_int_equal(cron_parse(&c, "0 0 31 2 *", err), 0);
	assert_int_equal(cron_next_utc(&c, t), -1);
	assert_int_equal(cron_parse(&c, "60 * * * *", err), -1);
	assert_non_null(strstr(err, "minute"));
	assert_int_equal(cron_parse(&c, "* * * * * *", err), -1);
	assert_int_equal(cron_parse(&c, "* * * foo *", err), -1);
	assert_int_equal(cron_parse(&c, "@sometimes", err), -1);
	/* a step needs * or a range, and fits the field */
	assert_int_equal(cron_parse(&c, "5/15 * * * *", err), -1);
	assert_non_null(strstr(err, "a step needs * or a range"));
	assert_int_equal(cron_parse(&c, "*/60 * * * *", err), -1);
	assert_non_null(strstr(err, "the step must be 1-59"));
	assert_int_equal(cron_parse(&c, "*/59 */23 */31 */12 */7", err), 0);
	assert_int_equal(cron_parse(&c, "0 */24 * * *", err), -1);
	assert_int_equal(cron_parse(&c, "5-5/2 05 01 01 0", err), 0);
	assert_int_equal(c.minute, 1ull << 5);
	/* two digits at most, lowercase names, fields split by spaces only */
	assert_int_equal(cron_parse(&c, "30-10 * * * *", err), -1);
	assert_non_null(strstr(err, "the range 30-10 runs backwards"));
	assert_int_equal(cron_parse(&c, "0 0 * * sat-sun", err), -1);
	assert_int_equal(cron_parse(&c, "005 * * * *", err), -1);
	assert_int_equal(cron_parse(&c, "0 3 * * MON", err), -1);
	assert_int_equal(cron_parse(&c, "0 3 * * mon-fri", err), 0);
	assert_int_equal(cron_parse(&c, "0  3 * * *", err), 0);
	assert_int_equal(cron_parse(&c, " 0 3 * * *", err), -1);
	assert_int_equal(cron_parse(&c, "0 3 * * *\t", err), -1);
	assert_int_equal(cron_parse(&c, "* * * * * * *", err), -1);
	assert_non_null(strstr(err, "has 7 fields"));
}

/* The secrets section: secrets kept in Git, each at a path of the repository;
 * backend containers refuses one mounted as a file, swarm allows it. */
static void
test_git_secrets(void **state)
{
	const char *text = MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n"
	    "    environment: {T: {secret: token}}\n    secrets: [token]\n"
	    "secrets:\n  token: {file: secrets/token.age}\n  db.pw:\n    file: a/b/c.age\n";
	struct diag d;
	struct manifest *m = parse_text(text, &d);

	assert_non_null(m);
	assert_int_equal(m->ngit_secrets, 2);
	assert_string_equal(m->git_secrets[0].name, "token");
	assert_string_equal(m->git_secrets[0].file, "secrets/token.age");
	assert_int_equal(m->git_secrets[0].line, 9);
	assert_string_equal(manifest_git_secret(m, "db.pw")->file, "a/b/c.age");
	assert_null(manifest_git_secret(m, "nope"));
	diag_release(&d);
	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "swarm", &d), 0);
	assert_int_equal(manifest_check_backend(m, "containers", &d), -1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].path, "services.a.secrets[0]");
	assert_non_null(strstr(d.v[0].msg, "use it in environment as {secret: token}"));
	diag_release(&d);
	manifest_free(m);

	assert_true(manifest_repo_path_ok("secrets/x.age"));
	assert_true(manifest_repo_path_ok("x"));
	assert_false(manifest_repo_path_ok(""));
	assert_false(manifest_repo_path_ok("/etc/x"));
	assert_false(manifest_repo_path_ok("a//b"));
	assert_false(manifest_repo_path_ok("a/"));
	assert_false(manifest_repo_path_ok("a/../b"));
	assert_false(manifest_repo_path_ok("./a"));
	assert_false(manifest_repo_path_ok("a\\b"));
	assert_error(MF_HEAD "services: {}\nsecrets:\n  t: {file: /x.age}\n",
	    "5:13: secrets.t.file: file '/x.age' must be a path inside the repository");
	assert_error(MF_HEAD "services: {}\nsecrets:\n  t: {file: a/../../x}\n",
	    "5:13: secrets.t.file: file 'a/../../x' must be a path inside the repository");
	assert_error(MF_HEAD "services: {}\nsecrets:\n  t: {fil: x}\n",
	    "5:7: secrets.t.fil: unknown key 'fil' (did you mean 'file'?)");
	assert_error(MF_HEAD "services: {}\nsecrets:\n  t: {fil: x}\n",
	    "5:7: secrets.t.file: missing required key 'file'");
	assert_error(MF_HEAD "services: {}\nsecrets:\n  ../t: {file: x}\n",
	    "5:3: secrets.../t: secret name '../t' must be a plain file name");
	assert_error(MF_HEAD "services: {}\nsecrets: [a]\n",
	    "4:10: secrets: expected a mapping");
	assert_error(MF_HEAD "services: {}\nsecrets:\n  t: {file: 3}\n",
	    "5:13: secrets.t.file: expected a string");
}

static void
test_track(void **state)
{
	const char *text = MF_HEAD "services:\n"
	    "  db:\n    image: postgres:16-alpine@" DIGEST_A "\n    track: {cooldown: 3d}\n"
	    "  cache:\n    image: 127.0.0.1:5000/redis@" DIGEST_A "\n"
	    "    track: {tag: 7-alpine, cooldown: 1d12h}\n"
	    "  web:\n    image: r/web:1.2@" DIGEST_A "\n    track: {tag: \"1\", cooldown: 0}\n"
	    "  plain:\n    image: r/p@" DIGEST_A "\n";
	char *name, *tag, *digest;
	struct diag d;
	struct manifest *m = parse_text(text, &d);

	(void)state;
	assert_non_null(m);
	assert_true(manifest_service(m, "db")->track.set);
	assert_string_equal(manifest_service(m, "db")->track.tag, "16-alpine");
	assert_int_equal(manifest_service(m, "db")->track.cooldown, 3LL * 86400 * 1000);
	assert_int_equal(manifest_service(m, "db")->track.line, 6);
	assert_string_equal(manifest_service(m, "cache")->track.tag, "7-alpine");
	assert_int_equal(manifest_service(m, "cache")->track.cooldown, 36LL * 3600 * 1000);
	assert_string_equal(manifest_service(m, "web")->track.tag, "1");
	assert_int_equal(manifest_service(m, "web")->track.cooldown, 0);
	assert_false(manifest_service(m, "plain")->track.set);
	assert_null(manifest_service(m, "plain")->track.tag);
	/* allowed on both backends */
	diag_release(&d);
	diag_init(&d, "t.yaml");
	assert_int_equal(manifest_check_backend(m, "swarm", &d), 0);
	assert_int_equal(manifest_check_backend(m, "containers", &d), 0);
	diag_release(&d);
	manifest_free(m);

	assert_int_equal(manifest_image_split("127.0.0.1:5000/a/b:1@sha256:ab", &name, &tag,
	    &digest), 0);
	assert_string_equal(name, "127.0.0.1:5000/a/b");
	assert_string_equal(tag, "1");
	assert_string_equal(digest, "sha256:ab");
	free(name), free(tag), free(digest);
	assert_int_equal(manifest_image_split("localhost:5000/b", &name, &tag, &digest), 0);
	assert_string_equal(name, "localhost:5000/b");
	assert_string_equal(tag, "");
	assert_string_equal(digest, "");
	free(name), free(tag), free(digest);
	assert_int_equal(manifest_image_split(":x", &name, &tag, &digest), -1);
	assert_true(manifest_tag_ok("16-alpine"));
	assert_true(manifest_tag_ok("_x.Y-1"));
	assert_false(manifest_tag_ok(""));
	assert_false(manifest_tag_ok(".x"));
	assert_false(manifest_tag_ok("a:b"));

	assert_error(MF_HEAD "services:\n  a:\n    image: r@" DIGEST_A "\n    track: {}\n",
	    "6:12: services.a.track: track needs a tag: write track.tag, or the image as "
	    "NAME:TAG@sha256:…");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A "\n    track: 1\n",
	    "6:12: services.a.track: expected a mapping, found an integer");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A
	    "\n    track: {tag: -x}\n", "6:18: services.a.track.tag: invalid tag '-x' (expected "
	    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, the tag alone, without the name)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A
	    "\n    track: {cooldown: 2w}\n", "6:23: services.a.track.cooldown: invalid cooldown "
	    "'2w' (expected e.g. 3d, 72h, 1d12h or 0)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A
	    "\n    track: {cooldown: 1h3d}\n", "6:23: services.a.track.cooldown: invalid "
	    "cooldown '1h3d' (expected e.g. 3d, 72h, 1d12h or 0)");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A
	    "\n    track: {cooldown: 365d1s}\n", "6:23: services.a.track.cooldown: cooldown "
	    "'365d1s' is more than the limit of 365d");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A
	    "\n    track: {cooldown: 99999d}\n", "6:23: services.a.track.cooldown: cooldown "
	    "'99999d' is more than the limit of 365d");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1\n    allow_tags: true\n"
	    "    track: {tag: \"1\"}\n", "7:12: services.a.track: track needs the image pinned "
	    "by digest (NAME[:TAG]@sha256:…): update-images writes the new digest there");
	assert_error(MF_HEAD "services:\n  a:\n    image: r:1@" DIGEST_A
	    "\n    track: {tags: x}\n", "6:13: services.a.track.tags: unknown key 'tags' (did "
	    "you mean 'tag'?)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_manifest),
		cmocka_unit_test(test_track),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_scalar_types),
		cmocka_unit_test(test_yaml_kinds),
		cmocka_unit_test(test_stricter_rules),
		cmocka_unit_test(test_null_means_defaults),
		cmocka_unit_test(test_allow_tags),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_positions_after_utf8),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_cron),
		cmocka_unit_test(test_git_secrets),
	};

	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
