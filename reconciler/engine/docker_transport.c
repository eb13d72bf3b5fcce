/*
 * docker_transport: the Engine API client's road to the engine: one HTTP
 * exchange on the handle's kept connection (docker_conn.c) with its response
 * sinks (a capped buffer, or JSON lines decoded as a stream arrives), the
 * buffered JSON call, request paths, and the error messages users read. The
 * handle and its API version are docker_handle.c's.
 */
#include "docker_int.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>


#define ARG_MAX_LEN 1024		/* ids, names, refs, signals in a path */
#define LINE_MAX_LEN (1u << 20)		/* one progress or event line */

long long
docker__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ids, names, refs and signals are spliced into paths: keep them sane. */
int
docker__check_arg(const char *what, const char *s, char *err)
{
	size_t n;

	if (!s || !*s)
		return errf(err, "%s is empty", what);
	n = strlen(s);
	if (n > ARG_MAX_LEN)
		return errf(err, "%s is longer than %d bytes", what, ARG_MAX_LEN);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return errf(err, "%s '%.64s' contains a control character", what, s);
	return 0;
}

/* Percent-encodes s, keeping unreserved characters and those in keep. */
void
docker__buf_add_escaped(struct buf *b, const char *s, const char *keep)
{
	static const char hx[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep && strchr(keep, c))) {
			buf_add(b, s, 1);
		} else {
			char e[3] = { '%', hx[c >> 4], hx[c & 15] };

			buf_add(b, e, 3);
		}
	}
}

/* Appends "?key=value" or "&key=value". */
void
docker__query_add(struct buf *b, const char *key, const char *value)
{
	buf_adds(b, memchr(b->data ? b->data : "", '?', b->len) ? "&" : "?");
	buf_adds(b, key);
	buf_adds(b, "=");
	docker__buf_add_escaped(b, value, NULL);
}

/* "<prefix><escaped arg><suffix>" */
char *
docker__path_with(const char *prefix, const char *arg, const char *keep, const char *suffix)
{
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, prefix);
	docker__buf_add_escaped(&b, arg, keep);
	buf_adds(&b, suffix);
	return buf_detach(&b, NULL);
}

char *
docker_escape(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	docker__buf_add_escaped(&b, s, NULL);
	return buf_detach(&b, NULL);
}

void
docker__secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* ---------------------------------------------------------------- errors */

/* What went wrong reaching the socket, in terms a user can act on. */
int
docker__socket_error(const struct docker *d, int e, char *err)
{
	struct stat st;

	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return errf(err, "cannot connect to the docker engine: socket '%s' does not exist "
		    "(is dockerd running? start it, e.g. 'systemctl start docker', or point "
		    "DOCKER_HOST at its socket)", d->sock);
	case EACCES:
	case EPERM: {
		char gbuf[4096], pbuf[4096], group[64] = "", user[64] = "";
		struct group gr, *grp = NULL;
		struct passwd pw, *pwp = NULL;

		if (getpwuid_r(geteuid(), &pw, pbuf, sizeof(pbuf), &pwp) == 0 && pwp)
			snprintf(user, sizeof(user), "%s", pwp->pw_name);
		else
			snprintf(user, sizeof(user), "%ld", (long)geteuid());
		if (stat(d->sock, &st) < 0)
			return errf(err, "permission denied reaching docker socket '%s' (%s): "
			    "user '%s' cannot get to it; fix the directory permissions or run "
			    "as a user who can", d->sock, strerror(errno), user);
		if (getgrgid_r(st.st_gid, &gr, gbuf, sizeof(gbuf), &grp) == 0 && grp)
			snprintf(group, sizeof(group), "%s", grp->gr_name);
		else
			snprintf(group, sizeof(group), "%ld", (long)st.st_gid);
		return errf(err, "permission denied on docker socket '%s' (mode %04o, group '%s'): "
		    "add user '%s' to group '%s' ('usermod -aG %s %s', then log in again) "
		    "or run as root", d->sock, (unsigned)(st.st_mode & 07777), group, user,
		    group, group, user);
	}
	case ECONNREFUSED:
		return errf(err, "cannot connect to the docker engine at '%s': connection refused "
		    "(the socket exists but nothing listens on it: is dockerd running?)", d->sock);
	default:
		return errf(err, "cannot connect to the docker engine at '%s': %s", d->sock,
		    strerror(e));
	}
}

/* The engine's message from an error body: {"message": …} (returns 1) or the
 * raw text, flattened to one line (returns 0). */
int
docker__engine_message(const char *data, size_t len, char *msg, size_t msglen)
{
	json_t *j = NULL, *m;
	size_t i, o = 0;

	msg[0] = '\0';
	if (len && (j = json_loadb(data, len, 0, NULL)) &&
	    (m = json_object_get(j, "message")) && json_is_string(m)) {
		snprintf(msg, msglen, "%s", json_string_value(m));
		json_decref(j);
		return 1;
	}
	json_decref(j);
	for (i = 0; i < len && o + 1 < msglen && o < 200; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && (o == 0 || msg[o - 1] == ' '))
			continue;
		msg[o++] = (char)c;
	}
	while (o && msg[o - 1] == ' ')
		o--;
	msg[o] = '\0';
	if (!o)
		snprintf(msg, msglen, "(no message)");
	return 0;
}

/*
 * A 403 whose body is not the engine's JSON was written by something in front
 * of the engine: a socket proxy refusing the endpoint. Says which request and
 * what to do (returns -1), or returns 0 for any other answer.
 */
int
docker__proxy_denied(const char *method, const char *path, long status, const char *data,
    size_t len, char *err)
{
	char msg[ERR_LEN];

	if (status != 403 || docker__engine_message(data, len, msg, sizeof(msg)))
		return 0;
	return errf(err, "engine denied %s %.*s (403 Forbidden: %.160s): the Docker socket proxy "
	    "in front of the engine does not allow this endpoint; allow it (see "
	    "docs/engine-api.md)", method, (int)strcspn(path, "?"), path, msg);
}

int
docker__engine_error(const char *method, const char *path, long status, const char *data,
    size_t len, char *err)
{
	char msg[ERR_LEN];

	if (docker__proxy_denied(method, path, status, data, len, err) < 0)
		return -1;
	docker__engine_message(data, len, msg, sizeof(msg));
	return errf(err, "engine: %s %s: %ld: %s", method, path, status, msg);
}

/* ---------------------------------------------------------------- response sinks */

void
docker__sink_init(struct docker__sink *s, struct docker *d, enum docker__sink_mode mode)
{
	memset(s, 0, sizeof(*s));
	s->d = d;
	s->mode = mode;
	buf_init(&s->body, d->max_response);
	linesplit_init(&s->lines, LINE_MAX_LEN);
}

void
docker__sink_release(struct docker__sink *s)
{
	buf_release(&s->body);
	linesplit_release(&s->lines);
}

void
docker__sink_reset(struct docker__sink *s)
{
	buf_release(&s->body);
	buf_init(&s->body, s->d->max_response);
	linesplit_release(&s->lines);
	linesplit_init(&s->lines, LINE_MAX_LEN);
	s->api[0] = '\0';
	s->stopped = s->failed = s->overflow = 0;
	s->err[0] = '\0';
}

/* A line that cannot be an event or a progress message: skipped when the
 * caller said so, else the end of the stream. */
static int
line_bad(struct docker__sink *s, const char *why)
{
	if (s->skip_cb) {
		s->skip_cb(why, s->payload);
		return 0;
	}
	errf(s->err, "%s", why);
	s->failed = 1;
	return -1;
}

static int
line_long(size_t len, void *payload)
{
	char why[128];

	snprintf(why, sizeof(why), "a line of the stream is longer than %u bytes (%zu)",
	    LINE_MAX_LEN, len);
	return line_bad(payload, why);
}

static int
line_done(char *p, size_t n, void *payload)
{
	struct docker__sink *s = payload;
	char why[ERR_LEN];
	json_error_t je;
	json_t *j;
	int r;

	while (n && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	if (!n)
		return 0;
	if (!(j = json_loadb(p, n, 0, &je))) {
		snprintf(why, sizeof(why), "malformed JSON line in the stream: %s", je.text);
		return line_bad(s, why);
	}
	r = s->line_cb(j, s->payload, s->err);
	json_decref(j);
	if (r < 0) {
		s->failed = 1;
		return -1;
	}
	if (r > 0) {
		s->stopped = 1;
		return -1;
	}
	return 0;
}

int
docker__sink_body(struct docker__sink *s, long status, const char *p, size_t n)
{
	if (s->mode == DOCKER__SINK_BUFFER || status >= 300) {
		if (buf_add(&s->body, p, n) < 0) {
			s->overflow = 1;
			return -1;
		}
		return 0;
	}
	return linesplit_feed(&s->lines, p, n, line_done, line_long, s) != 0 ? -1 : 0;
}

int
docker__sink_end(struct docker__sink *s, long status)
{
	if (s->mode == DOCKER__SINK_LINES && status < 300 &&
	    linesplit_finish(&s->lines, line_done, line_long, s) != 0 && s->failed)
		return -1;
	return 0;
}

/* One exchange on the handle's kept connection, as it comes. */
static int
exchange(struct docker *d, const struct docker__req *r, struct docker__sink *s, long *status,
    char *err)
{
	struct docker__xfer x;

	docker__ahead_drop(d);	/* its connection is this one */
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.s = s;
	x.conn = &d->fd;
	docker__xfer_run(d, &x, 1);
	*status = x.status;
	if (x.rc < 0)
		return errf(err, "%s", x.err);
	return 0;
}

/*
 * One HTTP exchange, at the handle's version. The engine's answer says its
 * own version (the Api-Version header), which settles the handle's. A
 * request the engine refused for the version it went at (a provisional one,
 * or the engine changed) is sent once more at the engine's: the engine checks
 * the version before any handler runs (moby api/server/middleware/version.go,
 * VersionMiddleware.WrapHandler returns versionUnsupportedError before calling
 * the handler), so a refused POST did nothing and may be sent again.
 */
int
docker__http_do(struct docker *d, const struct docker__req *r, struct docker__sink *s,
    long *status, char *err)
{
	char sent[16];

	for (int attempt = 0;; attempt++) {
		snprintf(sent, sizeof(sent), "%s", d->api);
		if (exchange(d, r, s, status, err) < 0)
			return -1;
		if (docker__version_settle(d, s->api, err) < 0)
			return -1;
		if (r->unversioned || !docker__version_refused(*status, s))
			return 0;
		if (attempt > 0)
			return docker__version_refusal_error(r, s, err);
		if (docker__version_after_refusal(d, r, s, sent, err) < 0)
			return -1;
		docker__sink_reset(s);
	}
}

/* A buffered JSON call. Returns the status (< 400) or -1. */
int
docker__call(struct docker *d, const char *method, const char *path, json_t *body, long timeout_ms,
    json_t **out, long *status_out, char *err)
{
	return docker__call_header(d, method, path, body, NULL, timeout_ms, out, status_out, err);
}

int
docker__call_finish(const char *method, const char *path, long status,
    const struct docker__sink *s, json_t **out, char *err)
{
	json_error_t je;
	size_t i = 0;

	if (status >= 400 || status < 200)
		return docker__engine_error(method, path, status, s->body.data, s->body.len, err);
	if (!out || !s->body.len)
		return (int)status;
	while (i < s->body.len && isspace((unsigned char)s->body.data[i]))
		i++;
	if (i < s->body.len && !(*out = json_loadb(s->body.data, s->body.len, 0, &je)))
		return errf(err, "engine: %s %s: %ld: truncated or malformed JSON in the response "
		    "(%s at byte %d)", method, path, status, je.text, je.position);
	return (int)status;
}

int
docker__call_header(struct docker *d, const char *method, const char *path, json_t *body,
    const char *header, long timeout_ms, json_t **out, long *status_out, char *err)
{
	struct docker__sink s;
	struct docker__req r = { 0 };
	char *text = NULL;
	long status = 0;
	int rc = -1;

	if (out)
		*out = NULL;
	if (status_out)
		*status_out = 0;
	docker__sink_init(&s, d, DOCKER__SINK_BUFFER);
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		errf(err, "engine: %s %s: cannot encode the request body", method, path);
		goto out;
	}
	r.method = method;
	r.path = path;
	r.body = text;
	r.body_len = text ? strlen(text) : 0;
	r.header = header;
	r.timeout_ms = timeout_ms;
	/* /_ping and /version answer at any version: asked without one */
	r.unversioned = strcmp(path, "/_ping") == 0 || strcmp(path, "/version") == 0;
	if (docker__http_do(d, &r, &s, &status, err) < 0)
		goto out;
	if (status_out)
		*status_out = status;
	rc = docker__call_finish(method, path, status, &s, out, err);
out:
	docker__secret_free(text);	/* create bodies carry env values */
	docker__sink_release(&s);
	return rc;
}

int
docker_call(struct docker *d, const char *method, const char *path, json_t *body, json_t **out,
    long *status_out, char *err)
{
	return docker__call(d, method, path, body, d->timeout_ms, out, status_out, err);
}
