/*
 * test_docker_engine: the Engine client against the real engine: version
 * negotiation, the engine's errors, a socket without permission, networks,
 * the events stream and pulls from the local registry (docker_fixture.h).
 */
#include "docker_fixture.h"

static void
test_engine_version(void **state)
{
	json_t *info = NULL;
	char err[ERR_LEN];
	long status = 0;
	unsigned long before;

	(void)state;
	NEED_ENGINE();
	assert_true(docker_api_at_least(engine, 1, 41));
	assert_true(strcmp(docker_api_version(engine), "1.41") >= 0);
	assert_true(strcmp(docker_api_version(engine), "1.44") <= 0);
	before = docker_calls(engine);
	assert_int_equal(docker_call(engine, "GET", "/info", NULL, &info, &status, err), 200);
	assert_int_equal(status, 200);
	assert_true(json_is_object(info));
	assert_int_equal(docker_calls(engine), before + 1);
	json_decref(info);
	/* /_ping answers "OK", not JSON */
	assert_int_equal(docker_call(engine, "GET", "/_ping", NULL, &info, NULL, err), -1);
	assert_contains(err, "malformed JSON");
	assert_int_equal(docker_call(engine, "GET", "/_ping", NULL, NULL, NULL, err), 200);
}

static void
test_engine_errors(void **state)
{
	json_t *body, *out = NULL;
	char err[ERR_LEN], *id = NULL, *id2 = NULL, *path;
	const char *name, *ghost;
	long status = 0;

	(void)state;
	NEED_ENGINE();	/* before anything is allocated: a skip frees nothing */
	name = made("container", "dup");
	ghost = "rt-docker-no-such-container";
	assert_int_equal(docker_container_start(engine, ghost, err), -1);
	assert_string_equal(err, "engine: POST /containers/rt-docker-no-such-container/start: "
	    "404: No such container: rt-docker-no-such-container");
	assert_int_equal(docker_container_inspect(engine, ghost, &out, err), 1);
	assert_null(out);
	assert_int_equal(docker_image_inspect(engine, "rt-docker/none:nope", &out, err), 1);
	assert_int_equal(docker_container_remove(engine, ghost, 1, err), 0);
	/* callers that do not want the message pass NULL */
	assert_int_equal(docker_container_remove(engine, ghost, 1, NULL), 0);
	assert_int_equal(docker_container_start(engine, ghost, NULL), -1);
	assert_int_equal(docker_container_inspect(engine, ghost, &out, NULL), 1);
	assert_int_equal(docker_network_ensure(engine, "bad\tname", NULL, NULL), -1);
	path = xasprintf("/containers/%s/json", ghost);
	assert_int_equal(docker_call(engine, "GET", path, NULL, &out, &status, err), -1);
	assert_int_equal(status, 404);
	free(path);

	body = json_pack("{s:s,s:[s,s],s:o}", "Image", image, "Cmd", "sleep", "60", "Labels",
	    test_labels());
	assert_int_equal(docker_container_create(engine, name, body, &id, err), 0);
	assert_int_equal(docker_container_create(engine, name, body, &id2, err), -1);
	assert_null(id2);
	assert_contains(err, "engine: POST /containers/create?name=rt-docker-");
	assert_contains(err, ": 409: Conflict.");
	/* a created, never started container: kill is refused by the engine */
	assert_int_equal(docker_container_kill(engine, id, NULL, err), -1);
	assert_contains(err, ": 409: ");
	assert_int_equal(docker_container_start(engine, id, err), 0);
	assert_int_equal(docker_container_start(engine, id, err), 0);	/* 304 */
	assert_int_equal(docker_container_kill(engine, id, "BOGUS", err), -1);
	assert_contains(err, "/kill?signal=BOGUS: 400: ");
	assert_int_equal(docker_container_remove(engine, id, 1, err), 0);
	/* check_arg refuses control characters before anything is sent */
	assert_int_equal(docker_container_start(engine, "a\nb", err), -1);
	assert_contains(err, "control character");
	json_decref(body);
	free(id);
}

static void
test_engine_permission(void **state)
{
	char err[ERR_LEN] = "";
	int p[2], status;
	pid_t pid;
	ssize_t n;

	(void)state;
	NEED_ENGINE();
	if (geteuid() != 0)
		skip();	/* only root can become someone without access */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct docker *d = NULL;
		char e[ERR_LEN] = "opened";

		close(p[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			snprintf(e, sizeof(e), "cannot drop privileges");
		else if (docker_open(&d, NULL, e) == 0)
			docker_free(d);
		if (write(p[1], e, strlen(e)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], err, sizeof(err) - 1);
	close(p[0]);
	waitpid(pid, &status, 0);
	assert_true(n > 0);
	err[n] = '\0';
	assert_contains(err, "permission denied on docker socket '");
	assert_contains(err, sock_path());
	assert_contains(err, "group 'docker'");
	assert_contains(err, "usermod -aG docker");
}

static void
test_engine_networks(void **state)
{
	const char *net_a, *net_b, *c1, *c2;
	json_t *body, *ins = NULL, *nets;
	char err[ERR_LEN], *id = NULL;

	(void)state;
	NEED_ENGINE();	/* before anything is allocated: a skip frees nothing */
	net_a = made("network", "na");
	net_b = made("network", "nb");
	c1 = made("container", "nets1");
	c2 = made("container", "nets2");
	assert_int_equal(docker_network_ensure(engine, net_a, NULL, err), 1);
	assert_int_equal(docker_network_ensure(engine, net_b, NULL, err), 1);
	/* NetworkMode names the primary network, even when it is not listed first */
	body = json_pack("{s:s,s:[s,s],s:o,s:{s:s},s:{s:{s:{s:[s]},s:{s:[s]}}}}", "Image", image,
	    "Cmd", "sleep", "60", "Labels", test_labels(), "HostConfig", "NetworkMode", net_b,
	    "NetworkingConfig", "EndpointsConfig", net_a, "Aliases", "a1", net_b, "Aliases", "b1");
	assert_non_null(body);
	if (docker_container_create(engine, c1, body, &id, err) < 0)
		fail_msg("create: %s", err);
	assert_int_equal(docker_container_inspect(engine, id, &ins, err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ins, "HostConfig"),
	    "NetworkMode")), net_b);
	nets = json_object_get(json_object_get(ins, "NetworkSettings"), "Networks");
	assert_int_equal(json_object_size(nets), 2);
	assert_true(has_string(json_object_get(json_object_get(nets, net_a), "Aliases"), "a1"));
	json_decref(ins);
	free(id);
	id = NULL;
	/* the body we lent is untouched */
	assert_int_equal(json_object_size(json_object_get(json_object_get(body,
	    "NetworkingConfig"), "EndpointsConfig")), 2);
	/* a network that does not exist: the engine (1.41) takes the connect of a
	 * created container on trust and only fails the start */
	json_object_set_new(json_object_get(json_object_get(body, "NetworkingConfig"),
	    "EndpointsConfig"), "rt-docker-no-such-net", json_object());
	if (docker_container_create(engine, c2, body, &id, err) == 0) {
		assert_int_equal(docker_container_start(engine, id, err), -1);
		assert_contains(err, ": 404: network rt-docker-no-such-net not found");
	} else {
		/* and should an engine refuse it at create, nothing is left behind */
		assert_contains(err, "rt-docker-no-such-net");
		assert_int_equal(docker_container_inspect(engine, c2, &ins, err), 1);
	}
	free(id);
	json_decref(body);
}

/* events: another handle, on another thread, makes a container start */
struct actor {
	const char *name;
	int ok;
	char err[ERR_LEN];
};

static void *
actor_run(void *arg)
{
	struct actor *a = arg;
	struct docker *d = NULL;
	json_t *b = json_pack("{s:s,s:[s,s],s:o}", "Image", image, "Cmd", "sleep", "60", "Labels",
	    test_labels());
	char *id = NULL;

	usleep(300000);
	if (docker_open(&d, NULL, a->err) == 0 &&
	    docker_container_create(d, a->name, b, &id, a->err) == 0 &&
	    docker_container_start(d, id, a->err) == 0)
		a->ok = 1;
	free(id);
	json_decref(b);
	docker_free(d);
	return NULL;
}

struct seen {
	const char *name;
	int events, started;
};

static int
event_cb(json_t *ev, void *payload)
{
	struct seen *s = payload;
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *name = json_string_value(json_object_get(attrs, "name"));

	s->events++;
	if (action && name && !strcmp(action, "start") && !strcmp(name, s->name))
		s->started = 1;
	return s->started;
}

static void
test_engine_events(void **state)
{
	struct actor a = { 0 };
	struct seen s = { 0 };
	pthread_t th;
	char err[ERR_LEN], filter[128];
	long long t0;
	int rc;

	(void)state;
	NEED_ENGINE();
	a.name = s.name = made("container", "evt");
	snprintf(filter, sizeof(filter), "io.reconciler.test-run=%s", run);
	assert_int_equal(pthread_create(&th, NULL, actor_run, &a), 0);
	rc = docker_events(engine, filter, 15000, event_cb, &s, err);
	pthread_join(th, NULL);
	if (!a.ok)
		fail_msg("actor: %s", a.err);
	if (rc < 0)
		fail_msg("events: %s", err);
	assert_int_equal(rc, 1);
	assert_true(s.started);
	assert_true(s.events >= 2);	/* create, then start */
	/* nothing happens: the timeout ends the call normally */
	memset(&s, 0, sizeof(s));
	s.name = "rt-docker-nothing";
	t0 = mono_ms();
	assert_int_equal(docker_events(engine, "io.reconciler.test-run=none", 500, event_cb, &s,
	    err), 0);
	assert_in_range(mono_ms() - t0, 400, 5000);
	assert_int_equal(s.events, 0);
}

/* Reads KEY=value from images.env into out; 0 when found. */
static int
images_env(const char *key, char *out, size_t len)
{
	char line[512];
	size_t kl = strlen(key);
	FILE *f = fopen(IMAGES_ENV, "r");
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
			char *v = line + kl + 1;

			v[strcspn(v, "\r\n")] = '\0';
			if (*v == '"' || *v == '\'') {
				v++;
				v[strcspn(v, "\"'")] = '\0';
			}
			if (strlen(v) < len) {
				memcpy(out, v, strlen(v) + 1);
				rc = 0;
			}
			break;
		}
	}
	fclose(f);
	return rc;
}

static void
test_engine_pull(void **state)
{
	char ref[300], err[ERR_LEN], *path, bogus[400];
	json_t *img = NULL;
	unsigned long calls;
	long status = 0;

	(void)state;
	NEED_ENGINE();
	if (images_env("IMG_WEB_V1", ref, sizeof(ref)) < 0) {
		print_message("no %s: pull test skipped\n", IMAGES_ENV);
		skip();
	}
	/* make it absent, unless someone's container uses it (then leave it) */
	path = xasprintf("/images/%s", ref);
	if (docker_call(engine, "DELETE", path, NULL, NULL, &status, err) < 0 && status != 404)
		print_message("cannot remove %s first (%s): pulling what is there\n", ref, err);
	free(path);
	if (docker_image_pull(engine, ref, err) < 0)
		fail_msg("pull: %s", err);
	assert_int_equal(docker_image_inspect(engine, ref, &img, err), 0);
	json_decref(img);
	/* present now: one inspect, no pull */
	calls = docker_calls(engine);
	assert_int_equal(docker_image_pull(engine, ref, err), 0);
	assert_int_equal(docker_calls(engine), calls + 1);
	/* a digest the registry does not have */
	snprintf(bogus, sizeof(bogus), "127.0.0.1:5000/reconciler-test/web@sha256:%064d", 0);
	assert_int_equal(docker_image_pull(engine, bogus, err), -1);
	assert_contains(err, "pull '127.0.0.1:5000/reconciler-test/web@sha256:000");
}

int
main(void)
{
	const struct CMUnitTest real[] = {
		cmocka_unit_test_teardown(test_engine_version, test_teardown),
		cmocka_unit_test_teardown(test_engine_errors, test_teardown),
		cmocka_unit_test_teardown(test_engine_permission, test_teardown),
		cmocka_unit_test_teardown(test_engine_networks, test_teardown),
		cmocka_unit_test_teardown(test_engine_events, test_teardown),
		cmocka_unit_test_teardown(test_engine_pull, test_teardown),
	};
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests_name("docker (real engine)", real, group_setup, group_teardown);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
