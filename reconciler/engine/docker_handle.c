/*
 * docker_handle: the Engine API client's handle and its API version. Opening
 * sends nothing: requests go at a provisional version (the oldest this client
 * speaks, which every engine it supports takes, or the one the caller already
 * knows) until the first answer's Api-Version header says the engine's; a
 * request refused for its version is sent again at the engine's. Only a
 * caller that must branch on the version before any answer makes one call
 * for it (GET /_ping).
 */
#include "docker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define API_MIN_MINOR 41
#define API_MAX_MINOR 44
#define DEFAULT_SOCK "/var/run/docker.sock"

/* "1.41" -> 1, 41; strict. */
static int
parse_api_version(const char *s, int *major, int *minor)
{
	long a = 0, b = 0;
	int da = 0, db = 0;

	if (!s)
		return -1;
	while (*s >= '0' && *s <= '9' && da < 4) {
		a = a * 10 + (*s++ - '0');
		da++;
	}
	if (!da || *s++ != '.')
		return -1;
	while (*s >= '0' && *s <= '9' && db < 4) {
		b = b * 10 + (*s++ - '0');
		db++;
	}
	if (!db || *s)
		return -1;
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

static void
set_minor(struct docker *d, int minor)
{
	d->minor = minor;
	snprintf(d->api, sizeof(d->api), "1.%d", minor);
	snprintf(d->prefix, sizeof(d->prefix), "/v1.%d", minor);
}

/* min(engine, ours), refusing an engine older than ours or one that needs a
 * newer client. api is the engine's (a header, or GET /version's
 * ApiVersion); min and ver only GET /version says (may be NULL). */
static int
negotiate(struct docker *d, const char *api, const char *min, const char *ver, char *err)
{
	int maj, minor, mmaj, mminor;

	if (parse_api_version(api, &maj, &minor) < 0)
		return errf(err, "engine: GET /version: no usable ApiVersion in the answer ('%s')",
		    api ? api : "missing");
	if (maj != 1)
		return errf(err, "docker engine %s speaks API %s, which this reconciler does not "
		    "know (it speaks %s to %s)", ver ? ver : "?", api, DOCKER_API_MIN,
		    DOCKER_API_MAX);
	if (minor > API_MAX_MINOR)
		minor = API_MAX_MINOR;
	if (minor < API_MIN_MINOR)
		return errf(err, "docker engine %s speaks API %s, older than %s, the oldest this "
		    "reconciler supports: upgrade docker (20.10 or newer)", ver ? ver : "?", api,
		    DOCKER_API_MIN);
	if (min && parse_api_version(min, &mmaj, &mminor) == 0 &&
	    (mmaj > 1 || (mmaj == 1 && mminor > minor)))
		return errf(err, "docker engine %s requires API %s or newer, but this reconciler "
		    "speaks at most %s: upgrade reconciler", ver ? ver : "?", min, DOCKER_API_MAX);
	set_minor(d, minor);
	d->known = 1;
	return 0;
}

int
docker__version_settle(struct docker *d, const char *api, char *err)
{
	int before = d->minor;

	if (!api || !*api || strcmp(api, d->engine_api) == 0)
		return 0;
	if (negotiate(d, api, NULL, NULL, err) < 0)
		return -1;
	snprintf(d->engine_api, sizeof(d->engine_api), "%s", api);
	return d->minor != before;
}

int
docker__version_refused(long status, const struct docker__sink *s)
{
	char msg[ERR_LEN];

	if (status != 400 || !docker__engine_message(s->body.data, s->body.len, msg, sizeof(msg)))
		return 0;
	return strncmp(msg, "client version ", 15) == 0 &&
	    (strstr(msg, " is too new") || strstr(msg, " is too old"));
}

int
docker__version_negotiate(struct docker *d, char *err)
{
	struct docker__req r = { .method = "GET", .path = "/_ping", .unversioned = 1 };
	struct docker__sink s;
	json_t *v = NULL;
	long status = 0;
	int rc = -1;

	r.timeout_ms = d->timeout_ms;
	docker__sink_init(&s, d, DOCKER__SINK_BUFFER);
	if (docker__http_do(d, &r, &s, &status, err) < 0 ||
	    docker__call_finish("GET", "/_ping", status, &s, NULL, err) < 0)
		goto out;
	/* an engine that does not say in a header is asked the slow way */
	if (s.api[0]) {
		rc = 0;
		goto out;
	}
	if (docker__call(d, "GET", "/version", NULL, d->timeout_ms, &v, NULL, err) < 0)
		goto out;
	if (!json_is_object(v)) {
		errf(err, "engine: GET /version: expected a JSON object");
		goto out;
	}
	rc = negotiate(d, json_string_value(json_object_get(v, "ApiVersion")),
	    json_string_value(json_object_get(v, "MinAPIVersion")),
	    json_string_value(json_object_get(v, "Version")), err);
out:
	json_decref(v);
	docker__sink_release(&s);
	return rc;
}

/* A refusal the version cannot get past: the engine wants a newer client
 * than this one, or something else is wrong; the message a user reads. */
int
docker__version_refusal_error(const struct docker__req *r, const struct docker__sink *s,
    char *err)
{
	char msg[ERR_LEN];
	const char *min;

	docker__engine_message(s->body.data, s->body.len, msg, sizeof(msg));
	if ((min = strstr(msg, "Minimum supported API version is "))) {
		min += strlen("Minimum supported API version is ");
		return errf(err, "docker engine requires API %.*s or newer, but this reconciler "
		    "speaks at most %s: upgrade reconciler", (int)strspn(min, "0123456789."), min,
		    DOCKER_API_MAX);
	}
	return docker__engine_error(r->method, r->path, 400, s->body.data, s->body.len, err);
}

int
docker__version_after_refusal(struct docker *d, const struct docker__req *r,
    const struct docker__sink *s, const char *sent_api, char *err)
{
	if (strcmp(d->api, sent_api) != 0)
		return 0;	/* the answer's header moved the version: again */
	if (!s->api[0]) {
		/* no header on the refusal (an old engine, or a proxy that drops
		 * it): ask */
		if (docker__version_negotiate(d, err) < 0)
			return -1;
		if (strcmp(d->api, sent_api) != 0)
			return 0;
	}
	return docker__version_refusal_error(r, s, err);
}

/* The socket's path from opts, $DOCKER_HOST or the default; -1 with err. */
static int
socket_path(const struct docker_options *opts, const char **out, char *err)
{
	const char *host = opts->host, *what = "docker host", *path;

	if (!host || !*host) {
		host = getenv("DOCKER_HOST");
		what = "DOCKER_HOST";
	}
	if (!host || !*host) {
		host = "unix://" DEFAULT_SOCK;
		what = "docker host";
	}
	if (strncmp(host, "unix://", 7) != 0) {
		if (strstr(host, "://"))
			return errf(err, "%s '%s': only unix:// sockets are supported (to reach a "
			    "remote engine, forward its socket, e.g. 'ssh -nNT -L "
			    "/tmp/docker.sock:/var/run/docker.sock HOST' and "
			    "DOCKER_HOST=unix:///tmp/docker.sock)", what, host);
		return errf(err, "%s '%s': expected unix:///path/to/docker.sock", what, host);
	}
	path = host + 7;
	if (*path != '/')
		return errf(err, "%s '%s': the socket path must be absolute (unix:///path)", what,
		    host);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return errf(err, "%s '%s': socket path too long", what, host);
	*out = path;
	return 0;
}

int
docker_open(struct docker **out, const struct docker_options *opts, char *err)
{
	static const struct docker_options defaults = DOCKER_OPTIONS_INIT;
	struct docker *d = NULL;
	const char *path = NULL;
	struct stat st;
	int maj, minor;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (socket_path(opts, &path, err) < 0 || !path)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->sock = xstrdup(path);
	d->fd = -1;
	for (size_t i = 0; i < DOCKER__SIDE - 1; i++)
		d->side[i] = -1;
	/* nothing is sent, but a socket that is not there, or that this user
	 * may not use (not in its group), is said at once */
	if ((stat(path, &st) < 0 && errno != EACCES) ||
	    (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0 && errno == EACCES)) {
		docker__socket_error(d, errno, err);
		docker_free(d);
		return -1;
	}
	d->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	d->max_response = opts->max_response ? opts->max_response : (size_t)16 << 20;
	set_minor(d, API_MIN_MINOR);
	if (parse_api_version(opts->api, &maj, &minor) == 0 && maj == 1 &&
	    minor >= API_MIN_MINOR && minor <= API_MAX_MINOR) {
		set_minor(d, minor);
		d->known = 1;
	}
	*out = d;
	return 0;
}

void
docker_free(struct docker *d)
{
	if (!d)
		return;
	docker__ahead_drop(d);
	docker__conn_close(&d->fd);
	for (size_t i = 0; i < DOCKER__SIDE - 1; i++)
		docker__conn_close(&d->side[i]);
	free(d->sock);
	free(d);
}

/* Before anything branches on the version: asked of the engine when no
 * answer has told it yet. A failure leaves the provisional one, which every
 * supported engine takes; the next call says what is wrong. */
static void
know(struct docker *d)
{
	char err[ERR_LEN];

	if (!d->known && docker__version_negotiate(d, err) < 0)
		d->known = 0;
}

const char *
docker_api_version(struct docker *d)
{
	know(d);
	return d->api;
}

int
docker_api_at_least(struct docker *d, int major, int minor)
{
	if (major < 1)
		return 1;
	if (major > 1)
		return 0;
	know(d);
	return d->minor >= minor;
}

unsigned long
docker_calls(const struct docker *d)
{
	return d->calls;
}

long long
docker_time_us(const struct docker *d)
{
	return d->wait_us;
}
