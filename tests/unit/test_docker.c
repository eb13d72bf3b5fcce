/*
 * test_docker: the Engine client without an engine: the stream
 * demultiplexer, container decoding, and a fake engine on a private socket
 * for negotiation, transport errors, a proxy's refusal, exec and pulls. The
 * registry auth header is test_docker_auth; the real engine is
 * test_docker_engine and test_docker_lifecycle.
 */
#include "docker_test.h"
#include "docker_fake.h"

/* ---------------------------------------------------------------- demux */

static void
test_demux_chunks(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 5, 7, 8, 9, 13, 4096, 65536, (size_t)-1 };
	struct buf stream, want_out, want_err;
	char *big = xmalloc(100000);
	char err[ERR_LEN];

	(void)state;
	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)(i * 7 + 3);
	buf_init(&stream, 0);
	buf_init(&want_out, 0);
	buf_init(&want_err, 0);
	frame(&stream, 1, "hello ", 6);
	frame(&stream, 2, "oops\n", 5);
	frame(&stream, 1, "", 0);	/* empty frames happen */
	frame(&stream, 0, "echo", 4);	/* stdin echo reads as stdout */
	frame(&stream, 2, big, 100000);
	frame(&stream, 1, "\0bin\0ary\0", 9);
	buf_adds(&want_out, "hello ");
	buf_adds(&want_out, "echo");
	buf_add(&want_out, "\0bin\0ary\0", 9);
	buf_adds(&want_err, "oops\n");
	buf_add(&want_err, big, 100000);

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct docker_demux m = DOCKER_DEMUX_INIT;
		struct capture c;

		capture_init(&c);
		for (size_t off = 0; off < stream.len;) {
			size_t n = stream.len - off < sizes[s] ? stream.len - off : sizes[s];

			assert_int_equal(docker_demux_feed(&m, stream.data + off, n, capture_cb, &c,
			    err), 0);
			off += n;
		}
		assert_int_equal(docker_demux_finish(&m, err), 0);
		assert_int_equal(c.out.len, want_out.len);
		assert_memory_equal(c.out.data, want_out.data, want_out.len);
		assert_int_equal(c.err.len, want_err.len);
		assert_memory_equal(c.err.data, want_err.data, want_err.len);
		if (sizes[s] == (size_t)-1)
			assert_int_equal(c.calls, 5);	/* one call per non-empty frame */
		capture_release(&c);
	}
	free(big);
	buf_release(&stream);
	buf_release(&want_out);
	buf_release(&want_err);
}

static void
test_demux_split_header(void **state)
{
	struct docker_demux m = DOCKER_DEMUX_INIT;
	struct capture c;
	struct buf s;
	char err[ERR_LEN];

	(void)state;
	buf_init(&s, 0);
	frame(&s, 1, "abc", 3);
	frame(&s, 2, "de", 2);
	capture_init(&c);
	/* header split 3 + 5, then payload and the next header together */
	assert_int_equal(docker_demux_feed(&m, s.data, 3, capture_cb, &c, err), 0);
	assert_int_equal(m.hdr_len, 3);
	assert_int_equal(docker_demux_finish(&m, err), -1);
	assert_contains(err, "inside a frame header");
	assert_int_equal(docker_demux_feed(&m, s.data + 3, 6, capture_cb, &c, err), 0);
	assert_int_equal(m.left, 2);
	assert_int_equal(docker_demux_finish(&m, err), -1);
	assert_contains(err, "2 bytes short");
	assert_int_equal(docker_demux_feed(&m, s.data + 9, s.len - 9, capture_cb, &c, err), 0);
	assert_int_equal(docker_demux_finish(&m, err), 0);
	assert_string_equal(c.out.data, "abc");
	assert_string_equal(c.err.data, "de");
	capture_release(&c);
	buf_release(&s);
}

static void
test_demux_bad(void **state)
{
	unsigned char bad_stream[8] = { 4, 0, 0, 0, 0, 0, 0, 1 };
	unsigned char bad_pad[8] = { 1, 0, 1, 0, 0, 0, 0, 1 };
	unsigned char huge[8] = { 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	unsigned char limit[8] = { 2, 0, 0, 0, 0x01, 0x00, 0x00, 0x00 };	/* exactly the max */
	unsigned char over[8] = { 2, 0, 0, 0, 0x01, 0x00, 0x00, 0x01 };
	struct docker_demux m = DOCKER_DEMUX_INIT;
	struct capture c;
	struct buf s;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(docker_demux_feed(&m, (char *)bad_stream, 8, NULL, NULL, err), -1);
	assert_contains(err, "malformed stream header 04");
	m = (struct docker_demux)DOCKER_DEMUX_INIT;
	assert_int_equal(docker_demux_feed(&m, (char *)bad_pad, 8, NULL, NULL, err), -1);
	assert_contains(err, "not a multiplexed stream");
	m = (struct docker_demux)DOCKER_DEMUX_INIT;
	assert_int_equal(docker_demux_feed(&m, (char *)huge, 8, NULL, NULL, err), -1);
	assert_contains(err, "4294967295 bytes");
	m = (struct docker_demux)DOCKER_DEMUX_INIT;
	assert_int_equal(docker_demux_feed(&m, (char *)limit, 8, NULL, NULL, err), 0);
	assert_int_equal(m.left, DOCKER_DEMUX_MAX_FRAME);
	m = (struct docker_demux)DOCKER_DEMUX_INIT;
	assert_int_equal(docker_demux_feed(&m, (char *)over, 8, NULL, NULL, err), -1);
	/* raw TTY text is not a multiplexed stream */
	m = (struct docker_demux)DOCKER_DEMUX_INIT;
	assert_int_equal(docker_demux_feed(&m, "hello world\n", 12, NULL, NULL, err), -1);

	/* a callback that says stop stops the stream */
	buf_init(&s, 0);
	frame(&s, 1, "a", 1);
	frame(&s, 1, "b", 1);
	capture_init(&c);
	c.abort_after = 2;
	m = (struct docker_demux)DOCKER_DEMUX_INIT;
	assert_int_equal(docker_demux_feed(&m, s.data, s.len, capture_cb, &c, err), -1);
	assert_contains(err, "aborted");
	assert_string_equal(c.out.data, "a");
	capture_release(&c);
	buf_release(&s);
}

/* ---------------------------------------------------------------- decoding */

static const char list_item[] =
    "{\"Id\":\"0123456789abcdef0123\",\"Names\":[\"/other/alias\",\"/web\"],"
    "\"Image\":\"127.0.0.1:5000/x@sha256:aa\",\"ImageID\":\"sha256:bb\","
    "\"Command\":\"sh\",\"Created\":1700000000,\"State\":\"running\","
    "\"Status\":\"Up 3 minutes (healthy)\",\"Labels\":{\"io.reconciler.project\":\"p\"}}";

static void
test_container_from_list(void **state)
{
	struct docker_container c;
	json_t *j = json_loads(list_item, 0, NULL);
	char err[ERR_LEN];

	(void)state;
	assert_non_null(j);
	assert_int_equal(docker_container_from_json(&c, j, err), 0);
	assert_string_equal(c.id, "0123456789abcdef0123");
	assert_string_equal(c.name, "web");
	assert_string_equal(c.image, "127.0.0.1:5000/x@sha256:aa");
	assert_string_equal(c.image_id, "sha256:bb");
	assert_string_equal(c.state, "running");
	assert_string_equal(c.status, "Up 3 minutes (healthy)");
	assert_string_equal(c.health, "healthy");
	assert_int_equal(c.created, 1700000000);
	assert_string_equal(json_string_value(json_object_get(c.labels, "io.reconciler.project")),
	    "p");
	docker_container_release(&c);
	docker_container_release(&c);	/* idempotent */

	json_object_set_new(j, "Status", json_string("Up 2 seconds (health: starting)"));
	assert_int_equal(docker_container_from_json(&c, j, err), 0);
	assert_string_equal(c.health, "starting");
	docker_container_release(&c);
	json_object_set_new(j, "Status", json_string("Up 5 minutes (unhealthy)"));
	assert_int_equal(docker_container_from_json(&c, j, err), 0);
	assert_string_equal(c.health, "unhealthy");
	docker_container_release(&c);
	json_object_set_new(j, "Status", json_string("Exited (0) 3 seconds ago"));
	json_object_set_new(j, "Labels", json_null());
	json_object_del(j, "ImageID");
	assert_int_equal(docker_container_from_json(&c, j, err), 0);
	assert_null(c.health);
	assert_null(c.image_id);
	assert_int_equal(json_object_size(c.labels), 0);
	docker_container_release(&c);
	json_decref(j);
}

static void
expect_bad(const char *text, const char *msg)
{
	struct docker_container c;
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
	char err[ERR_LEN] = "";

	assert_non_null(j);
	assert_int_equal(docker_container_from_json(&c, j, err), -1);
	assert_contains(err, msg);
	assert_null(c.id);
	assert_null(c.labels);
	docker_container_release(&c);
	json_decref(j);
}

static void
test_container_from_json_bad(void **state)
{
	(void)state;
	expect_bad("[]", "expected an object, not an array");
	expect_bad("{}", "field 'Id' is missing");
	expect_bad("{\"Id\":7}", "field 'Id' must be a string, not an integer");
	expect_bad("{\"Id\":\"\"}", "field 'Id' is empty");
	expect_bad("{\"Id\":\"abc\"}", "container abc: field 'Names' is missing");
	expect_bad("{\"Id\":\"abc\",\"Names\":[]}", "'Names' must be a non-empty array");
	expect_bad("{\"Id\":\"abc\",\"Names\":[1]}", "'Names' must be a non-empty array");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/\"]}", "no usable name");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"]}", "field 'Image' is missing");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"],\"Image\":\"i\"}", "field 'State' is missing");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"],\"Image\":\"i\",\"State\":\"running\"}",
	    "field 'Created' is missing");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"],\"Image\":\"i\",\"State\":\"running\","
	    "\"Created\":\"x\"}", "'Created' must be an integer, not a string");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"],\"Image\":\"i\",\"State\":\"running\","
	    "\"Created\":1,\"Status\":[]}", "'Status' must be a string, not an array");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"],\"Image\":\"i\",\"State\":\"running\","
	    "\"Created\":1,\"Labels\":[]}", "'Labels' must be an object");
	expect_bad("{\"Id\":\"abc\",\"Names\":[\"/a\"],\"Image\":\"i\",\"State\":\"running\","
	    "\"Created\":1,\"Labels\":{\"k\":1}}", "label 'k' must be a string");
	/* inspect shape */
	expect_bad("{\"Id\":\"abc\",\"State\":{},\"Name\":\"/a\"}", "'Config' must be an object");
	expect_bad("{\"Id\":\"abc\",\"State\":{},\"Name\":\"/a\",\"Config\":{\"Image\":\"i\"}}",
	    "field 'Status' is missing");
	expect_bad("{\"Id\":\"abc\",\"State\":{\"Status\":\"running\"},\"Name\":\"/a\","
	    "\"Config\":{\"Image\":\"i\"},\"Created\":\"yesterday\"}", "not an RFC 3339 time");
}

static void
test_container_from_inspect(void **state)
{
	static const char text[] =
	    "{\"Id\":\"feedface\",\"Name\":\"/db\",\"Image\":\"sha256:cc\","
	    "\"Created\":\"2024-02-29T12:34:56.123456789Z\","
	    "\"State\":{\"Status\":\"running\",\"Health\":{\"Status\":\"unhealthy\"}},"
	    "\"Config\":{\"Image\":\"postgres@sha256:dd\",\"Labels\":{\"a\":\"b\"}}}";
	struct docker_container c;
	json_t *j = json_loads(text, 0, NULL);
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(docker_container_from_json(&c, j, err), 0);
	assert_string_equal(c.name, "db");
	assert_string_equal(c.image, "postgres@sha256:dd");
	assert_string_equal(c.image_id, "sha256:cc");
	assert_string_equal(c.state, "running");
	assert_null(c.status);
	assert_string_equal(c.health, "unhealthy");
	assert_int_equal(c.created, 1709210096);	/* date -u -d 2024-02-29T12:34:56Z +%s */
	assert_string_equal(json_string_value(json_object_get(c.labels, "a")), "b");
	docker_container_release(&c);
	json_object_set_new(j, "Created", json_string("2024-02-29T14:34:56+02:00"));
	assert_int_equal(docker_container_from_json(&c, j, err), 0);
	assert_int_equal(c.created, 1709210096);
	docker_container_release(&c);
	json_decref(j);
}

static void
test_transport_errors_fake(void **state)
{
	static const char truncated[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 40\r\n\r\n{\"ApiVersion\":\"1.4";
	static const char malformed[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 19\r\n\r\n{\"ApiVersion\":1.4,}";
	static const char engine500[] = "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"message\":\"disk on fire\"}";
	char *big = version_response("1.41", "1.12");
	struct fake f = { .responses = { truncated, malformed, engine500, big }, .n = 4 };
	struct fake silent = { .silent = 1 };
	struct docker *d = NULL;
	json_t *o = NULL;
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);	/* nothing sent */
	assert_int_equal(docker_calls(d), 0);
	assert_int_equal(docker_call(d, "GET", "/info", NULL, &o, NULL, err), -1);
	assert_contains(err, "connection closed before the response was complete");
	assert_int_equal(docker_call(d, "GET", "/info", NULL, &o, NULL, err), -1);
	assert_contains(err, "truncated or malformed JSON");
	assert_int_equal(docker_call(d, "GET", "/info", NULL, &o, NULL, err), -1);
	assert_string_equal(err, "engine: GET /info: 500: disk on fire");
	docker_free(d);
	assert_int_equal(fake_open(&f, 5000, 16, &d, err), 0);	/* 16-byte cap */
	assert_int_equal(docker_call(d, "GET", "/info", NULL, &o, NULL, err), -1);
	assert_contains(err, "response larger than 16 bytes");
	assert_null(o);
	docker_free(d);
	fake_stop(&f);
	free(big);

	/* accepted by the kernel's backlog, never answered */
	fake_start(&silent);
	assert_int_equal(fake_open(&silent, 300, 0, &d, err), 0);
	assert_int_equal(docker_call(d, "GET", "/info", NULL, &o, NULL, err), -1);
	assert_contains(err, "within 300 ms");
	docker_free(d);
	fake_stop(&silent);
}

/* What a socket proxy says when its allow-list refuses a request. */
static char *
proxy_refusal(const char *request)
{
	char *body = xasprintf("reconciler docker socket proxy: %s is not on the allow-list\n",
	    request);
	char *r = xasprintf("HTTP/1.1 403 Forbidden\r\ncontent-length: %zu\r\n"
	    "content-type: text/plain\r\nconnection: close\r\n\r\n%s", strlen(body), body);

	free(body);
	return r;
}

#define DENIED_HINT "the Docker socket proxy in front of the engine does not allow this " \
	"endpoint; allow it (see docs/engine-api.md)"

/* A 403 the engine did not write names the request and the way out, on every
 * path an answer comes back by: buffered calls, the hijacked exec start, the
 * pull stream; the engine's own 403 keeps its message. */
static void
test_proxy_denied_fake(void **state)
{
	static const char engine403[] = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
	    "Content-Length: 39\r\n\r\n{\"message\":\"authorization denied by x\"}";
	static const char exec_created[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 11\r\n\r\n{\"Id\":\"e1\"}";
	static const char absent[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	    "Content-Length: 34\r\n\r\n{\"message\":\"No such image: a/b:1\"}";
	char *ver = version_response("1.41", "1.12");
	char *no_create = proxy_refusal("POST /v1.41/containers/create");
	char *no_start = proxy_refusal("POST /v1.41/exec/e1/start");
	char *no_pull = proxy_refusal("POST /v1.41/images/create");
	char *no_version = proxy_refusal("GET /version");
	struct fake f = { .responses = { ver, no_create, engine403, exec_created, no_start },
		.n = 5 };
	struct fake f2 = { .responses = { absent, no_pull, no_version }, .n = 3 };
	struct docker_exec_options xo = DOCKER_EXEC_OPTIONS_INIT;
	const char *argv[] = { "true", NULL };
	json_t *body = json_pack("{s:s}", "Image", "i");
	struct docker *d = NULL;
	char err[ERR_LEN], *id = NULL;
	int code = 0;

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_int_equal(docker_container_create(d, "web", body, &id, err), -1);
	assert_string_equal(err, "engine denied POST /containers/create (403 Forbidden: "
	    "reconciler docker socket proxy: POST /v1.41/containers/create is not on the "
	    "allow-list): " DENIED_HINT);
	assert_int_equal(docker_container_create(d, "web", body, &id, err), -1);
	assert_string_equal(err, "engine: POST /containers/create?name=web: 403: "
	    "authorization denied by x");
	xo.argv = argv;
	assert_int_equal(docker_exec(d, "web", &xo, &code, err), -1);
	assert_string_equal(err, "engine denied POST /exec/e1/start (403 Forbidden: "
	    "reconciler docker socket proxy: POST /v1.41/exec/e1/start is not on the "
	    "allow-list): " DENIED_HINT);
	docker_free(d);
	fake_stop(&f);
	assert_contains(f.requests[1], "POST /v1.41/containers/create?name=web HTTP/1.1");
	assert_contains(f.requests[4], "POST /v1.41/exec/e1/start HTTP/1.1");
	assert_contains(f.requests[4], "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n");

	fake_start(&f2);
	assert_int_equal(fake_open(&f2, 5000, 0, &d, err), 0);
	assert_int_equal(docker_image_pull(d, "a/b:1", err), -1);
	assert_string_equal(err, "pull 'a/b:1': engine denied POST /images/create (403 Forbidden: "
	    "reconciler docker socket proxy: POST /v1.41/images/create is not on the "
	    "allow-list): " DENIED_HINT);
	docker_free(d);
	/* asked for the version when a call must branch on it, and refused:
	 * the older way, which every supported engine takes */
	assert_int_equal(fake_open(&f2, 5000, 0, &d, err), 0);
	assert_false(docker_api_at_least(d, 1, 44));
	assert_int_equal(docker_calls(d), 2);	/* /_ping, /version */
	docker_free(d);
	fake_stop(&f2);
	assert_contains(f2.requests[0], "GET /v1.41/images/a/b:1/json HTTP/1.1");
	assert_contains(f2.requests[1], "POST /v1.41/images/create?fromImage=a%2Fb&tag=1 HTTP/1.1");
	assert_contains(f2.requests[2], "GET /version HTTP/1.1");
	assert_null(id);
	json_decref(body);
	free(ver);
	free(no_create);
	free(no_start);
	free(no_pull);
	free(no_version);
}

static ssize_t
stdin_never(char *buf, size_t len, void *payload)
{
	(void)buf;
	(void)len;
	(void)payload;
	fail_msg("stdin was read although it cannot reach the process");
	return -1;
}

/* A proxy that drops exec start's upgrade (HAProxy 2.4 to 3.0 do, the request
 * having a body) gets a 200 and a stream until close: fine for the output, a
 * dead end for stdin, which is refused at once rather than left hanging. */
static void
test_exec_no_upgrade_fake(void **state)
{
	static const char exec_created[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 11\r\n\r\n{\"Id\":\"e1\"}";
	static const char started[] = "HTTP/1.1 200 OK\r\n"
	    "content-type: application/vnd.docker.raw-stream\r\nconnection: close\r\n\r\n"
	    "\1\0\0\0\0\0\0\3hi\n";
	static const char exited[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 30\r\n\r\n{\"Running\":false,\"ExitCode\":0}";
	struct fake f = { .responses = { exec_created, started, exited, exec_created, started },
		.lens = { 0, sizeof(started) - 1, 0, 0, sizeof(started) - 1 }, .n = 5 };
	struct docker_exec_options xo = DOCKER_EXEC_OPTIONS_INIT;
	const char *argv[] = { "restore", NULL };
	struct capture cap;
	struct docker *d = NULL;
	char err[ERR_LEN];
	int code = -1;

	(void)state;
	capture_init(&cap);
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	xo.argv = argv;
	xo.output = capture_cb;
	xo.payload = &cap;
	if (docker_exec(d, "db", &xo, &code, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(code, 0);
	assert_string_equal(cap.out.data, "hi\n");
	xo.input = stdin_never;
	assert_int_equal(docker_exec(d, "db", &xo, &code, err), -1);
	assert_string_equal(err, "exec 'restore' in 'db': exec start was answered 200, not 101: "
	    "something in front of the engine (a socket proxy) did not pass the connection "
	    "upgrade, so stdin cannot reach the process; it must pass the upgrade of POST "
	    "/exec/{id}/start, a request with a body (HAProxy 2.4 to 3.0 cannot; see "
	    "docs/engine-api.md)");
	docker_free(d);
	fake_stop(&f);
	capture_release(&cap);
}

static void
test_pull_fake(void **state)
{
	static const char absent[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	    "Content-Length: 34\r\n\r\n{\"message\":\"No such image: a/b:1\"}";
	/* progress, then the error, split oddly, as a stream of unknown length */
	static const char stream[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\n\r\n"
	    "{\"status\":\"Pulling from a/b\",\"id\":\"1\"}\r\n"
	    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2}}\r\n"
	    "{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}\r\n";
	struct fake f = { .responses = { absent, stream }, .n = 2 };
	char dir[] = "/tmp/rt-docker-cfg-XXXXXX", *cfg, err[ERR_LEN];
	char *saved = getenv("DOCKER_CONFIG") ? xstrdup(getenv("DOCKER_CONFIG")) : NULL;
	struct docker *d = NULL;
	unsigned long calls = 0;
	FILE *fp;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cfg = xasprintf("%s/config.json", dir);
	fp = fopen(cfg, "w");
	assert_non_null(fp);
	fputs("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"eDp5\"},"
	    "\"http://127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYTpzcw==\"}}}", fp);
	fclose(fp);
	setenv("DOCKER_CONFIG", dir, 1);
	fake_start(&f);
	rc = fake_open(&f, 5000, 0, &d, err);
	if (rc == 0) {
		rc = docker_image_pull(d, "127.0.0.1:5000/a/b:1", err);
		calls = docker_calls(d);
		docker_free(d);
	}
	fake_stop(&f);
	/* clean up before asserting, so a failure leaves nothing behind */
	if (saved)
		setenv("DOCKER_CONFIG", saved, 1);
	else
		unsetenv("DOCKER_CONFIG");
	unlink(cfg);
	rmdir(dir);
	free(cfg);
	free(saved);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "pull '127.0.0.1:5000/a/b:1': unexpected EOF");
	assert_int_equal(calls, 2);	/* inspect, create: no version asked */
	assert_contains(f.requests[0], "GET /v1.41/images/127.0.0.1:5000/a/b:1/json HTTP/1.1");
	assert_contains(f.requests[1], "POST /v1.41/images/create?"
	    "fromImage=127.0.0.1%3A5000%2Fa%2Fb&tag=1 HTTP/1.1");
	assert_contains(f.requests[1], "\r\nX-Registry-Auth: eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29y"
	    "ZCI6InBhOnNzIiwic2VydmVyYWRkcmVzcyI6IjEyNy4wLjAuMTo1MDAwIn0=\r\n");
}

static void
test_create_split_fake(void **state)
{
	static const char created[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 29\r\n\r\n{\"Id\":\"c0ffee\",\"Warnings\":[]}";
	static const char nonet[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	    "Content-Length: 36\r\n\r\n{\"message\":\"network net2 not found\"}";
	static const char removed[] = "HTTP/1.1 204 No Content\r\n\r\n";
	char *ver = version_response("1.41", "1.12");
	struct fake f = { .responses = { ver, created, nonet, removed }, .n = 4 };
	json_t *body = json_pack("{s:s,s:{s:{s:{s:[s]},s:{s:[s]}}}}", "Image", "i",
	    "NetworkingConfig", "EndpointsConfig", "net1", "Aliases", "one", "net2", "Aliases",
	    "two");
	struct docker *d = NULL;
	char err[ERR_LEN], *id = NULL;

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_int_equal(docker_container_create(d, "web", body, &id, err), -1);
	assert_null(id);
	assert_string_equal(err, "engine: POST /networks/net2/connect: 404: network net2 not found");
	docker_free(d);
	fake_stop(&f);
	/* created on net1 alone, net2 connected after, the container dropped on failure */
	assert_contains(f.requests[1], "POST /v1.41/containers/create?name=web HTTP/1.1");
	assert_contains(f.requests[1], "{\"Image\":\"i\",\"NetworkingConfig\":{\"EndpointsConfig\":"
	    "{\"net1\":{\"Aliases\":[\"one\"]}}}}");
	assert_contains(f.requests[2], "POST /v1.41/networks/net2/connect HTTP/1.1");
	assert_contains(f.requests[2], "{\"Container\":\"c0ffee\",\"EndpointConfig\":"
	    "{\"Aliases\":[\"two\"]}}");
	assert_contains(f.requests[3], "DELETE /v1.41/containers/c0ffee?force=1 HTTP/1.1");
	free(ver);

	/* from 1.44 the engine takes them all at create: one call, body as lent */
	ver = version_response("1.44", "1.24");
	{
		struct fake f2 = { .responses = { ver, created }, .n = 2 };

		fake_start(&f2);
		assert_int_equal(fake_open(&f2, 5000, 0, &d, err), 0);
		if (docker_container_create(d, "web", body, &id, err) < 0)
			fail_msg("%s", err);
		assert_string_equal(id, "c0ffee");
		assert_int_equal(docker_calls(d), 3);	/* /_ping, /version, create */
		docker_free(d);
		fake_stop(&f2);
		assert_contains(f2.requests[1], "POST /v1.44/containers/create?name=web HTTP/1.1");
		assert_contains(f2.requests[1], "\"net1\":{\"Aliases\":[\"one\"]},"
		    "\"net2\":{\"Aliases\":[\"two\"]}");
	}
	free(id);
	json_decref(body);
	free(ver);
}

static void
test_host_errors(void **state)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	struct docker *d = NULL;
	char err[ERR_LEN], *saved = getenv("DOCKER_HOST") ? xstrdup(getenv("DOCKER_HOST")) : NULL;

	(void)state;
	setenv("DOCKER_HOST", "unix:///nonexistent/rt-docker.sock", 1);
	assert_int_equal(docker_open(&d, NULL, err), -1);
	assert_null(d);
	assert_contains(err, "'/nonexistent/rt-docker.sock' does not exist");
	assert_contains(err, "is dockerd running?");
	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	assert_int_equal(docker_open(&d, NULL, err), -1);
	assert_contains(err, "DOCKER_HOST 'tcp://127.0.0.1:2375': only unix:// sockets are supported");
	setenv("DOCKER_HOST", "ssh://me@host", 1);
	assert_int_equal(docker_open(&d, NULL, err), -1);
	assert_contains(err, "only unix://");
	o.host = "unix://relative.sock";
	assert_int_equal(docker_open(&d, &o, err), -1);
	assert_contains(err, "must be absolute");
	o.host = "/var/run/docker.sock";
	assert_int_equal(docker_open(&d, &o, err), -1);
	assert_contains(err, "expected unix://");
	if (saved)
		setenv("DOCKER_HOST", saved, 1);
	else
		unsetenv("DOCKER_HOST");
	free(saved);
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_demux_chunks),
		cmocka_unit_test(test_demux_split_header),
		cmocka_unit_test(test_demux_bad),
		cmocka_unit_test(test_container_from_list),
		cmocka_unit_test(test_container_from_json_bad),
		cmocka_unit_test(test_container_from_inspect),
		cmocka_unit_test(test_transport_errors_fake),
		cmocka_unit_test(test_proxy_denied_fake),
		cmocka_unit_test(test_exec_no_upgrade_fake),
		cmocka_unit_test(test_pull_fake),
		cmocka_unit_test(test_create_split_fake),
		cmocka_unit_test(test_host_errors),
	};
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests_name("docker (pure)", pure, NULL, NULL);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
