/*
 * test_docker_version: the Engine client's API version against a fake
 * engine: nothing sent at open, the version taken from the first answer's
 * Api-Version header, a request the engine refused for its version (too new,
 * too old) sent once more at the engine's, the slow way (GET /_ping, then
 * GET /version) only when a caller must branch on it and no answer said it,
 * and overlapped GETs.
 */
#include "docker_test.h"
#include "docker_fake.h"

static const char ok_list[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    "Content-Length: 2\r\n\r\n[]";
static const char created[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
    "Content-Length: 29\r\n\r\n{\"Id\":\"c0ffee\",\"Warnings\":[]}";

/* The engine's 400 for a version it does not take, as 20.10 to 29 word it. */
static char *
refusal(const char *api, const char *sent, const char *max, const char *min)
{
	char body[300], *r, *h;

	if (min)
		snprintf(body, sizeof(body), "{\"message\":\"client version %s is too old. Minimum "
		    "supported API version is %s, please upgrade your client to a newer "
		    "version\"}", sent, min);
	else
		snprintf(body, sizeof(body), "{\"message\":\"client version %s is too new. Maximum "
		    "supported API version is %s\"}", sent, max);
	r = xasprintf("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	if (!api)
		return r;
	h = with_api(r, api);
	free(r);
	return h;
}

static int
open_at(struct fake *f, const char *api, struct docker **d, char *err)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	char host[160];

	snprintf(host, sizeof(host), "unix://%s", f->path);
	o.host = host;
	o.timeout_ms = 5000;
	if (api)
		snprintf(o.api, sizeof(o.api), "%s", api);
	return docker_open(d, &o, err);
}

/* The first answer says the version: no call of its own. */
static void
test_version_from_answer(void **state)
{
	char *l47 = with_api(ok_list, "1.47"), *l41 = with_api(ok_list, "1.41");
	struct fake f = { .responses = { l47, l47, l41 }, .n = 3 };
	struct docker *d = NULL;
	json_t *o = NULL;
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_int_equal(docker_calls(d), 0);
	assert_int_equal(docker_call(d, "GET", "/containers/json", NULL, &o, NULL, err), 200);
	json_decref(o);
	assert_string_equal(docker_api_version(d), "1.44");	/* ours is the lower */
	assert_true(docker_api_at_least(d, 1, 44));
	assert_int_equal(docker_call(d, "GET", "/networks", NULL, &o, NULL, err), 200);
	json_decref(o);
	assert_int_equal(docker_calls(d), 2);
	docker_free(d);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_int_equal(docker_call(d, "GET", "/volumes", NULL, &o, NULL, err), 200);
	json_decref(o);
	assert_false(docker_api_at_least(d, 1, 44));
	assert_string_equal(docker_api_version(d), "1.41");
	assert_int_equal(docker_calls(d), 1);
	docker_free(d);
	fake_stop(&f);
	/* provisional: the oldest we speak; then the engine's */
	assert_contains(f.requests[0], "GET /v1.41/containers/json HTTP/1.1");
	assert_contains(f.requests[1], "GET /v1.44/networks HTTP/1.1");
	assert_contains(f.requests[2], "GET /v1.41/volumes HTTP/1.1");
	free(l47);
	free(l41);
}

/* The caller's version, too new for this engine (20.10 answers 1.41): the
 * POST is refused before anything is done and goes again at 1.41. Docker
 * 29 refuses 1.41 as too old: again at 1.44. */
static void
test_version_refused_retried(void **state)
{
	char *new41 = refusal("1.41", "1.44", "1.41", NULL);
	char *old52 = refusal("1.52", "1.41", NULL, "1.44");
	char *c41 = with_api(created, "1.41"), *c52 = with_api(created, "1.52");
	struct fake f = { .responses = { new41, c41, old52, c52 }, .n = 4 };
	json_t *body = json_pack("{s:s}", "Image", "i");
	struct docker *d = NULL;
	char err[ERR_LEN], *id = NULL;

	(void)state;
	fake_start(&f);
	assert_int_equal(open_at(&f, "1.44", &d, err), 0);
	if (docker_container_create(d, "web", body, &id, err) < 0)
		fail_msg("%s", err);
	assert_string_equal(id, "c0ffee");
	assert_int_equal(docker_calls(d), 2);	/* no /_ping: the caller said 1.44 */
	assert_string_equal(docker_api_version(d), "1.41");
	docker_free(d);
	free(id);
	id = NULL;
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	if (docker_call(d, "POST", "/containers/web/start", NULL, NULL, NULL, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(docker_calls(d), 2);
	assert_string_equal(docker_api_version(d), "1.44");
	docker_free(d);
	fake_stop(&f);
	assert_contains(f.requests[0], "POST /v1.44/containers/create?name=web HTTP/1.1");
	assert_contains(f.requests[0], "{\"Image\":\"i\"}");
	assert_contains(f.requests[1], "POST /v1.41/containers/create?name=web HTTP/1.1");
	assert_contains(f.requests[1], "{\"Image\":\"i\"}");
	assert_contains(f.requests[2], "POST /v1.41/containers/web/start HTTP/1.1");
	assert_contains(f.requests[3], "POST /v1.44/containers/web/start HTTP/1.1");
	json_decref(body);
	free(new41);
	free(old52);
	free(c41);
	free(c52);
}

/* Engines this client cannot speak to, said by their refusal: one older
 * than 1.41, one that wants more than 1.44 (refused at 1.41, then at 1.44). */
static void
test_version_unspeakable(void **state)
{
	char *new40 = refusal("1.40", "1.41", "1.40", NULL);
	char *old50a = refusal("1.50", "1.41", NULL, "1.45");
	char *old50b = refusal("1.50", "1.44", NULL, "1.45");
	struct fake f = { .responses = { new40, old50a, old50b }, .n = 3 };
	struct docker *d = NULL;
	json_t *o = NULL;
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_int_equal(docker_call(d, "GET", "/containers/json", NULL, &o, NULL, err), -1);
	assert_contains(err, "speaks API 1.40, older than 1.41");
	docker_free(d);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_int_equal(docker_call(d, "GET", "/containers/json", NULL, &o, NULL, err), -1);
	assert_string_equal(err, "docker engine requires API 1.45 or newer, but this reconciler "
	    "speaks at most 1.44: upgrade reconciler");
	assert_int_equal(docker_calls(d), 2);
	assert_null(o);
	docker_free(d);
	fake_stop(&f);
	assert_contains(f.requests[2], "GET /v1.44/containers/json HTTP/1.1");
	free(new40);
	free(old50a);
	free(old50b);
}

/* No header anywhere (a proxy that drops it, an old engine): a call that
 * branches on the version asks GET /_ping, then GET /version; a refusal with
 * no header does the same before it goes again. */
static void
test_version_no_header(void **state)
{
	char *r47 = version_response("1.47", "1.24");
	char *r41 = version_response("1.41", "1.12");
	char *new41 = refusal(NULL, "1.44", "1.41", NULL);
	struct fake f = { .responses = { r47, new41, r41, ok_list }, .n = 4 };
	struct docker *d = NULL;
	json_t *o = NULL;
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	assert_true(docker_api_at_least(d, 1, 44));
	assert_int_equal(docker_calls(d), 2);	/* /_ping, /version */
	assert_true(docker_api_at_least(d, 1, 44));
	assert_int_equal(docker_calls(d), 2);	/* once known, never again */
	/* the engine changed under the handle (1.41 now), and says so only in
	 * its refusal's message */
	assert_int_equal(docker_call(d, "GET", "/containers/json", NULL, &o, NULL, err), 200);
	assert_int_equal(docker_calls(d), 6);	/* refused, /_ping, /version, again */
	assert_string_equal(docker_api_version(d), "1.41");
	json_decref(o);
	docker_free(d);
	fake_stop(&f);
	assert_contains(f.requests[0], "GET /version HTTP/1.1");
	assert_contains(f.requests[1], "GET /v1.44/containers/json HTTP/1.1");
	assert_contains(f.requests[2], "GET /version HTTP/1.1");
	assert_contains(f.requests[3], "GET /v1.41/containers/json HTTP/1.1");
	free(r47);
	free(r41);
	free(new41);
}

/* Several GETs at once, each answered on its own connection; one refused
 * for its version goes again alone. */
static void
test_get_all(void **state)
{
	static const char nets[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 15\r\n\r\n[{\"Name\":\"n1\"}]";
	static const char fail[] = "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"message\":\"disk on fire\"}";
	char *old = refusal("1.52", "1.41", NULL, "1.44");
	char *l52 = with_api(ok_list, "1.52"), *n52 = with_api(nets, "1.52");
	struct fake f = { .responses = { l52, n52, l52, fail }, .n = 4 };
	struct fake f2 = { .responses = { old, old, l52, l52 }, .n = 4 };
	const char *paths[] = { "/containers/json", "/networks", "/volumes" };
	json_t *outs[3] = { NULL, NULL, NULL };
	struct docker *d = NULL;
	char err[ERR_LEN];

	(void)state;
	fake_start(&f);
	assert_int_equal(fake_open(&f, 5000, 0, &d, err), 0);
	if (docker_get_all(d, paths, 2, outs, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(docker_calls(d), 2);
	assert_int_equal(json_array_size(outs[0]) + json_array_size(outs[1]), 1);
	json_decref(outs[0]);
	json_decref(outs[1]);
	assert_int_equal(docker_get_all(d, paths, 2, outs, err), -1);
	assert_contains(err, ": 500: disk on fire");
	assert_null(outs[0]);
	assert_null(outs[1]);
	docker_free(d);
	fake_stop(&f);

	/* Docker 29 refuses 1.41: both again, one after the other, at 1.44 */
	fake_start(&f2);
	assert_int_equal(fake_open(&f2, 5000, 0, &d, err), 0);
	if (docker_get_all(d, paths, 2, outs, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(docker_calls(d), 4);
	assert_string_equal(docker_api_version(d), "1.44");
	json_decref(outs[0]);
	json_decref(outs[1]);
	docker_free(d);
	fake_stop(&f2);
	assert_contains(f2.requests[2], "GET /v1.44/containers/json HTTP/1.1");
	assert_contains(f2.requests[3], "GET /v1.44/networks HTTP/1.1");
	free(old);
	free(l52);
	free(n52);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_from_answer),
		cmocka_unit_test(test_version_refused_retried),
		cmocka_unit_test(test_version_unspeakable),
		cmocka_unit_test(test_version_no_header),
		cmocka_unit_test(test_get_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
