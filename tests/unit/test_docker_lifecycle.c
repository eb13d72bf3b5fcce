/*
 * test_docker_lifecycle: a container's whole life on the real engine:
 * networks and volumes ensured, create, start, inspect, exec with stdin and
 * stdout, rename, stop, wait, kill and remove (docker_fixture.h).
 */
#include "docker_fixture.h"

static int
ensure_twice(int (*fn)(struct docker *, const char *, json_t *, char *), const char *name,
    json_t *body)
{
	char err[ERR_LEN];
	int first = fn(engine, name, body, err);

	if (first != 1)
		fail_msg("first ensure of '%s' gave %d: %s", name, first, err);
	return fn(engine, name, body, err);
}

static void
test_engine_ensure(void **state)
{
	const char *net, *vol;
	json_t *nb, *vb, *list = NULL;
	char err[ERR_LEN], *path;
	long status;

	(void)state;
	NEED_ENGINE();	/* before anything is allocated: a skip frees nothing */
	net = made("network", "ens-net");
	vol = made("volume", "ens-vol");
	nb = json_pack("{s:s,s:b,s:o}", "Driver", "bridge", "Internal", 1, "Labels",
	    test_labels());
	vb = json_pack("{s:o}", "Labels", test_labels());
	assert_int_equal(ensure_twice(docker_network_ensure, net, nb), 0);
	assert_int_equal(ensure_twice(docker_volume_ensure, vol, vb), 0);
	/* exactly one network of that name (1.41 would happily make two) */
	path = xasprintf("/networks?filters=%%7B%%22name%%22%%3A%%7B%%22%s%%22%%3Atrue%%7D%%7D",
	    net);
	status = docker_call(engine, "GET", path, NULL, &list, NULL, err);
	if (status != 200)
		fail_msg("%s", err);
	assert_int_equal(json_array_size(list), 1);
	assert_true(json_is_true(json_object_get(json_array_get(list, 0), "Internal")));
	json_decref(list);
	free(path);
	json_decref(nb);
	json_decref(vb);
}

struct feeder {
	const char *data;
	size_t len, off, step;
};

static ssize_t
feed_cb(char *buf, size_t len, void *payload)
{
	struct feeder *f = payload;
	size_t n = f->len - f->off;

	if (n > len)
		n = len;
	if (n > f->step)
		n = f->step;
	memcpy(buf, f->data + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

struct exec_io {
	struct capture cap;
	struct feeder in;
};

static int
exec_io_out(int stream, const char *data, size_t len, void *payload)
{
	return capture_cb(stream, data, len, &((struct exec_io *)payload)->cap);
}

static ssize_t
exec_io_in(char *buf, size_t len, void *payload)
{
	return feed_cb(buf, len, &((struct exec_io *)payload)->in);
}

static size_t
http_get_cb(char *p, size_t s, size_t n, void *u)
{
	buf_add(u, p, s * n);
	return s * n;
}

static void
http_get(const char *url, struct buf *out)
{
	CURL *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_get_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_perform(c);
	curl_easy_cleanup(c);
}

static void
test_engine_lifecycle(void **state)
{
	const char *net_a, *net_b, *vol, *name, *renamed;
	const char *const sh_argv[] = { "sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3",
		NULL };
	const char *const data_argv[] = { "sh", "-c", "id -u; echo $FOO > /data/f; cat /data/f",
		NULL };
	const char *const cat_argv[] = { "cat", NULL };
	const char *const head_argv[] = { "sh", "-c", "head -c 10; exit 4", NULL };
	const char *const sleep_argv[] = { "sleep", "5", NULL };
	const char *const env[] = { "FOO=bar baz", NULL };
	struct docker_exec_options xo = DOCKER_EXEC_OPTIONS_INIT;
	struct docker_options so = DOCKER_OPTIONS_INIT;
	struct docker_container dc;
	struct docker *slow = NULL;
	struct exec_io io;
	struct buf page;
	json_t *body, *ins = NULL, *list = NULL, *j, *nets, *mounts, *m;
	char err[ERR_LEN], *id = NULL, *html, *url, *random = NULL, filter[128];
	const char *port;
	size_t i;
	int code = -1, healthy = 0, saw_vol = 0, saw_bind = 0;
	long long t0;
	FILE *f;

	(void)state;
	NEED_ENGINE();	/* before anything is allocated: a skip frees nothing */
	net_a = made("network", "front");
	net_b = made("network", "back");
	vol = made("volume", "data");
	name = made("container", "web");
	renamed = made("container", "web-renamed");
	html = xasprintf("%s/index.html", tmpdir);
	f = fopen(html, "w");
	assert_non_null(f);
	fprintf(f, "hello from %s\n", run);
	fclose(f);
	chmod(html, 0644);
	free(html);

	assert_true(docker_network_ensure(engine, net_a, NULL, err) >= 0);
	assert_true(docker_network_ensure(engine, net_b, NULL, err) >= 0);
	assert_true(docker_volume_ensure(engine, vol, NULL, err) >= 0);

	body = json_pack("{s:s, s:[s,s], s:[s], s:[s,s], s:s, s:o, s:{s:{}},"
	    " s:{s:[s,s], s:I, s:I, s:i, s:I},"
	    " s:{s:{s:[{s:s,s:s}]}, s:[{s:s,s:s,s:s},{s:s,s:s,s:s,s:b}],"
	    "    s:{s:s,s:i}, s:{s:s,s:{s:s,s:s}}},"
	    " s:{s:{s:{s:[s,s]}, s:{s:[s]}}}}",
	    "Image", image,
	    "Entrypoint", "/bin/sh", "-c",
	    "Cmd", "echo started; exec httpd -f -p 8080 -h /www",
	    "Env", "GREETING=hello world", "RT=1",
	    "User", "65534:65534",
	    "Labels", test_labels(),
	    "ExposedPorts", "8080/tcp",
	    "Healthcheck", "Test", "CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1",
	    "Interval", (json_int_t)300000000, "Timeout", (json_int_t)2000000000, "Retries", 3,
	    "StartPeriod", (json_int_t)0,
	    "HostConfig",
	    "PortBindings", "8080/tcp", "HostIp", "127.0.0.1", "HostPort", "",
	    "Mounts", "Type", "volume", "Source", vol, "Target", "/data",
	    "Type", "bind", "Source", tmpdir, "Target", "/www", "ReadOnly", 1,
	    "RestartPolicy", "Name", "on-failure", "MaximumRetryCount", 2,
	    "LogConfig", "Type", "json-file", "Config", "max-size", "1m", "max-file", "2",
	    "NetworkingConfig", "EndpointsConfig", net_a, "Aliases", "web", "web-a",
	    net_b, "Aliases", "web-b");
	if (!body)
		fail_msg("json_pack failed");
	json_object_set_new(json_object_get(body, "Labels"), "io.reconciler.service",
	    json_string("web"));
	if (docker_container_create(engine, name, body, &id, err) < 0)
		fail_msg("create: %s", err);
	json_decref(body);
	if (docker_container_start(engine, id, err) < 0)
		fail_msg("start: %s", err);

	/* inspect shows what we asked for */
	assert_int_equal(docker_container_inspect(engine, name, &ins, err), 0);
	j = json_object_get(ins, "Config");
	assert_true(has_string(json_object_get(j, "Env"), "GREETING=hello world"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "Entrypoint"), 0)),
	    "/bin/sh");
	assert_contains(json_string_value(json_array_get(json_object_get(j, "Cmd"), 0)), "httpd");
	assert_string_equal(json_string_value(json_object_get(j, "User")), "65534:65534");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Labels"),
	    "io.reconciler.service")), "web");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "Healthcheck"),
	    "Interval")), 300000000);
	j = json_object_get(ins, "HostConfig");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "RestartPolicy"),
	    "Name")), "on-failure");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "RestartPolicy"),
	    "MaximumRetryCount")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j,
	    "LogConfig"), "Config"), "max-size")), "1m");
	mounts = json_object_get(ins, "Mounts");
	json_array_foreach(mounts, i, m) {
		const char *type = json_string_value(json_object_get(m, "Type"));

		if (type && !strcmp(type, "volume")) {
			assert_string_equal(json_string_value(json_object_get(m, "Name")), vol);
			assert_true(json_is_true(json_object_get(m, "RW")));
			saw_vol = 1;
		} else if (type && !strcmp(type, "bind")) {
			assert_string_equal(json_string_value(json_object_get(m, "Destination")),
			    "/www");
			assert_true(json_is_false(json_object_get(m, "RW")));
			saw_bind = 1;
		}
	}
	assert_true(saw_vol && saw_bind);
	/* two networks with their aliases, though 1.41 takes one at create */
	nets = json_object_get(json_object_get(ins, "NetworkSettings"), "Networks");
	assert_int_equal(json_object_size(nets), 2);
	assert_true(has_string(json_object_get(json_object_get(nets, net_a), "Aliases"), "web"));
	assert_true(has_string(json_object_get(json_object_get(nets, net_a), "Aliases"), "web-a"));
	assert_true(has_string(json_object_get(json_object_get(nets, net_b), "Aliases"), "web-b"));
	/* published on loopback only, and serving the read-only bind mount */
	j = json_array_get(json_object_get(json_object_get(json_object_get(ins, "NetworkSettings"),
	    "Ports"), "8080/tcp"), 0);
	assert_string_equal(json_string_value(json_object_get(j, "HostIp")), "127.0.0.1");
	port = json_string_value(json_object_get(j, "HostPort"));
	assert_non_null(port);
	url = xasprintf("http://127.0.0.1:%s/index.html", port);
	buf_init(&page, 1 << 16);
	for (int tries = 0; tries < 50 && !page.len; tries++) {
		http_get(url, &page);
		if (!page.len)
			usleep(100000);
	}
	assert_non_null(page.data);
	assert_contains(page.data, run);
	buf_release(&page);
	free(url);
	json_decref(ins);
	ins = NULL;

	/* the list, filtered by label, decodes; wait for the health check to pass */
	snprintf(filter, sizeof(filter), "io.reconciler.test-run=%s", run);
	for (int tries = 0; tries < 100 && !healthy; tries++) {
		assert_int_equal(docker_containers_list(engine, filter, 0, &list, err), 0);
		assert_int_equal(json_array_size(list), 1);
		assert_int_equal(docker_container_from_json(&dc, json_array_get(list, 0), err), 0);
		assert_string_equal(dc.name, name);
		assert_string_equal(dc.id, id);
		assert_string_equal(dc.image, image);
		assert_string_equal(dc.state, "running");
		healthy = dc.health && !strcmp(dc.health, "healthy");
		docker_container_release(&dc);
		json_decref(list);
		list = NULL;
		if (!healthy)
			usleep(100000);
	}
	assert_true(healthy);
	assert_int_equal(docker_containers_list(engine, "io.reconciler.test-run=none", 1, &list,
	    err), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	list = NULL;

	/* exec: stdout and stderr apart, the exit code */
	memset(&io, 0, sizeof(io));
	capture_init(&io.cap);
	xo.argv = sh_argv;
	xo.output = exec_io_out;
	xo.payload = &io;
	assert_int_equal(docker_exec(engine, name, &xo, &code, err), 0);
	assert_int_equal(code, 3);
	assert_string_equal(io.cap.out.data, "out1\nout2\n");
	assert_string_equal(io.cap.err.data, "err1\n");
	capture_release(&io.cap);
	/* as root, with env, writing to the named volume */
	capture_init(&io.cap);
	xo.argv = data_argv;
	xo.user = "0";
	xo.env = env;
	assert_int_equal(docker_exec(engine, name, &xo, &code, err), 0);
	assert_int_equal(code, 0);
	assert_string_equal(io.cap.out.data, "0\nbar baz\n");
	capture_release(&io.cap);
	/* stdin: 200 KiB of binary through cat, fed in odd pieces */
	capture_init(&io.cap);
	random = xmalloc(200 * 1024);
	for (i = 0; i < 200 * 1024; i++)
		random[i] = (char)((i * 2654435761u) >> 13);
	io.in.data = random;
	io.in.len = 200 * 1024;
	io.in.step = 7777;
	xo.argv = cat_argv;
	xo.user = NULL;
	xo.env = NULL;
	xo.input = exec_io_in;
	assert_int_equal(docker_exec(engine, name, &xo, &code, err), 0);
	assert_int_equal(code, 0);
	assert_int_equal(io.cap.out.len, 200 * 1024);
	assert_memory_equal(io.cap.out.data, random, 200 * 1024);
	assert_int_equal(io.cap.err.len, 0);
	capture_release(&io.cap);
	free(random);
	/* a process that reads 10 bytes of its stdin and leaves */
	capture_init(&io.cap);
	random = xmalloc(1 << 20);
	memset(random, 'x', 1 << 20);
	io.in.data = random;
	io.in.len = 1 << 20;
	io.in.off = 0;
	io.in.step = 1 << 20;
	xo.argv = head_argv;
	if (docker_exec(engine, name, &xo, &code, err) < 0)
		fail_msg("exec head: %s", err);
	assert_int_equal(code, 4);
	assert_string_equal(io.cap.out.data, "xxxxxxxxxx");
	capture_release(&io.cap);
	free(random);
	/* an exec that outlives its timeout */
	capture_init(&io.cap);
	xo.input = NULL;
	xo.argv = sleep_argv;
	xo.timeout_ms = 300;
	t0 = mono_ms();
	assert_int_equal(docker_exec(engine, name, &xo, &code, err), -1);
	assert_contains(err, "exec 'sleep' in 'rt-docker-");
	assert_contains(err, "no end within 300 ms");
	assert_in_range(mono_ms() - t0, 250, 3000);
	xo.timeout_ms = 0;
	/* an output callback that gives up ends the exec */
	io.cap.abort_after = 1;
	xo.argv = sh_argv;
	assert_int_equal(docker_exec(engine, name, &xo, &code, err), -1);
	assert_contains(err, "output callback aborted");
	capture_release(&io.cap);
	/* exec into a container that does not exist */
	xo.input = NULL;
	xo.argv = sh_argv;
	assert_int_equal(docker_exec(engine, "rt-docker-no-such-container", &xo, &code, err), -1);
	assert_contains(err, ": 404: No such container");

	/* rename */
	assert_int_equal(docker_container_rename(engine, id, renamed, err), 0);
	assert_int_equal(docker_container_inspect(engine, name, &ins, err), 1);
	assert_int_equal(docker_container_inspect(engine, renamed, &ins, err), 0);
	json_decref(ins);
	ins = NULL;

	/* stop: httpd is PID 1 and ignores TERM, so the engine waits the 4 s out;
	 * a handle whose own timeout (3 s) is shorter than that must still see
	 * the stop through (3 s past the grace: a loaded engine answers late) */
	so.timeout_ms = 3000;
	assert_int_equal(docker_open(&slow, &so, err), 0);
	t0 = mono_ms();
	if (docker_container_stop(slow, renamed, 4, err) < 0)
		fail_msg("stop: %s", err);
	assert_in_range(mono_ms() - t0, 3500, 20000);
	assert_int_equal(docker_container_stop(slow, renamed, 4, err), 0);	/* 304 */
	docker_free(slow);
	assert_int_equal(docker_container_wait(engine, renamed, 5000, &code, err), 0);
	assert_int_equal(code, 137);

	/* remove: the container goes, the volume stays */
	assert_int_equal(docker_container_remove(engine, id, 0, err), 0);
	assert_int_equal(docker_container_inspect(engine, id, &ins, err), 1);
	url = xasprintf("/volumes/%s", vol);
	assert_int_equal(docker_call(engine, "GET", url, NULL, &ins, NULL, err), 200);
	json_decref(ins);
	free(url);
	free(id);
}

static void
test_engine_wait_kill(void **state)
{
	const char *exits, *sleeper;
	json_t *b1, *b2;
	char err[ERR_LEN], *id1 = NULL, *id2 = NULL;
	int code = -1;

	(void)state;
	NEED_ENGINE();	/* before anything is allocated: a skip frees nothing */
	exits = made("container", "exits");
	sleeper = made("container", "sleeper");
	b1 = json_pack("{s:s,s:[s,s,s],s:o}", "Image", image, "Cmd", "sh", "-c", "exit 7",
	    "Labels", test_labels());
	b2 = json_pack("{s:s,s:[s,s],s:o}", "Image", image, "Cmd", "sleep", "600",
	    "Labels", test_labels());
	assert_int_equal(docker_container_create(engine, exits, b1, &id1, err), 0);
	assert_int_equal(docker_container_start(engine, id1, err), 0);
	assert_int_equal(docker_container_wait(engine, id1, 10000, &code, err), 0);
	assert_int_equal(code, 7);
	assert_int_equal(docker_container_create(engine, sleeper, b2, &id2, err), 0);
	assert_int_equal(docker_container_start(engine, id2, err), 0);
	/* a wait that times out is an error, and says so */
	assert_int_equal(docker_container_wait(engine, id2, 300, &code, err), -1);
	assert_contains(err, "within 300 ms");
	assert_int_equal(docker_container_kill(engine, id2, "SIGKILL", err), 0);
	assert_int_equal(docker_container_wait(engine, id2, 10000, &code, err), 0);
	assert_int_equal(code, 137);
	assert_int_equal(docker_container_remove(engine, id1, 0, err), 0);
	assert_int_equal(docker_container_remove(engine, id2, 0, err), 0);
	json_decref(b1);
	json_decref(b2);
	free(id1);
	free(id2);
}

int
main(void)
{
	const struct CMUnitTest real[] = {
		cmocka_unit_test_teardown(test_engine_ensure, test_teardown),
		cmocka_unit_test_teardown(test_engine_lifecycle, test_teardown),
		cmocka_unit_test_teardown(test_engine_wait_kill, test_teardown),
	};
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests_name("docker (real engine: lifecycle)", real, group_setup, group_teardown);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
