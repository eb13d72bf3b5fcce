/*
 * docker_int: what the files of the Engine API client share and nobody else
 * may use: the handle's definition, the response sinks, one HTTP exchange, the
 * buffered JSON call, request paths and the engine's error messages.
 *
 * The client's files, one role each. Requests go as HTTP/1.1 on the engine's
 * unix socket, on connections the handle keeps; streaming answers (pull
 * progress, events) are decoded line by line as they arrive; exec's hijacked
 * stream uses a connection of its own so stdin can be half-closed.
 *   docker_transport.c  one exchange, response sinks, the buffered JSON call,
 *                       paths, error messages
 *   docker_conn.c       connections and exchanges on the socket (poll)
 *   http_response.c     an HTTP/1.1 response read as it arrives (pure)
 *   docker_handle.c     the handle: open (nothing sent), the API version taken
 *                       from the answers, a request refused for it retried
 *   docker_multi.c      several GETs at once, each on a connection of its own
 *   docker_api.c        containers, image inspect, networks, volumes, events
 *   docker_pull.c       image pulls with the docker CLI's registry credentials
 *   docker_exec.c       exec: the raw upgraded connection and its stream
 *   docker_demux.c      the multiplexed stdout/stderr stream decoder (pure)
 *   docker_container.c  a container decoded from the engine's JSON (pure)
 *   docker_swarm.c      Swarm mode: the node's role, services, tasks, secrets
 */
#ifndef RECONCILER_DOCKER_INT_H
#define RECONCILER_DOCKER_INT_H

#include "docker.h"
#include "http_response.h"
#include "linesplit.h"
#include "util.h"

#ifndef RECONCILER_VERSION
#define RECONCILER_VERSION "0.0.0"
#endif

#define DOCKER__SIDE 4	/* GETs docker_get_all overlaps */

struct docker {
	char *sock;
	int fd;			/* the kept connection, -1 none */
	char api[16];		/* "1.41": the version requests go at */
	char prefix[16];	/* "/v1.41" */
	int minor;
	/* 0: api is provisional (the oldest this client speaks) until an answer
	 * says the engine's; 1: the caller's (docker_options.api) or the
	 * engine's */
	int known;
	char engine_api[16];	/* the Api-Version header api was settled from */
	long timeout_ms;
	size_t max_response;
	unsigned long calls;
	long long wait_us;	/* time spent in exchanges */
	/* docker_get_all: the connections of the GETs after the first, kept */
	int side[DOCKER__SIDE - 1];
	struct docker__ahead *ahead;	/* docker_get_all_send's, or NULL */
};

/*
 * Response sinks. A buffered sink keeps the whole (capped) body; a line sink
 * decodes each complete line as JSON and hands it to line_cb, keeping only the
 * partial line. Whatever the mode, a 3xx-5xx body is buffered for its message.
 * A line that is not JSON, or longer than the bound, fails the stream, unless
 * skip_cb is set: it is then told why and the stream goes on.
 */
enum docker__sink_mode { DOCKER__SINK_BUFFER, DOCKER__SINK_LINES };

struct docker__sink {
	struct docker *d;
	char api[16];		/* the answer's Api-Version header, "" none */
	enum docker__sink_mode mode;
	struct buf body;
	struct linesplit lines;
	/* 0 go on, 1 stop (not an error), -1 fail with err filled */
	int (*line_cb)(json_t *j, void *payload, char *err);
	void (*skip_cb)(const char *why, void *payload);
	void *payload;
	int stopped, failed, overflow;
	char err[ERR_LEN];
};

struct docker__req {
	const char *method;
	const char *path;	/* escaped, without the version prefix */
	const char *body;
	size_t body_len;
	const char *header;	/* one extra header line, or NULL */
	long timeout_ms;	/* whole exchange; 0 = none */
	long idle_ms;		/* fail when nothing arrives for this long; 0 = none */
	int timeout_ok;		/* a timeout ends the call normally (events) */
	int unversioned;	/* the path goes without /v1.xx (GET /_ping, /version) */
};

void docker__sink_init(struct docker__sink *s, struct docker *d, enum docker__sink_mode mode);
void docker__sink_release(struct docker__sink *s);
/* Empties a sink for the same request sent again. */
void docker__sink_reset(struct docker__sink *s);
/* A piece of an answer's body, its status known: buffered, or split into
 * JSON lines (a 3xx-5xx body is always buffered). 0, or -1 to stop the
 * answer (the sink says why: stopped, failed or overflow). */
int docker__sink_body(struct docker__sink *s, long status, const char *p, size_t n);
/* The answer is whole: a last line without its newline is passed on. 0, or
 * -1 with s->err. */
int docker__sink_end(struct docker__sink *s, long status);
/* One HTTP exchange. 0 when a response came back (any status, in *status),
 * -1 with err on transport failure, an overflow or a failed line callback.
 * The answer's Api-Version settles the handle's version; a request the
 * engine refused for its version is sent once more at the engine's
 * (docker_handle.c). */
int docker__http_do(struct docker *d, const struct docker__req *r, struct docker__sink *s,
    long *status, char *err);

/* Exchanges in flight (docker_conn.c): r goes on *conn (a connection the
 * handle keeps, -1 none: one is made), its answer into s. */
struct docker__xfer {
	const struct docker__req *r;
	struct docker__sink *s;
	int *conn;
	/* after docker__xfer_run: the status (0 none), rc 0 when an answer
	 * came (or a stream stopped or ran its time as asked), else -1 with
	 * err */
	long status;
	int rc;
	char err[ERR_LEN];
	/* the run's own */
	struct http_response resp;
	struct buf req;
	size_t sent, got;
	int reused, retried, done;
	long long deadline, last_rx;
};
/* Runs n (at most DOCKER__SIDE) exchanges at once to their ends; 0 when
 * every one got its answer, else -1 (each says in its rc and err). start
 * sends the requests and returns; finish reads the answers (run is both). */
int docker__xfer_run(struct docker *d, struct docker__xfer *v, size_t n);
void docker__xfer_start(struct docker *d, struct docker__xfer *v, size_t n);
int docker__xfer_finish(struct docker *d, struct docker__xfer *v, size_t n);
/* GETs sent ahead by docker_get_all_send, their answers not yet read
 * (docker_multi.c); dropped before any other exchange takes the handle's
 * connections. */
struct docker__ahead;
void docker__ahead_drop(struct docker *d);
/* A new connection to the engine's socket (exec's own), or -1 with err. */
int docker__connect(struct docker *d, int *fd, char *err);
void docker__conn_close(int *fd);
/* A buffered answer as docker__call hands it over: the status (< 400) and
 * *out the parsed body, or -1 with the engine's message. */
int docker__call_finish(const char *method, const char *path, long status,
    const struct docker__sink *s, json_t **out, char *err);

/* The API version (docker_handle.c). settle: an answer's Api-Version header
 * (may be "") makes the handle's version, when it is new: 1 when the version
 * changed, 0 when not, -1 with err when the engine speaks none this client
 * does. refused: 1 when the answer is the engine's refusal of the version
 * the request went at (400 "client version … is too new/old"). negotiate:
 * asks the engine (GET /_ping, else GET /version), 0 or -1 with err. */
int docker__version_settle(struct docker *d, const char *api, char *err);
int docker__version_refused(long status, const struct docker__sink *s);
int docker__version_negotiate(struct docker *d, char *err);
/* After a refusal that settling did not answer: the message a user reads
 * (-1), or 0 when a new version was found and the request may go again. */
int docker__version_after_refusal(struct docker *d, const struct docker__req *r,
    const struct docker__sink *s, const char *sent_api, char *err);
/* A refusal no version gets past (the engine wants a newer client, said so),
 * or the engine's message: -1. */
int docker__version_refusal_error(const struct docker__req *r, const struct docker__sink *s,
    char *err);
/* A buffered JSON call. Returns the status (< 400) or -1; on a 4xx/5xx the
 * status is in *status_out, with the engine's message in err. */
int docker__call(struct docker *d, const char *method, const char *path, json_t *body,
    long timeout_ms, json_t **out, long *status_out, char *err);
/* The same with one extra header line (X-Registry-Auth), or NULL. */
int docker__call_header(struct docker *d, const char *method, const char *path, json_t *body,
    const char *header, long timeout_ms, json_t **out, long *status_out, char *err);

/* A monotonic clock in microseconds (the handle's wait time). */
long long docker__now_us(void);

/* Request paths. ids, names, refs and signals are spliced into paths:
 * check_arg refuses empty, overlong and control characters. */
int docker__check_arg(const char *what, const char *s, char *err);
/* Percent-encodes s, keeping unreserved characters and those in keep. */
void docker__buf_add_escaped(struct buf *b, const char *s, const char *keep);
/* Appends "?key=value" or "&key=value". */
void docker__query_add(struct buf *b, const char *key, const char *value);
/* "<prefix><escaped arg><suffix>" (caller frees) */
char *docker__path_with(const char *prefix, const char *arg, const char *keep,
    const char *suffix);
/* Wipes a string that held credentials or env values, then frees it. */
void docker__secret_free(char *s);

/* Error messages. socket_error: what went wrong reaching the socket, in terms
 * a user can act on. engine_message: the engine's message from an error body
 * (1 when it was {"message": …}, 0 for raw text). proxy_denied: -1 with a
 * message when a 403 came from a socket proxy, else 0. engine_error: the
 * message for any 3xx-5xx answer. Those that fill err return -1. */
int docker__socket_error(const struct docker *d, int e, char *err);
int docker__engine_message(const char *data, size_t len, char *msg, size_t msglen);
int docker__proxy_denied(const char *method, const char *path, long status, const char *data,
    size_t len, char *err);
int docker__engine_error(const char *method, const char *path, long status, const char *data,
    size_t len, char *err);

/* Registry credentials (docker_pull.c; here for the unit test): *header is
 * "X-Registry-Auth: <base64url of the JSON the engine takes>" for registry
 * ("docker.io" for Docker Hub) from the docker CLI's config.json, NULL when it
 * has none for that registry. The caller frees it with docker__secret_free. */
int docker__registry_auth(const char *registry, char **header, char *err);
/* The same for the registry an image reference names. */
int docker__image_auth(const char *ref, char **header, char *err);

#endif
