/*
 * test_docker: the Engine client. Pure tests (stream demultiplexer, container
 * decoding, the registry auth header, a fake engine on a private socket for
 * negotiation and transport errors) always run; the rest drive the real engine on /var/run/docker.sock
 * and skip when it does not answer. Everything made here is named rt-docker-*,
 * labelled io.reconciler.test=1 and io.reconciler.project=rt-docker, and is
 * removed in teardown whatever happened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "docker.h"
#include "docker_int.h"
#include "util.h"

#define SOCK "/var/run/docker.sock"
#define IMAGES_ENV "/var/tmp/reconciler-test/images.env"

/* The engine's socket: $DOCKER_HOST's when it is a unix one, as docker_open. */
static const char *
sock_path(void)
{
	const char *h = getenv("DOCKER_HOST");

	return h && strncmp(h, "unix://", 7) == 0 ? h + 7 : SOCK;
}

#define assert_contains(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (!h_ || !strstr(h_, n_)) \
		fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", n_); \
} while (0)

/* ---------------------------------------------------------------- helpers */

struct capture {
	struct buf out, err;
	int calls;
	int abort_after;	/* > 0: fail on that call */
};

static void
capture_init(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->out, 0);
	buf_init(&c->err, 0);
	buf_add(&c->out, "", 0);
	buf_add(&c->err, "", 0);
}

static void
capture_release(struct capture *c)
{
	buf_release(&c->out);
	buf_release(&c->err);
}

static int
capture_cb(int stream, const char *data, size_t len, void *payload)
{
	struct capture *c = payload;

	c->calls++;
	if (c->abort_after && c->calls >= c->abort_after)
		return 1;
	if (stream == 1)
		buf_add(&c->out, data, len);
	else if (stream == 2)
		buf_add(&c->err, data, len);
	else
		fail_msg("unexpected stream %d", stream);
	return 0;
}

static void
frame(struct buf *b, int stream, const char *data, uint32_t len)
{
	unsigned char h[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24),
		(unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len };

	buf_add(b, h, 8);
	buf_add(b, data, len);
}

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

/* ---------------------------------------------------------------- fake engine */

/* Answers each connection on a private socket with one canned response. */
struct fake {
	char path[108];
	int fd;
	pthread_t th;
	const char *responses[6];
	size_t lens[6];		/* 0: strlen (a response with NUL bytes needs it) */
	char requests[6][8192];	/* what each connection sent, head only */
	int n;
	int silent;	/* accept nothing, answer nothing */
};

static void *
fake_run(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->n; i++) {
		char *req = f->requests[i];
		size_t got = 0;
		int c = accept(f->fd, NULL, NULL);

		if (c < 0)
			break;
		while (got < sizeof(f->requests[i]) - 1) {
			ssize_t n = read(c, req + got, sizeof(f->requests[i]) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n")) {
				/* and the body, if it said how long */
				const char *cl = strcasestr(req, "\r\nContent-Length: ");
				size_t want = (size_t)(strstr(req, "\r\n\r\n") + 4 - req);

				if (cl)
					want += strtoul(cl + 18, NULL, 10);
				if (got >= want)
					break;
			}
		}
		/* negotiation starts with GET /_ping: an answer without an
		 * Api-Version header sends the client on to GET /version, which gets
		 * the canned response */
		if (strncmp(req, "GET /_ping ", 11) == 0) {
			static const char ping[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";

			if (write(c, ping, sizeof(ping) - 1) < 0)
				break;
			close(c);
			i--;
			continue;
		}
		if (write(c, f->responses[i], f->lens[i] ? f->lens[i] : strlen(f->responses[i])) < 0)
			break;
		close(c);
	}
	return NULL;
}

static void
fake_start(struct fake *f)
{
	struct sockaddr_un sa;

	snprintf(f->path, sizeof(f->path), "/tmp/rt-docker-fake-%ld.sock", (long)getpid());
	unlink(f->path);
	f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->fd, 8), 0);
	if (!f->silent)
		assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static void
fake_stop(struct fake *f)
{
	if (!f->silent)
		pthread_join(f->th, NULL);
	close(f->fd);
	unlink(f->path);
}

static int
fake_open(struct fake *f, long timeout_ms, size_t max_response, struct docker **d, char *err)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	char host[160];

	snprintf(host, sizeof(host), "unix://%s", f->path);
	o.host = host;
	o.timeout_ms = timeout_ms;
	if (max_response)
		o.max_response = max_response;
	return docker_open(d, &o, err);
}


static char *
version_response(const char *api, const char *min)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"Version\":\"99.0\",\"ApiVersion\":\"%s\","
	    "\"MinAPIVersion\":\"%s\"}", api, min);
	return xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
}

static void
test_negotiation_fake(void **state)
{
	char *r44 = version_response("1.47", "1.24");
	char *r41 = version_response("1.41", "1.12");
	char *r40 = version_response("1.40", "1.12");
	char *rmin = version_response("1.50", "1.45");
	struct fake f = { .responses = { r44, r41, r40, rmin }, .n = 4 };
	struct docker *d = NULL;
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_string_equal(docker_api_version(d), "1.44");	/* ours is the lower */
	assert_true(docker_api_at_least(d, 1, 44));
	assert_int_equal(docker_calls(d), 2);	/* /_ping, then /version */
	docker_free(d);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_string_equal(docker_api_version(d), "1.41");
	assert_false(docker_api_at_least(d, 1, 44));
	docker_free(d);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), -1);
	assert_null(d);
	assert_contains(err, "speaks API 1.40, older than 1.41");
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), -1);
	assert_contains(err, "requires API 1.45 or newer");
	fake_stop(&f);
	free(r44);
	free(r41);
	free(r40);
	free(rmin);
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
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), -1);
	assert_contains(err, "connection closed before the response was complete");
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), -1);
	assert_contains(err, "truncated or malformed JSON");
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), -1);
	assert_string_equal(err, "engine: GET /version: 500: disk on fire");
	assert_int_equal(fake_open(&f, 5000, 16, &d, err), -1);	/* 16-byte cap */
	assert_contains(err, "response larger than 16 bytes");
	fake_stop(&f);
	free(big);

	/* accepted by the kernel's backlog, never answered */
	fake_start(&silent);
	assert_int_equal(fake_open(&silent, 300, 0, &d, err), -1);
	assert_contains(err, "within 300 ms");
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
	struct fake f2 = { .responses = { ver, absent, no_pull, no_version }, .n = 4 };
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
	/* refused at open: the negotiation itself */
	assert_int_equal(fake_open(&f2, 5000, 0, &d, err), -1);
	assert_null(d);
	assert_string_equal(err, "engine denied GET /version (403 Forbidden: "
	    "reconciler docker socket proxy: GET /version is not on the allow-list): "
	    DENIED_HINT);
	fake_stop(&f2);
	assert_contains(f2.requests[2], "POST /v1.41/images/create?fromImage=a%2Fb&tag=1 HTTP/1.1");
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
	char *ver = version_response("1.41", "1.12");
	struct fake f = { .responses = { ver, exec_created, started, exited, exec_created,
		started }, .lens = { 0, 0, sizeof(started) - 1, 0, 0, sizeof(started) - 1 }, .n = 6 };
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
	free(ver);
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
	char *ver = version_response("1.41", "1.12");
	struct fake f = { .responses = { ver, absent, stream }, .n = 3 };
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
	free(ver);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "pull '127.0.0.1:5000/a/b:1': unexpected EOF");
	assert_int_equal(calls, 4);	/* /_ping, /version, inspect, create */
	assert_contains(f.requests[1], "GET /v1.41/images/127.0.0.1:5000/a/b:1/json HTTP/1.1");
	assert_contains(f.requests[2], "POST /v1.41/images/create?"
	    "fromImage=127.0.0.1%3A5000%2Fa%2Fb&tag=1 HTTP/1.1");
	assert_contains(f.requests[2], "\r\nX-Registry-Auth: eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29y"
	    "ZCI6InBhOnNzIiwic2VydmVyYWRkcmVzcyI6IjEyNy4wLjAuMTo1MDAwIn0=\r\n");
}

/* ---------------------------------------------------------------- registry auth */

/* The base64 the client wrote itself before it used OpenSSL's, kept as the
 * reference: X-Registry-Auth must stay byte for byte what it was (base64url
 * with '=' padding), and config.json's "auth" must decode as it did. */
static char *
ref_base64url(const unsigned char *in, size_t n)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* Standard alphabet, padding optional, nothing read past the first '=', the
 * bits of an incomplete last byte dropped; NULL on any other character. */
static char *
ref_base64_decode(const char *in)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	char *out = xmalloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p;

		if (in[i] == '=')
			break;
		if (!(p = strchr(alphabet, in[i]))) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

/* The header for these credentials: the JSON the engine reads, encoded by
 * the reference. */
static char *
ref_header(const char *user, const char *pass, const char *token, const char *server)
{
	json_t *ac = json_object();
	char *text, *enc, *h;

	if (user)
		json_object_set_new(ac, "username", json_string(user));
	if (pass)
		json_object_set_new(ac, "password", json_string(pass));
	if (token)
		json_object_set_new(ac, "identitytoken", json_string(token));
	json_object_set_new(ac, "serveraddress", json_string(server));
	text = json_dumps(ac, JSON_COMPACT);
	assert_non_null(text);
	enc = ref_base64url((const unsigned char *)text, strlen(text));
	h = xasprintf("X-Registry-Auth: %s", enc);
	free(enc);
	free(text);
	json_decref(ac);
	return h;
}

struct auth_env {
	char dir[32];
	char *cfg;	/* <dir>/config.json */
	char *saved;	/* $DOCKER_CONFIG before the test */
};

static int
auth_setup(void **state)
{
	struct auth_env *e = xcalloc(1, sizeof(*e));

	snprintf(e->dir, sizeof(e->dir), "/tmp/rt-docker-auth-XXXXXX");
	if (!mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	e->cfg = xasprintf("%s/config.json", e->dir);
	e->saved = getenv("DOCKER_CONFIG") ? xstrdup(getenv("DOCKER_CONFIG")) : NULL;
	setenv("DOCKER_CONFIG", e->dir, 1);
	*state = e;
	return 0;
}

static int
auth_teardown(void **state)
{
	struct auth_env *e = *state;

	if (e->saved)
		setenv("DOCKER_CONFIG", e->saved, 1);
	else
		unsetenv("DOCKER_CONFIG");
	unlink(e->cfg);
	rmdir(e->dir);
	free(e->cfg);
	free(e->saved);
	free(e);
	return 0;
}

/* docker__registry_auth for registry with config.json holding config. */
static int
auth_header(struct auth_env *e, const char *config, const char *registry, char **hdr,
    char *err)
{
	FILE *fp = fopen(e->cfg, "w");

	assert_non_null(fp);
	fputs(config, fp);
	fclose(fp);
	*hdr = NULL;
	return docker__registry_auth(registry, hdr, err);
}

/* A config.json with one auths entry for 127.0.0.1:5000 (caller frees). */
static char *
auth_config(const char *field, const char *value, const char *field2, const char *value2)
{
	json_t *entry = json_pack("{s:s}", field, value), *cfg;
	char *text;

	if (field2)
		json_object_set_new(entry, field2, json_string(value2));
	cfg = json_pack("{s:{s:o}}", "auths", "127.0.0.1:5000", entry);
	text = json_dumps(cfg, JSON_COMPACT);
	assert_non_null(text);
	json_decref(cfg);
	return text;
}

/* Literal headers the client sent before its base64 came from OpenSSL: every
 * padding, and the two characters base64url changes ('-' and '_'). */
static void
test_registry_auth_bytes(void **state)
{
	static const struct {
		const char *config, *registry, *header;
	} fixed[] = {
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"?\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6Ij8i"
		  "LCJzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ==" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"??\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6Ij8_"
		  "Iiwic2VydmVyYWRkcmVzcyI6IjEyNy4wLjAuMTo1MDAwIn0=" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"~~~\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6In5-"
		  "fiIsInNlcnZlcmFkZHJlc3MiOiIxMjcuMC4wLjE6NTAwMCJ9" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"username\":\"u\",\"password\":"
		  "\"?>~\xc3\xbf\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6Ij8-"
		  "fsO_Iiwic2VydmVyYWRkcmVzcyI6IjEyNy4wLjAuMTo1MDAwIn0=" },
		{ "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"eDp5\","
		  "\"identitytoken\":\"t?k~n\"}}}",
		  "docker.io", "X-Registry-Auth: eyJ1c2VybmFtZSI6IngiLCJwYXNzd29yZCI6InkiLCJp"
		  "ZGVudGl0eXRva2VuIjoidD9rfm4iLCJzZXJ2ZXJhZGRyZXNzIjoiaHR0cHM6Ly9pbmRleC5kb2Nr"
		  "ZXIuaW8vdjEvIn0=" },
		{ "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYTpzcwx\"}}}",
		  "127.0.0.1:5000", "X-Registry-Auth: eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29yZCI6"
		  "InBhOnNzXGYiLCJzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ==" },
	};
	struct auth_env *e = *state;
	char *hdr, err[ERR_LEN];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (auth_header(e, fixed[i].config, fixed[i].registry, &hdr, err) < 0)
			fail_msg("%s: %s", fixed[i].config, err);
		assert_non_null(hdr);
		assert_string_equal(hdr, fixed[i].header);
		free(hdr);
	}
	/* no entry for the registry, no config at all: no header, no error */
	assert_int_equal(auth_header(e, "{\"auths\":{\"other:5000\":{\"auth\":\"eDp5\"}}}",
	    "127.0.0.1:5000", &hdr, err), 0);
	assert_null(hdr);
	unlink(e->cfg);
	assert_int_equal(docker__registry_auth("127.0.0.1:5000", &hdr, err), 0);
	assert_null(hdr);
}

/* Passwords of every length to 64 over characters whose encoding holds '-'
 * and '_' at every offset, and "auth" fields of every shape: the header is
 * what the reference makes of them. */
static void
test_registry_auth_sweep(void **state)
{
	static const char *const units[] = { "?", ">", "~", "\xc3\xbf", "\xe2\x82\xac" };
	/* padded, unpadded, 4k+1 characters, text after '=', ":" at the ends */
	static const char *const good[] = { "dXNlcjpwYTpzcw==", "dXNlcjpwYTpzcw",
		"dXNlcjpwYTpzcwx", "dXNlcjpwYTpzc", "dXNlcjpwYTpzcw=x", "eDp5", "eDp5Og",
		"Ojo6", "dTo=", "Pz8+fjo/Pz8/" };
	/* a character of no alphabet, no ':', base64url, a NUL before the ':' */
	static const char *const bad[] = { "dXN*cjpwYTpzcw==", "dXNlcg==", "Pz8-fjo_Pz8_Og==",
		"dXNl cjpwYTpzcw==", "AAA6" };
	struct auth_env *e = *state;
	char *hdr, *want, *config, err[ERR_LEN], msg[ERR_LEN];
	int dash = 0, under = 0, pads[3] = { 0 };

	for (size_t n = 0; n <= 64; n++) {
		struct buf pw;
		size_t len;

		buf_init(&pw, 0);
		buf_add(&pw, "", 0);
		for (size_t k = 0; k < n; k++)
			buf_adds(&pw, units[(k + n) % 5]);
		config = auth_config("username", "u", "password", pw.data);
		if (auth_header(e, config, "127.0.0.1:5000", &hdr, err) < 0)
			fail_msg("%s: %s", config, err);
		want = ref_header("u", pw.data, NULL, "127.0.0.1:5000");
		assert_non_null(hdr);
		assert_string_equal(hdr, want);
		dash |= strchr(hdr, '-') != NULL;
		under |= strchr(hdr, '_') != NULL;
		len = strlen(hdr);
		pads[hdr[len - 1] != '=' ? 0 : hdr[len - 2] != '=' ? 1 : 2]++;
		free(hdr);
		free(want);
		free(config);
		buf_release(&pw);
	}
	assert_true(dash && under && pads[0] && pads[1] && pads[2]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *up = ref_base64_decode(good[i]), *colon;

		assert_non_null(up);
		colon = strchr(up, ':');
		assert_non_null(colon);
		*colon = '\0';
		want = ref_header(up, colon + 1, NULL, "127.0.0.1:5000");
		config = auth_config("auth", good[i], NULL, NULL);
		if (auth_header(e, config, "127.0.0.1:5000", &hdr, err) < 0)
			fail_msg("%s: %s", config, err);
		assert_non_null(hdr);
		assert_string_equal(hdr, want);
		free(hdr);
		free(want);
		free(config);
		free(up);
	}
	snprintf(msg, sizeof(msg), "%s: auths.\"127.0.0.1:5000\".auth: expected base64 of "
	    "'user:password'", e->cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config = auth_config("auth", bad[i], NULL, NULL);
		assert_int_equal(auth_header(e, config, "127.0.0.1:5000", &hdr, err), -1);
		assert_null(hdr);
		assert_string_equal(err, msg);
		free(config);
	}
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

/* ---------------------------------------------------------------- real engine */

static struct docker *engine;
static char run[64];		/* unique part of every name made here */
static char image[128];		/* busybox imported for this run */
static char tmpdir[128];	/* the bind-mounted directory */

static char *names_made[32];
static int n_made;

static const char *
made(const char *kind, const char *suffix)
{
	assert_true(n_made < 32);
	names_made[n_made++] = xasprintf("%s:rt-docker-%s-%s", kind, run, suffix);
	return names_made[n_made - 1] + strlen(kind) + 1;
}

static json_t *
test_labels(void)
{
	return json_pack("{s:s,s:s,s:s}", "io.reconciler.test", "1", "io.reconciler.project",
	    "rt-docker", "io.reconciler.test-run", run);
}

/* A tar stream holding busybox and its applet links; imported as our image. */
static void
tar_entry(struct buf *t, const char *name, char type, unsigned mode, const char *data,
    size_t len, const char *link)
{
	unsigned char h[512];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011lo", (unsigned long)len);
	snprintf((char *)h + 136, 12, "%011lo", 1700000000UL);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	buf_add(t, h, 512);
	if (len) {
		static const char zero[512];

		buf_add(t, data, len);
		buf_add(t, zero, (512 - len % 512) % 512);
	}
}

static size_t
discard(char *p, size_t s, size_t n, void *u)
{
	struct buf *b = u;

	buf_add(b, p, s * n);
	return s * n;
}

static int
import_image(void)
{
	static const char *const applets[] = { "sh", "cat", "echo", "sleep", "httpd", "wget",
		"id", "true", "false", "ls", "printf", "head", "wc", "kill", NULL };
	static const char zero[1024];
	struct buf t, resp;
	char *bb = NULL, *url, err[ERR_LEN];
	size_t bblen;
	CURL *c;
	long code = 0;
	int rc = -1;

	if (file_read("/bin/busybox", 8 << 20, &bb, &bblen, err) < 0) {
		print_message("no /bin/busybox (busybox-static): %s\n", err);
		return -1;
	}
	buf_init(&t, 0);
	buf_init(&resp, 1 << 20);
	tar_entry(&t, "bin/", '5', 0755, NULL, 0, NULL);
	tar_entry(&t, "tmp/", '5', 01777, NULL, 0, NULL);
	tar_entry(&t, "bin/busybox", '0', 0755, bb, bblen, NULL);
	for (int i = 0; applets[i]; i++) {
		char n[64];

		snprintf(n, sizeof(n), "bin/%s", applets[i]);
		tar_entry(&t, n, '2', 0777, NULL, 0, "busybox");
	}
	buf_add(&t, zero, sizeof(zero));
	snprintf(image, sizeof(image), "rt-docker/busybox:%s", run);
	url = xasprintf("http://docker/v1.41/images/create?fromSrc=-&repo=rt-docker/busybox"
	    "&tag=%s&changes=LABEL%%20io.reconciler.test%%3D1", run);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock_path());
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, t.data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t.len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	{
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-tar");

		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code == 200 && !strstr(resp.data ? resp.data : "", "\"error\""))
				rc = 0;
		}
		curl_slist_free_all(h);
	}
	if (rc < 0)
		print_message("image import failed: %ld %s\n", code, resp.data ? resp.data : "");
	curl_easy_cleanup(c);
	free(url);
	free(bb);
	buf_release(&t);
	buf_release(&resp);
	return rc;
}

static void
cleanup_all(void)
{
	char err[ERR_LEN], *path;
	json_t *list = NULL, *item;
	size_t i;
	char filter[128];

	if (!engine)
		return;
	snprintf(filter, sizeof(filter), "io.reconciler.test-run=%s", run);
	if (docker_containers_list(engine, filter, 1, &list, err) == 0) {
		json_array_foreach(list, i, item)
			docker_container_remove(engine,
			    json_string_value(json_object_get(item, "Id")), 1, err);
	}
	json_decref(list);
	for (int k = 0; k < n_made; k++) {
		const char *name = strchr(names_made[k], ':') + 1;

		if (strncmp(names_made[k], "container:", 10) == 0)
			docker_container_remove(engine, name, 1, err);
	}
	for (int k = 0; k < n_made; k++) {
		const char *name = strchr(names_made[k], ':') + 1;

		if (strncmp(names_made[k], "network:", 8) == 0) {
			path = xasprintf("/networks/%s", name);
			docker_call(engine, "DELETE", path, NULL, NULL, NULL, err);
			free(path);
		} else if (strncmp(names_made[k], "volume:", 7) == 0) {
			path = xasprintf("/volumes/%s", name);
			docker_call(engine, "DELETE", path, NULL, NULL, NULL, err);
			free(path);
		}
	}
}

static int
group_setup(void **state)
{
	char err[ERR_LEN];
	struct stat st;

	(void)state;
	snprintf(run, sizeof(run), "%ld-%ld", (long)getpid(), (long)time(NULL) % 100000);
	if (stat(sock_path(), &st) < 0 || docker_open(&engine, NULL, err) < 0) {
		print_message("engine tests will be skipped: %s\n", stat(sock_path(), &st) < 0 ?
		    "no docker socket" : err);
		engine = NULL;
		return 0;
	}
	if (import_image() < 0) {
		docker_free(engine);
		engine = NULL;
		return 0;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rt-docker-www-XXXXXX");
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char err[ERR_LEN], *p;

	(void)state;
	if (engine) {
		cleanup_all();
		p = xasprintf("/images/%s", image);
		docker_call(engine, "DELETE", p, NULL, NULL, NULL, err);
		free(p);
		docker_free(engine);
		engine = NULL;
	}
	if (tmpdir[0]) {
		p = xasprintf("%s/index.html", tmpdir);
		unlink(p);
		free(p);
		rmdir(tmpdir);
	}
	for (int k = 0; k < n_made; k++)
		free(names_made[k]);
	return 0;
}

/* per-test teardown: whatever a failed test left behind goes now */
static int
test_teardown(void **state)
{
	(void)state;
	cleanup_all();
	return 0;
}

#define NEED_ENGINE() do { if (!engine) skip(); } while (0)

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
	const char *name = made("container", "dup"), *ghost;
	long status = 0;

	(void)state;
	NEED_ENGINE();
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
	const char *net = made("network", "ens-net"), *vol = made("volume", "ens-vol");
	json_t *nb = json_pack("{s:s,s:b,s:o}", "Driver", "bridge", "Internal", 1, "Labels",
	    test_labels());
	json_t *vb = json_pack("{s:o}", "Labels", test_labels()), *list = NULL;
	char err[ERR_LEN], *path;
	long status;

	(void)state;
	NEED_ENGINE();
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

static int
has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_engine_lifecycle(void **state)
{
	const char *net_a = made("network", "front"), *net_b = made("network", "back");
	const char *vol = made("volume", "data"), *name = made("container", "web");
	const char *renamed = made("container", "web-renamed");
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
	NEED_ENGINE();
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

	/* stop: httpd is PID 1 and ignores TERM, so the engine waits the 2 s out;
	 * a handle whose own timeout is 1 s must still see the stop through */
	so.timeout_ms = 1000;
	assert_int_equal(docker_open(&slow, &so, err), 0);
	t0 = mono_ms();
	if (docker_container_stop(slow, renamed, 2, err) < 0)
		fail_msg("stop: %s", err);
	assert_in_range(mono_ms() - t0, 1500, 10000);
	assert_int_equal(docker_container_stop(slow, renamed, 2, err), 0);	/* 304 */
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
	const char *exits = made("container", "exits"), *sleeper = made("container", "sleeper");
	json_t *b1 = json_pack("{s:s,s:[s,s,s],s:o}", "Image", image, "Cmd", "sh", "-c", "exit 7",
	    "Labels", test_labels());
	json_t *b2 = json_pack("{s:s,s:[s,s],s:o}", "Image", image, "Cmd", "sleep", "600",
	    "Labels", test_labels());
	char err[ERR_LEN], *id1 = NULL, *id2 = NULL;
	int code = -1;

	(void)state;
	NEED_ENGINE();
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

static void
test_engine_networks(void **state)
{
	const char *net_a = made("network", "na"), *net_b = made("network", "nb");
	const char *c1 = made("container", "nets1"), *c2 = made("container", "nets2");
	json_t *body, *ins = NULL, *nets;
	char err[ERR_LEN], *id = NULL;

	(void)state;
	NEED_ENGINE();
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
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_demux_chunks),
		cmocka_unit_test(test_demux_split_header),
		cmocka_unit_test(test_demux_bad),
		cmocka_unit_test(test_container_from_list),
		cmocka_unit_test(test_container_from_json_bad),
		cmocka_unit_test(test_container_from_inspect),
		cmocka_unit_test(test_negotiation_fake),
		cmocka_unit_test(test_transport_errors_fake),
		cmocka_unit_test(test_proxy_denied_fake),
		cmocka_unit_test(test_exec_no_upgrade_fake),
		cmocka_unit_test(test_pull_fake),
		cmocka_unit_test_setup_teardown(test_registry_auth_bytes, auth_setup,
		    auth_teardown),
		cmocka_unit_test_setup_teardown(test_registry_auth_sweep, auth_setup,
		    auth_teardown),
		cmocka_unit_test(test_create_split_fake),
		cmocka_unit_test(test_host_errors),
	};
	const struct CMUnitTest real[] = {
		cmocka_unit_test_teardown(test_engine_version, test_teardown),
		cmocka_unit_test_teardown(test_engine_errors, test_teardown),
		cmocka_unit_test_teardown(test_engine_permission, test_teardown),
		cmocka_unit_test_teardown(test_engine_ensure, test_teardown),
		cmocka_unit_test_teardown(test_engine_lifecycle, test_teardown),
		cmocka_unit_test_teardown(test_engine_wait_kill, test_teardown),
		cmocka_unit_test_teardown(test_engine_networks, test_teardown),
		cmocka_unit_test_teardown(test_engine_events, test_teardown),
		cmocka_unit_test_teardown(test_engine_pull, test_teardown),
	};
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests_name("docker (pure)", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("docker (real engine)", real, group_setup,
	    group_teardown);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
