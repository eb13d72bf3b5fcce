/* Unit tests: the Engine API client's connections (docker_conn.c) against a
 * fake engine that follows a script per connection: a kept connection
 * carries the next request, one closed under a request is replaced once,
 * one that carried bytes past an answer is not used again, and the GETs of
 * docker_get_all keep theirs. */
#include "docker_test.h"

#define CLOSE_UNANSWERED "close"	/* read the request, answer nothing, close */

struct conn_script {
	const char *answers[4];	/* in turn, one per request; NULL ends */
};

struct script_fake {
	char path[108];
	int fd;
	pthread_t th;
	const struct conn_script *conns;
	int nconns;
	int accepted;		/* connections taken */
	int requests;		/* requests read, all connections */
	pthread_mutex_t mu;
};

struct one_conn {
	struct script_fake *f;
	const struct conn_script *s;
	int c;
};

/* Reads one request (head and Content-Length body); 0 at EOF. */
static int
read_request(int c)
{
	char req[8192];
	size_t got = 0;

	while (got < sizeof(req) - 1) {
		ssize_t n = read(c, req + got, 1);

		if (n <= 0)
			return 0;
		got += (size_t)n;
		req[got] = '\0';
		if (got >= 4 && memcmp(req + got - 4, "\r\n\r\n", 4) == 0) {
			const char *cl = strcasestr(req, "\r\nContent-Length: ");
			size_t want = cl ? strtoul(cl + 18, NULL, 10) : 0;

			while (want--)
				if (read(c, req, 1) != 1)
					return 0;
			return 1;
		}
	}
	return 0;
}

static void *
serve_conn(void *arg)
{
	struct one_conn *oc = arg;
	char sink[256];

	for (int i = 0; i < 4 && oc->s->answers[i]; i++) {
		if (!read_request(oc->c))
			break;
		pthread_mutex_lock(&oc->f->mu);
		oc->f->requests++;
		pthread_mutex_unlock(&oc->f->mu);
		if (strcmp(oc->s->answers[i], CLOSE_UNANSWERED) == 0)
			goto out;
		if (send(oc->c, oc->s->answers[i], strlen(oc->s->answers[i]), MSG_NOSIGNAL) < 0)
			goto out;
	}
	/* kept open until the client lets go */
	while (read(oc->c, sink, sizeof(sink)) > 0)
		;
out:
	close(oc->c);
	free(oc);
	return NULL;
}

static void *
accept_loop(void *arg)
{
	struct script_fake *f = arg;
	pthread_t th[8];
	int n = 0;

	while (n < f->nconns && n < 8) {
		struct one_conn *oc;
		int c = accept(f->fd, NULL, NULL);

		if (c < 0)
			break;
		oc = calloc(1, sizeof(*oc));
		oc->f = f;
		oc->s = &f->conns[n];
		oc->c = c;
		pthread_mutex_lock(&f->mu);
		f->accepted++;
		pthread_mutex_unlock(&f->mu);
		pthread_create(&th[n++], NULL, serve_conn, oc);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return NULL;
}

static void
script_start(struct script_fake *f, const struct conn_script *conns, int n)
{
	memset(f, 0, sizeof(*f));
	f->conns = conns;
	f->nconns = n;
	pthread_mutex_init(&f->mu, NULL);
	f->fd = test_listen(f->path, sizeof(f->path), "docker-conn");
	assert_int_equal(pthread_create(&f->th, NULL, accept_loop, f), 0);
}

/* After the client let go of its connections (docker_free). */
static void
script_stop(struct script_fake *f)
{
	shutdown(f->fd, SHUT_RDWR);	/* wakes an accept still waiting */
	pthread_join(f->th, NULL);
	close(f->fd);
	unlink(f->path);
	pthread_mutex_destroy(&f->mu);
}

static struct docker *
script_open(struct script_fake *f)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	struct docker *d = NULL;
	char host[160], err[ERR_LEN];

	snprintf(host, sizeof(host), "unix://%s", f->path);
	o.host = host;
	o.timeout_ms = 5000;
	snprintf(o.api, sizeof(o.api), "1.41");
	assert_int_equal(docker_open(&d, &o, err), 0);
	return d;
}

#define OK_EMPTY "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\n[]"
#define OK_CHUNKED "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nTransfer-Encoding: chunked\r\n\r\n" \
	"1\r\n[\r\n1\r\n]\r\n0\r\n\r\n"

/* Three requests, one connection. */
static void
test_keep_alive(void **state)
{
	static const struct conn_script conns[] = { { { OK_EMPTY, OK_CHUNKED, OK_EMPTY } } };
	struct script_fake f;
	struct docker *d;
	json_t *o = NULL;
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 1);
	d = script_open(&f);
	for (int i = 0; i < 3; i++) {
		if (docker_call(d, "GET", "/containers/json", NULL, &o, NULL, err) < 0)
			fail_msg("call %d: %s", i, err);
		assert_true(json_is_array(o));
		json_decref(o);
		o = NULL;
	}
	assert_int_equal(docker_calls(d), 3);
	docker_free(d);
	script_stop(&f);
	assert_int_equal(f.accepted, 1);
	assert_int_equal(f.requests, 3);
}

/* The engine closed the kept connection under the second request, without
 * answering: it goes again, once, on a new connection. */
static void
test_closed_under_request(void **state)
{
	static const struct conn_script conns[] = {
		{ { OK_EMPTY, CLOSE_UNANSWERED } },
		{ { OK_EMPTY } },
	};
	struct script_fake f;
	struct docker *d;
	json_t *o = NULL;
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 2);
	d = script_open(&f);
	assert_int_equal(docker_call(d, "GET", "/info", NULL, &o, NULL, err), 200);
	json_decref(o);
	if (docker_call(d, "POST", "/containers/x/start", NULL, NULL, NULL, err) < 0)
		fail_msg("%s", err);
	docker_free(d);
	script_stop(&f);
	assert_int_equal(f.accepted, 2);
	assert_int_equal(f.requests, 3);
}

/* A fresh connection closed under its request is an error, not a retry. */
static void
test_closed_fresh(void **state)
{
	static const struct conn_script conns[] = { { { CLOSE_UNANSWERED } } };
	struct script_fake f;
	struct docker *d;
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 1);
	d = script_open(&f);
	assert_int_equal(docker_call(d, "GET", "/info", NULL, NULL, NULL, err), -1);
	assert_string_equal(err, "engine: GET /info: connection closed before the response was "
	    "complete");
	docker_free(d);
	script_stop(&f);
	assert_int_equal(f.accepted, 1);
}

/* Bytes past an answer: the connection is not asked again. */
static void
test_bytes_past_answer(void **state)
{
	static const struct conn_script conns[] = {
		{ { OK_EMPTY "HTTP/1.1 200 OK\r\n" } },
		{ { OK_EMPTY } },
	};
	struct script_fake f;
	struct docker *d;
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 2);
	d = script_open(&f);
	assert_int_equal(docker_call(d, "GET", "/a", NULL, NULL, NULL, err), 200);
	assert_int_equal(docker_call(d, "GET", "/b", NULL, NULL, NULL, err), 200);
	docker_free(d);
	script_stop(&f);
	assert_int_equal(f.accepted, 2);
}

/* docker_get_all: three connections at once, kept for the next three. */
static void
test_get_all_keeps(void **state)
{
	static const struct conn_script conns[] = {
		{ { OK_EMPTY, OK_EMPTY } }, { { OK_EMPTY, OK_EMPTY } }, { { OK_EMPTY, OK_EMPTY } },
	};
	static const char *const paths[] = { "/containers/json", "/networks", "/volumes" };
	struct script_fake f;
	struct docker *d;
	json_t *outs[3];
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 3);
	d = script_open(&f);
	for (int round = 0; round < 2; round++) {
		if (docker_get_all(d, paths, 3, outs, err) < 0)
			fail_msg("round %d: %s", round, err);
		for (int i = 0; i < 3; i++) {
			assert_true(json_is_array(outs[i]));
			json_decref(outs[i]);
		}
	}
	docker_free(d);
	script_stop(&f);
	assert_int_equal(f.accepted, 3);
	assert_int_equal(f.requests, 6);
}

/* GETs sent ahead are read by the docker_get_all that asks for them, not
 * sent again; any other call drops them first and takes a connection of its
 * own. */
static void
test_get_all_ahead(void **state)
{
	static const struct conn_script conns[] = { { { OK_EMPTY, OK_EMPTY } }, { { OK_EMPTY } } };
	static const char *const paths[] = { "/networks" };
	static const char *const other[] = { "/volumes" };
	struct script_fake f;
	struct docker *d;
	json_t *out = NULL;
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 3);
	d = script_open(&f);
	assert_int_equal(docker_get_all_send(d, paths, 1, err), 0);
	assert_int_equal(docker_get_all_send(d, paths, 1, err), 0);	/* the same: kept */
	assert_int_equal(docker_get_all(d, paths, 1, &out, err), 0);
	assert_true(json_is_array(out));
	json_decref(out);
	assert_int_equal(docker_calls(d), 1);
	/* sent ahead on the kept connection, then dropped by another call,
	 * which goes on a new one */
	assert_int_equal(docker_get_all_send(d, paths, 1, err), 0);
	assert_int_equal(docker_call(d, "GET", "/info", NULL, NULL, NULL, err), 200);
	/* sent ahead and never read: docker_free lets go of it */
	assert_int_equal(docker_get_all_send(d, other, 1, err), 0);
	docker_free(d);
	script_stop(&f);
	assert_int_equal(f.accepted, 2);
	assert_int_equal(f.requests, 3);
}

/* A malformed answer names itself. */
static void
test_malformed_answer(void **state)
{
	static const struct conn_script conns[] = {
		{ { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnothex\r\n" } },
	};
	struct script_fake f;
	struct docker *d;
	char err[ERR_LEN];

	(void)state;
	script_start(&f, conns, 1);
	d = script_open(&f);
	assert_int_equal(docker_call(d, "GET", "/info", NULL, NULL, NULL, err), -1);
	assert_string_equal(err, "engine: GET /info: malformed answer: malformed chunk size");
	docker_free(d);
	script_stop(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_closed_under_request),
		cmocka_unit_test(test_closed_fresh),
		cmocka_unit_test(test_bytes_past_answer),
		cmocka_unit_test(test_get_all_keeps),
		cmocka_unit_test(test_get_all_ahead),
		cmocka_unit_test(test_malformed_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
