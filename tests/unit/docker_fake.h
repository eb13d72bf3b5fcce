/*
 * docker_fake: a fake engine on a private socket for the Engine client's
 * unit tests: each connection gets one canned response (GET /_ping an
 * answer without Api-Version of its own, which sends the client on to GET
 * /version). Included by test_docker.c and test_docker_version.c only.
 */
#ifndef TESTS_DOCKER_FAKE_H
#define TESTS_DOCKER_FAKE_H

#include "docker_test.h"

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

static inline void *
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

static inline void
fake_start(struct fake *f)
{
	f->fd = test_listen(f->path, sizeof(f->path), "docker-fake");
	if (!f->silent)
		assert_int_equal(pthread_create(&f->th, NULL, fake_run, f), 0);
}

static inline void
fake_stop(struct fake *f)
{
	if (!f->silent)
		pthread_join(f->th, NULL);
	close(f->fd);
	unlink(f->path);
}

static inline int
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


static inline char *
version_response(const char *api, const char *min)
{
	char body[200];

	snprintf(body, sizeof(body), "{\"Version\":\"99.0\",\"ApiVersion\":\"%s\","
	    "\"MinAPIVersion\":\"%s\"}", api, min);
	return xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
}

/* resp with an Api-Version header (caller frees). */
static inline char *
with_api(const char *resp, const char *api)
{
	size_t eol = strcspn(resp, "\r");

	return xasprintf("%.*s\r\nApi-Version: %s%s", (int)eol, resp, api, resp + eol);
}

#endif
