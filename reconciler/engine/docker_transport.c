/*
 * docker_transport: the Engine API client's handle and its road to the engine:
 * docker_open (the socket, the API version negotiation), one HTTP exchange
 * through the handle's curl easy handle (connection kept alive) with its
 * response sinks (a capped buffer, or JSON lines decoded as a stream arrives),
 * the buffered JSON call, request paths, and the error messages users read.
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
#include <unistd.h>

#include <curl/curl.h>

#define API_MIN_MINOR 41
#define API_MAX_MINOR 44
#define DEFAULT_SOCK "/var/run/docker.sock"
#define ARG_MAX_LEN 1024		/* ids, names, refs, signals in a path */
#define LINE_MAX_LEN (1u << 20)		/* one progress or event line */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
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

/* ---------------------------------------------------------------- HTTP via curl */

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

static size_t
sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct docker__sink *s = userdata;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(s->d->curl, CURLINFO_RESPONSE_CODE, &status);
	if (s->mode == DOCKER__SINK_BUFFER || status >= 300) {
		if (buf_add(&s->body, ptr, n) < 0) {
			s->overflow = 1;
			return 0;
		}
		return n;
	}
	return linesplit_feed(&s->lines, ptr, n, line_done, line_long, s) != 0 ? 0 : n;
}

/* Keeps the engine's Api-Version header: GET /_ping carries it, which makes
 * negotiation one cheap call instead of the much slower GET /version. */
static size_t
header_cb(char *data, size_t size, size_t n, void *payload)
{
	struct docker *d = payload;
	size_t len = size * n;

	if (len > 13 && strncasecmp(data, "Api-Version:", 12) == 0) {
		const char *v = data + 12;
		size_t k;

		while (*v == ' ' && v < data + len)
			v++;
		for (k = 0; v + k < data + len && k < sizeof(d->ping_api) - 1 &&
		    (isdigit((unsigned char)v[k]) || v[k] == '.'); k++)
			d->ping_api[k] = v[k];
		d->ping_api[k] = '\0';
	}
	return len;
}

/* What the end of an exchange means: 0 when a response came back (or a
 * stream stopped or ran its time as asked), else -1 with the message a user
 * reads. */
static int
http_outcome(struct docker *d, const struct docker__req *r, struct docker__sink *s,
    CURLcode cc, long status, long connect_ms, char *err)
{
	long os_errno = 0;
	int rc = -1;

	if (cc == CURLE_OK) {
		/* a last line without its newline */
		if (s->mode == DOCKER__SINK_LINES && status < 300 &&
		    linesplit_finish(&s->lines, line_done, line_long, s) != 0 && s->failed) {
			errf(err, "engine: %s %s: %s", r->method, r->path, s->err);
			return -1;
		}
		rc = 0;
	/* NOLINTNEXTLINE(bugprone-branch-clone): one branch per outcome, as documented */
	} else if (cc == CURLE_WRITE_ERROR && s->stopped) {
		rc = 0;
	} else if (cc == CURLE_WRITE_ERROR && s->failed) {
		errf(err, "engine: %s %s: %s", r->method, r->path, s->err);
	} else if (cc == CURLE_WRITE_ERROR && s->overflow) {
		errf(err, "engine: %s %s: response larger than %zu bytes", r->method, r->path,
		    s->body.max);
	} else if (cc == CURLE_OPERATION_TIMEDOUT && r->timeout_ok && status == 200) {
		rc = 0;	/* the stream was open and simply ran its time */
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		if (status == 0 && !s->body.len && d->curl_err[0] &&
		    strstr(d->curl_err, "onnect"))
			errf(err, "cannot connect to the docker engine at '%s' within %ld ms "
			    "(is dockerd hung?)", d->sock, connect_ms);
		else if (r->idle_ms > 0 && !r->timeout_ms)
			errf(err, "engine: %s %s: nothing received for %ld ms", r->method,
			    r->path, r->idle_ms);
		else
			errf(err, "engine: %s %s: no complete answer within %ld ms (is dockerd "
			    "overloaded or hung?)", r->method, r->path, r->timeout_ms);
	} else if (cc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &os_errno);
		docker__socket_error(d, os_errno ? (int)os_errno : ECONNREFUSED, err);
	} else if (cc == CURLE_PARTIAL_FILE || cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR) {
		errf(err, "engine: %s %s: connection closed before the response was complete",
		    r->method, r->path);
	} else {
		errf(err, "engine: %s %s: %s", r->method, r->path,
		    d->curl_err[0] ? d->curl_err : curl_easy_strerror(cc));
	}
	return rc;
}

/* One HTTP exchange. 0 when a response came back (any status, in *status),
 * -1 with err on transport failure, an overflow or a failed line callback. */
int
docker__http_do(struct docker *d, const struct docker__req *r, struct docker__sink *s,
    long *status, char *err)
{
	CURL *c = d->curl;
	struct curl_slist *hdrs = NULL, *h;
	char *url = NULL;
	long connect_ms;
	CURLcode cc;
	int rc = -1;

	*status = 0;
	curl_easy_reset(c);
	url = xasprintf("http://docker%s%s", d->prefix, r->path);
	h = curl_slist_append(hdrs, "Expect:");
	if (h)
		hdrs = h;
	/* no body: drop the form content type curl would announce for a POST */
	if ((h = curl_slist_append(hdrs, r->body ? "Content-Type: application/json" :
	    "Content-Type:")))
		hdrs = h;
	if (r->header && (h = curl_slist_append(hdrs, r->header)))
		hdrs = h;
	if (!hdrs) {
		errf(err, "out of memory building a request");
		goto out;
	}
	connect_ms = d->timeout_ms < 10000 ? d->timeout_ms : 10000;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "reconciler/" RECONCILER_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_err);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, d);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	if (r->timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	if (r->idle_ms > 0) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (r->idle_ms + 999) / 1000);
	}
	if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(r->body ? r->body_len : 0));
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		if (r->body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		}
	}
	d->curl_err[0] = '\0';
	d->calls++;
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	rc = http_outcome(d, r, s, cc, *status, connect_ms, err);
out:
	curl_slist_free_all(hdrs);
	free(url);
	return rc;
}

/* A buffered JSON call. Returns the status (< 400) or -1. */
int
docker__call(struct docker *d, const char *method, const char *path, json_t *body, long timeout_ms,
    json_t **out, long *status_out, char *err)
{
	return docker__call_header(d, method, path, body, NULL, timeout_ms, out, status_out, err);
}

int
docker__call_header(struct docker *d, const char *method, const char *path, json_t *body,
    const char *header, long timeout_ms, json_t **out, long *status_out, char *err)
{
	struct docker__sink s;
	struct docker__req r = { 0 };
	json_error_t je;
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
	if (docker__http_do(d, &r, &s, &status, err) < 0)
		goto out;
	if (status_out)
		*status_out = status;
	if (status >= 400 || status < 200) {
		docker__engine_error(method, path, status, s.body.data, s.body.len, err);
		goto out;
	}
	if (out && s.body.len) {
		size_t i = 0;

		while (i < s.body.len && isspace((unsigned char)s.body.data[i]))
			i++;
		if (i < s.body.len && !(*out = json_loadb(s.body.data, s.body.len, 0, &je))) {
			errf(err, "engine: %s %s: %ld: truncated or malformed JSON in the response "
			    "(%s at byte %d)", method, path, status, je.text, je.position);
			goto out;
		}
	}
	rc = (int)status;
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

/* ---------------------------------------------------------------- handle */

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

static int
negotiate(struct docker *d, json_t *v, char *err)
{
	const char *api = json_string_value(json_object_get(v, "ApiVersion"));
	const char *min = json_string_value(json_object_get(v, "MinAPIVersion"));
	const char *ver = json_string_value(json_object_get(v, "Version"));
	int maj, minor, mmaj, mminor;

	if (!ver)
		ver = "?";
	if (parse_api_version(api, &maj, &minor) < 0)
		return errf(err, "engine: GET /version: no usable ApiVersion in the answer ('%s')",
		    api ? api : "missing");
	if (maj != 1)
		return errf(err, "docker engine %s speaks API %s, which this reconciler does not "
		    "know (it speaks %s to %s)", ver, api, DOCKER_API_MIN, DOCKER_API_MAX);
	if (minor > API_MAX_MINOR)
		minor = API_MAX_MINOR;
	if (minor < API_MIN_MINOR)
		return errf(err, "docker engine %s speaks API %s, older than %s, the oldest this "
		    "reconciler supports: upgrade docker (20.10 or newer)", ver, api,
		    DOCKER_API_MIN);
	if (min && parse_api_version(min, &mmaj, &mminor) == 0 &&
	    (mmaj > 1 || (mmaj == 1 && mminor > minor)))
		return errf(err, "docker engine %s requires API %s or newer, but this reconciler "
		    "speaks at most %s: upgrade reconciler", ver, min, DOCKER_API_MAX);
	d->minor = minor;
	snprintf(d->api, sizeof(d->api), "1.%d", minor);
	snprintf(d->prefix, sizeof(d->prefix), "/v1.%d", minor);
	return 0;
}

int
docker_open(struct docker **out, const struct docker_options *opts, char *err)
{
	static const struct docker_options defaults = DOCKER_OPTIONS_INIT;
	struct docker *d = NULL;
	json_t *v = NULL;
	const char *host, *what = "docker host", *path;
	int rc = -1;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	host = opts->host;
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
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return errf(err, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
	d = xcalloc(1, sizeof(*d));
	d->sock = xstrdup(path);
	d->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	d->max_response = opts->max_response ? opts->max_response : (size_t)16 << 20;
	if (!(d->curl = curl_easy_init())) {
		errf(err, "cannot initialise libcurl");
		goto out;
	}
	/* unversioned: /_ping answers with the engine's API version in a header;
	 * an engine that does not say is asked GET /version */
	d->ping_api[0] = '\0';
	if (docker__call(d, "GET", "/_ping", NULL, d->timeout_ms, NULL, NULL, err) < 0)
		goto out;
	if (d->ping_api[0])
		v = json_pack("{s:s}", "ApiVersion", d->ping_api);
	else if (docker__call(d, "GET", "/version", NULL, d->timeout_ms, &v, NULL, err) < 0)
		goto out;
	if (!json_is_object(v)) {
		errf(err, "engine: GET /version: expected a JSON object");
		goto out;
	}
	if (negotiate(d, v, err) < 0)
		goto out;
	*out = d;
	d = NULL;
	rc = 0;
out:
	json_decref(v);
	docker_free(d);
	return rc;
}

void
docker_free(struct docker *d)
{
	if (!d)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	free(d->sock);
	free(d);
}

const char *
docker_api_version(const struct docker *d)
{
	return d->api;
}

int
docker_api_at_least(const struct docker *d, int major, int minor)
{
	return major < 1 || (major == 1 && d->minor >= minor);
}

unsigned long
docker_calls(const struct docker *d)
{
	return d->calls;
}
