/*
 * docker: a small synchronous client for the Docker Engine API over its unix
 * socket (libcurl, plus a raw socket for the hijacked exec stream). A handle
 * owns one curl easy handle (so one keep-alive connection), the socket path and
 * the API version the engine's answers say; every call blocks, so the daemon
 * runs them off its event loop. Use a handle from one thread at a time;
 * separate handles may be used from separate threads. Opening one sends
 * nothing.
 *
 * Conventions: functions return -1 with a message in err (ERR_LEN bytes, or
 * NULL when the caller does not want it) on failure, 0 on success, and 1 where
 * "absent" or "created" is an answer rather than an error (inspect of
 * something that does not exist, an ensure that created). JSON handed in is
 * borrowed; JSON handed out (json_t **out) is a new reference the caller must
 * decref.
 * Engine errors read "engine: <method> <path>: <status>: <engine message>";
 * a 403 that the engine did not write (a socket proxy's refusal) reads
 * "engine denied <method> <path> (403 Forbidden: <its text>): …" and says what
 * to allow.
 * The exact list of endpoints used is in docs/engine-api.md.
 */
#ifndef RECONCILER_DOCKER_H
#define RECONCILER_DOCKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* The API versions this client speaks: it negotiates min(engine, max) and
 * refuses engines below min (Docker 20.10, Debian 12's docker.io, is 1.41). */
#define DOCKER_API_MIN "1.41"
#define DOCKER_API_MAX "1.44"

struct docker;

struct docker_options {
	const char *host;	/* NULL: $DOCKER_HOST, else unix:///var/run/docker.sock */
	long timeout_ms;	/* per call; streaming calls use it as an idle limit */
	size_t max_response;	/* cap on a buffered response body */
	/* The engine's API version when the caller knows it already (what
	 * docker_api_version said on another handle to the same engine):
	 * requests go at it, and nothing asks the engine. "": the oldest this
	 * client speaks, until the first answer says the engine's. */
	char api[16];
};
#define DOCKER_OPTIONS_INIT { NULL, 30000, 16 << 20, "" }

/* Hands back a handle; nothing is sent. Requests go at a provisional API
 * version (opts->api, else DOCKER_API_MIN, which every supported engine
 * takes) until the first answer's Api-Version header says the engine's; a
 * request the engine refused for its version is sent once more at the
 * engine's (the engine refuses before acting). Only unix:// hosts are
 * accepted; a socket that does not exist is an error here, other errors come
 * with the first call. Errors name the socket and what to do about it
 * (dockerd not running, permission denied and which group grants access,
 * timeouts, an engine too old). opts may be NULL for the defaults. */
int docker_open(struct docker **out, const struct docker_options *opts, char *err);
void docker_free(struct docker *d);
/* Borrowed, e.g. "1.41": the version requests go at. Like
 * docker_api_at_least, it asks the engine (GET /_ping) when no answer has
 * said its version yet. */
const char *docker_api_version(struct docker *d);
/* 1 when the negotiated version is at least major.minor. When no answer has
 * said the engine's version yet (and the caller gave none), asks it first;
 * if that fails, 0 (the older way, which every supported engine takes). */
int docker_api_at_least(struct docker *d, int major, int minor);
/* Number of HTTP exchanges made through this handle (benchmarks, tests). */
unsigned long docker_calls(const struct docker *d);
/* Microseconds spent in those exchanges, waiting for the engine. */
long long docker_time_us(const struct docker *d);

/* s percent-encoded for a path or a query value: everything but letters,
 * digits and "-._~" (caller frees). */
char *docker_escape(const char *s);

/* Generic call. path is already URL-escaped and has no version prefix (the
 * client adds /v1.xx). body may be NULL. On 2xx returns the status and sets
 * *out (if out is given) to the parsed body, NULL when the body is empty. On a
 * 4xx/5xx returns -1 with the engine's message in err and the status in
 * *status_out; on a transport failure returns -1 with *status_out 0. */
int docker_call(struct docker *d, const char *method, const char *path, json_t *body,
    json_t **out, long *status_out, char *err);

/* GETs of paths (as docker_call takes them) at once, each on a connection of
 * its own (kept with the handle), so the engine works on them in parallel;
 * n at most 4. 0 with outs[i] each parsed body (NULL when empty), else -1
 * with the message of the first that failed and every outs[i] NULL. */
int docker_get_all(struct docker *d, const char *const *paths, size_t n, json_t **outs,
    char *err);
/* Sends those GETs now and returns: a docker_get_all with the same paths,
 * next on this handle, reads their answers instead of asking again, so the
 * engine works while the caller does. Any other call first drops them. 0,
 * or -1 with err (more than it can send at once). */
int docker_get_all_send(struct docker *d, const char *const *paths, size_t n, char *err);

/* GET /containers/json, optionally filtered by one label ("key" or
 * "key=value"); all = include stopped containers. *out is a JSON array. */
int docker_containers_list(struct docker *d, const char *label_filter, int all,
    json_t **out, char *err);
/* 0 with *out the inspect object, 1 with *out NULL when there is no such
 * container (or image), -1 on error. */
int docker_container_inspect(struct docker *d, const char *id_or_name, json_t **out, char *err);
int docker_image_inspect(struct docker *d, const char *ref, json_t **out, char *err);

/* Pulls ref unless the engine already has it (0 either way). The progress
 * stream is decoded line by line as it arrives; an {"error":…} line fails the
 * pull with the registry's message. Credentials come from the "auths" entry for
 * the registry host in $DOCKER_CONFIG/config.json or ~/.docker/config.json
 * (credential helpers are not run). No overall time limit: the pull fails when
 * the engine stays silent for timeout_ms. */
int docker_image_pull(struct docker *d, const char *ref, char *err);

/* POST /containers/create; config is the full body (Image, Cmd, Env, Labels,
 * HostConfig, NetworkingConfig…), borrowed. name may be NULL. Before API 1.44
 * the engine takes one network at create: when NetworkingConfig.EndpointsConfig
 * has several, the container is created on the primary one (the one
 * HostConfig.NetworkMode names, else the first) and connected to the others
 * before this returns; if a connect fails the container is removed again.
 * (A 1.41 engine accepts a connect to a network that does not exist for a
 * container not yet started and fails the start instead: ensure networks first.)
 * *id_out is the new container's ID (caller frees). */
int docker_container_create(struct docker *d, const char *name, json_t *config,
    char **id_out, char *err);
/* Already started / already stopped (304) count as success. */
int docker_container_start(struct docker *d, const char *id, char *err);
/* Asks the engine to stop within timeout_s before it kills; the HTTP call is
 * given timeout_s plus the handle's timeout. */
int docker_container_stop(struct docker *d, const char *id, int timeout_s, char *err);
/* Never removes volumes (no v=1). A container already gone is success. */
int docker_container_remove(struct docker *d, const char *id, int force, char *err);
int docker_container_rename(struct docker *d, const char *id, const char *new_name, char *err);
/* signal NULL: the engine's default (SIGKILL). */
int docker_container_kill(struct docker *d, const char *id, const char *signal, char *err);
/* Waits until the container is not running; timeout_ms 0 = no limit.
 * *exit_code gets its exit status. */
int docker_container_wait(struct docker *d, const char *id, long timeout_ms, int *exit_code,
    char *err);

/* Create the named network / volume unless it exists: 0 when it existed, 1 when
 * created, -1 on error. create_body (borrowed, may be NULL) holds the creation
 * fields (Driver, Internal, Labels…); Name is set from name. */
int docker_network_ensure(struct docker *d, const char *name, json_t *create_body, char *err);
int docker_volume_ensure(struct docker *d, const char *name, json_t *create_body, char *err);
/* endpoint_config (borrowed, may be NULL): Aliases, IPAMConfig… */
int docker_network_connect(struct docker *d, const char *network, const char *container,
    json_t *endpoint_config, char *err);

/* Output: stream 1 stdout, 2 stderr; return non-zero to abort. Input: fill buf
 * with up to len bytes of stdin, return the count, 0 at end of input (stdin is
 * then closed), -1 to abort. */
typedef int (*docker_output_cb)(int stream, const char *data, size_t len, void *payload);
typedef ssize_t (*docker_input_cb)(char *buf, size_t len, void *payload);

struct docker_exec_options {
	const char *const *argv;	/* NULL-terminated, required */
	const char *user;		/* NULL: the container's user */
	const char *const *env;		/* NULL-terminated "K=V", or NULL */
	docker_output_cb output;	/* NULL: output is discarded */
	docker_input_cb input;		/* NULL: no stdin */
	void *payload;
	long timeout_ms;		/* 0: the handle's timeout */
};
#define DOCKER_EXEC_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, 0 }

/* Runs argv in a running container (non-TTY) and streams its output to
 * opts->output as it arrives; *exit_code gets the process's exit status
 * (a non-zero status is not an error here). On timeout the call fails, but the
 * engine has no way to stop an exec: the process may run on in the container. */
int docker_exec(struct docker *d, const char *container, const struct docker_exec_options *opts,
    int *exit_code, char *err);

/* Decoder for the engine's multiplexed stdout/stderr stream: frames of an
 * 8-byte header (stream, 0, 0, 0, big-endian uint32 length) and a payload.
 * Feed it arbitrary chunks; each piece of payload is handed to cb as it comes
 * (stream 0, stdin echo, is reported as 1; 3 is an engine error message).
 * Frames longer than DOCKER_DEMUX_MAX_FRAME or a malformed header fail: they
 * mean the stream is not multiplexed. After an error, start a new decoder. */
#define DOCKER_DEMUX_MAX_FRAME (16u << 20)
struct docker_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left;	/* payload bytes still to come in this frame */
	int stream;
};
#define DOCKER_DEMUX_INIT { { 0 }, 0, 0, 0 }
int docker_demux_feed(struct docker_demux *m, const char *data, size_t len, docker_output_cb cb,
    void *payload, char *err);
/* At end of stream: -1 if it stopped inside a header or a frame. */
int docker_demux_finish(const struct docker_demux *m, char *err);

/* GET /events filtered by one label (may be NULL), decoded line by line as it
 * arrives; each event object is passed to cb (borrowed). Returns 1 when cb
 * returned non-zero, 0 when timeout_ms passed (0 = no limit) or the engine
 * ended the stream, -1 on error. */
int docker_events(struct docker *d, const char *label_filter, long timeout_ms,
    int (*cb)(json_t *event, void *payload), void *payload, char *err);

/* The same, with what a follower that reopens the stream needs. */
struct docker_events_options {
	const char *label;	/* only objects with this label; NULL: all */
	/* "SECONDS.NANOSECONDS" (the engine's clock): the engine first replays
	 * the events it still holds from then on (inclusive); NULL: live only */
	const char *since;
	/* the same: the engine ends the stream then, even for a client gone
	 * (a socket proxy in between may not pass a close on); NULL: never */
	const char *until;
	long timeout_ms;	/* 0: no limit */
	int (*event)(json_t *event, void *payload);	/* required */
	/* NULL: a line that is not an event (over 1 MiB, not JSON) fails the
	 * stream; else it is skipped and said here */
	void (*skipped)(const char *why, void *payload);
	void *payload;
	const char *container;	/* only this container's events (ID or name); NULL: all */
	/* only these actions (NULL-terminated; "health_status" matches each
	 * "health_status: …"); NULL: all */
	const char *const *actions;
};
#define DOCKER_EVENTS_OPTIONS_INIT { NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL }
int docker_events_follow(struct docker *d, const struct docker_events_options *o, char *err);

/* Swarm mode (docker_swarm.c). The node this engine is: state "inactive",
 * "pending", "active", "error" or "locked"; manager when it can take the
 * swarm's orders (ControlAvailable). */
struct docker_swarm_info {
	char state[16];
	int manager;
	char node_id[80];
	char node_addr[64];
};
int docker_swarm_info(struct docker *d, struct docker_swarm_info *out, char *err);
/* GET /services (with ServiceStatus), /tasks of one service, /nodes,
 * /secrets; label_filter as for containers, may be NULL. Arrays. */
int docker_services_list(struct docker *d, const char *label_filter, json_t **out, char *err);
int docker_tasks_list(struct docker *d, const char *service, json_t **out, char *err);
int docker_nodes_list(struct docker *d, json_t **out, char *err);
int docker_secrets_list(struct docker *d, const char *label_filter, json_t **out, char *err);
/* 1 with *out NULL when there is no such service. */
int docker_service_inspect(struct docker *d, const char *id, json_t **out, char *err);
/* spec is a ServiceSpec (borrowed); the image's registry credentials go
 * along, as for a pull. An update names the version it was based on: if the
 * service changed since, the engine refuses and err says so. */
int docker_service_create(struct docker *d, json_t *spec, char **id_out, char *err);
int docker_service_update(struct docker *d, const char *id, long long version, json_t *spec,
    char *err);
/* The same asking Swarm to go back to the service's previous spec (spec is
 * the current one, as inspected). */
int docker_service_rollback(struct docker *d, const char *id, long long version, json_t *spec,
    char *err);
/* Already gone is success; a service's volumes are never touched. */
int docker_service_remove(struct docker *d, const char *id, char *err);
/* data is the secret's value (at most 500 KiB); labels borrowed, may be NULL. */
int docker_secret_create(struct docker *d, const char *name, const void *data, size_t len,
    json_t *labels, char **id_out, char *err);
int docker_secret_remove(struct docker *d, const char *id, char *err);

/* A container decoded from a GET /containers/json item or from a
 * GET /containers/{id}/json result. Pure; safe on hostile input. */
struct docker_container {
	char *id;
	char *name;	/* without the leading slash */
	char *image;	/* as given at create */
	char *image_id;	/* "sha256:…", NULL if the engine did not say */
	char *state;	/* created, running, exited, … */
	char *status;	/* "Up 3 minutes (healthy)"; list items only, else NULL */
	char *health;	/* "healthy", "unhealthy", "starting", or NULL */
	long long created;	/* unix seconds */
	json_t *labels;	/* owned reference, always an object of strings */
};
/* Validates types; a missing or mistyped required field is an error naming the
 * field. On error *out is left empty (release is still safe). */
int docker_container_from_json(struct docker_container *out, json_t *item, char *err);
void docker_container_release(struct docker_container *c);
/* A time as the engine writes it (RFC 3339, "2024-05-01T10:20:30.123456789Z")
 * in unix milliseconds: 0, or -1 when s is not one. */
int docker_parse_time_ms(const char *s, long long *out);

#endif
