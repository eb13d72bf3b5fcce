/*
 * docker_exec: runs a command in a running container (POST
 * /containers/{id}/exec, then POST /exec/{id}/start on a raw unix socket of its
 * own, upgraded, so stdin can be half-closed) and pumps stdin in and the
 * multiplexed output out until the process ends; see docker.h.
 */
#include "docker_int.h"
#include "sockio.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HEAD_MAX_LEN (16u << 10)	/* response head of the hijacked exec */
#define ERRBODY_MAX_LEN (64u << 10)	/* error body read off the raw socket */
#define IO_CHUNK (64u << 10)

struct exec_out {
	docker_output_cb cb;
	void *payload;
	struct buf syserr;	/* stream 3: the engine's own error text */
};

static int
exec_output(int stream, const char *data, size_t len, void *payload)
{
	struct exec_out *o = payload;

	if (stream == 3) {
		buf_add(&o->syserr, data, len);	/* truncated at its cap, fine */
		return 0;
	}
	return o->cb ? o->cb(stream, data, len, o->payload) : 0;
}

/* Value of header name in a response head (case-insensitive), or NULL. */
static const char *
head_value(const char *head, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *p = strstr(head, "\r\n");

	while (p && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ' || *v == '\t')
				v++;
			*vlen = e ? (size_t)(e - v) : strlen(v);
			return v;
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

/* One upgraded exec connection and what is in flight on it. */
struct exec_conn {
	struct docker *d;
	const struct docker_exec_options *opts;
	struct exec_out *o;
	const char *what;	/* "exec 'cmd' in 'container'", to start each message */
	long long deadline;
	int fd;
	char *rbuf;		/* IO_CHUNK bytes, what one read takes */
	char *ibuf;		/* IO_CHUNK bytes of stdin, sent up to ipos of ilen */
	size_t ipos, ilen;
	int in_open;		/* stdin is still to be read and sent */
	struct docker_demux dm;
};

/* Sends POST /exec/{id}/start and reads the answer's head into head, along
 * with whatever stream bytes came with it (from *skip on). */
static int
exec_start(struct exec_conn *c, const char *exec_id, struct buf *head, size_t *skip,
    long *status, char *err)
{
	static const char body[] = "{\"Detach\":false,\"Tty\":false}";
	struct buf req;
	char *end;
	int rc = -1;

	buf_init(&req, 0);
	buf_addf(&req, "POST %s/exec/%s/start HTTP/1.1\r\nHost: docker\r\n"
	    "User-Agent: reconciler/%s\r\nContent-Type: application/json\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
	    c->d->prefix, exec_id, RECONCILER_VERSION, sizeof(body) - 1, body);
	c->d->calls++;
	if (fd_send_all(c->fd, req.data, req.len, c->deadline) < 0) {
		errf(err, "%s: sending the exec start request: %s", c->what, strerror(errno));
		goto out;
	}
	/* the response head; whatever follows it is already stream */
	while (!(end = head->data ? strstr(head->data, "\r\n\r\n") : NULL)) {
		ssize_t n = fd_recv(c->fd, c->rbuf, IO_CHUNK, c->deadline);

		if (n <= 0) {
			errf(err, "%s: %s before the engine answered the exec start", c->what,
			    n == 0 ? "connection closed" : strerror(errno));
			goto out;
		}
		if (head->len > HEAD_MAX_LEN || buf_add(head, c->rbuf, (size_t)n) < 0) {
			errf(err, "%s: exec start answer head larger than %u bytes", c->what,
			    HEAD_MAX_LEN);
			goto out;
		}
	}
	*skip = (size_t)(end + 4 - head->data);
	if (strncmp(head->data, "HTTP/1.", 7) != 0 || head->len < 12 ||
	    !isdigit((unsigned char)head->data[9])) {
		errf(err, "%s: not an HTTP answer to exec start", c->what);
		goto out;
	}
	*status = strtol(head->data + 9, NULL, 10);
	rc = 0;
out:
	buf_release(&req);
	return rc;
}

/* An error answer to exec start: its body says why. Returns -1. */
static int
exec_refused(struct exec_conn *c, const char *exec_id, const struct buf *head, size_t skip,
    long status, char *err)
{
	struct buf eb;
	size_t vlen = 0;
	const char *cl = head_value(head->data, "Content-Length", &vlen);
	long long want = cl ? strtoll(cl, NULL, 10) : -1;
	long long until = now_ms() + 1000 < c->deadline ? now_ms() + 1000 : c->deadline;
	char path[160];

	buf_init(&eb, ERRBODY_MAX_LEN);
	buf_add(&eb, head->data + skip, head->len - skip);
	while (want < 0 || (long long)eb.len < want) {
		ssize_t n = fd_recv(c->fd, c->rbuf, IO_CHUNK, cl ? c->deadline : until);

		if (n <= 0 || buf_add(&eb, c->rbuf, (size_t)n) < 0)
			break;
	}
	snprintf(path, sizeof(path), "/exec/%.64s/start", exec_id);
	docker__engine_error("POST", path, status, eb.data, eb.len, err);
	buf_release(&eb);
	return -1;
}

/* Reads what the socket holds into the demultiplexer: 1 at the end of the
 * output, 0 to go on, -1 on error. */
static int
exec_read_output(struct exec_conn *c, char *err)
{
	char derr[ERR_LEN];
	ssize_t r = recv(c->fd, c->rbuf, IO_CHUNK, 0);

	/* a reset after the output is how the engine hangs up on stdin it did
	 * not read; a cut frame still shows at docker_demux_finish */
	if (r == 0 || (r < 0 && errno == ECONNRESET))
		return 1;
	if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return errf(err, "%s: reading the output: %s", c->what, strerror(errno));
	if (r > 0 && docker_demux_feed(&c->dm, c->rbuf, (size_t)r, exec_output, c->o, derr) < 0)
		return errf(err, "%s: %s", c->what, derr);
	return 0;
}

/* Sends the next piece of stdin, asking the callback for more when all it
 * gave was sent. */
static int
exec_write_input(struct exec_conn *c, char *err)
{
	const struct docker_exec_options *opts = c->opts;
	ssize_t w;

	if (c->ipos == c->ilen) {
		ssize_t got = opts->input(c->ibuf, IO_CHUNK, opts->payload);

		if (got < 0 || (size_t)got > IO_CHUNK)
			return errf(err, "%s: the stdin callback failed", c->what);
		c->ipos = 0;
		c->ilen = (size_t)got;
		if (got == 0) {
			/* EOF on stdin: half-close so the process sees it */
			shutdown(c->fd, SHUT_WR);
			c->in_open = 0;
			return 0;
		}
	}
	w = send(c->fd, c->ibuf + c->ipos, c->ilen - c->ipos, MSG_NOSIGNAL);
	if (w > 0) {
		c->ipos += (size_t)w;
	} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		/* the process stopped reading (EPIPE): keep its output */
		c->in_open = 0;
	}
	return 0;
}

/* Moves output and stdin until the engine ends the output or the deadline
 * passes. */
static int
exec_pump(struct exec_conn *c, char *err)
{
	long limit = c->opts->timeout_ms > 0 ? c->opts->timeout_ms : c->d->timeout_ms;

	for (;;) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		long long left = c->deadline - now_ms();
		int n, r;

		if (c->in_open)
			pfd.events |= POLLOUT;
		if (left <= 0)
			return errf(err, "%s: no end within %ld ms (the process may still be "
			    "running in the container)", c->what, limit);
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return errf(err, "%s: poll: %s", c->what, strerror(errno));
		if (n <= 0)
			continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = exec_read_output(c, err)) < 0)
				return -1;
			if (r > 0)
				return 0;
		}
		if (c->in_open && (pfd.revents & POLLOUT) && exec_write_input(c, err) < 0)
			return -1;
	}
}

/*
 * POST /exec/{id}/start on its own connection, upgraded: after the response
 * head the socket carries stdin one way and the multiplexed output the other.
 */
static int
exec_stream(struct docker *d, const char *exec_id, const struct docker_exec_options *opts,
    struct exec_out *o, long long deadline, const char *what, char *err)
{
	struct exec_conn c = { .d = d, .opts = opts, .o = o, .what = what,
		.deadline = deadline, .fd = -1, .in_open = opts->input != NULL,
		.dm = DOCKER_DEMUX_INIT };
	struct buf head;
	char derr[ERR_LEN];
	size_t skip = 0;
	long status = 0;
	int rc = -1;

	c.rbuf = xmalloc(IO_CHUNK);
	/* room for a whole head plus the stream bytes read along with it */
	buf_init(&head, HEAD_MAX_LEN + IO_CHUNK);
	if (docker__connect(d, &c.fd, err) < 0 ||
	    exec_start(&c, exec_id, &head, &skip, &status, err) < 0)
		goto out;
	if (status != 101 && status != 200) {
		exec_refused(&c, exec_id, &head, skip, status, err);
		goto out;
	}
	/* The engine answers 101 to a request that asks for the upgrade: a 200
	 * means something in between dropped the ask. The output still comes
	 * back (until close), but nothing more we send reaches the process. */
	if (status == 200 && c.in_open) {
		errf(err, "%s: exec start was answered 200, not 101: something in front of the "
		    "engine (a socket proxy) did not pass the connection upgrade, so stdin "
		    "cannot reach the process; it must pass the upgrade of POST "
		    "/exec/{id}/start, a request with a body (HAProxy 2.4 to 3.0 cannot; see "
		    "docs/engine-api.md)", what);
		goto out;
	}
	if (docker_demux_feed(&c.dm, head.data + skip, head.len - skip, exec_output, o,
	    derr) < 0) {
		errf(err, "%s: %s", what, derr);
		goto out;
	}
	if (c.in_open)
		c.ibuf = xmalloc(IO_CHUNK);
	if (exec_pump(&c, err) < 0)
		goto out;
	if (docker_demux_finish(&c.dm, derr) < 0) {
		errf(err, "%s: output %s", what, derr);
		goto out;
	}
	rc = 0;
out:
	if (c.fd >= 0)
		close(c.fd);
	free(c.rbuf);
	free(c.ibuf);
	buf_release(&head);
	return rc;
}

int
docker_exec(struct docker *d, const char *container, const struct docker_exec_options *opts,
    int *exit_code, char *err)
{
	struct exec_out o;
	json_t *body = NULL, *res = NULL, *argv, *env;
	char *path = NULL, *what = NULL;
	const char *id;
	long timeout = opts->timeout_ms > 0 ? opts->timeout_ms : d->timeout_ms;
	long long deadline = now_ms() + timeout;
	long pause = 5;
	int rc = -1;

	*exit_code = -1;
	memset(&o, 0, sizeof(o));
	buf_init(&o.syserr, 4096);
	if (docker__check_arg("container", container, err) < 0)
		goto out;
	if (!opts->argv || !opts->argv[0] || !*opts->argv[0]) {
		errf(err, "exec in '%s': empty command", container);
		goto out;
	}
	what = xasprintf("exec '%s' in '%s'", opts->argv[0], container);
	o.cb = opts->output;
	o.payload = opts->payload;
	argv = json_array();
	for (size_t i = 0; opts->argv[i]; i++)
		json_array_append_new(argv, json_string(opts->argv[i]));
	body = json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", opts->input != NULL,
	    "AttachStdout", 1, "AttachStderr", 1, "Tty", 0, "Cmd", argv);
	if (opts->user)
		json_object_set_new(body, "User", json_string(opts->user));
	if (opts->env) {
		env = json_array();
		for (size_t i = 0; opts->env[i]; i++)
			json_array_append_new(env, json_string(opts->env[i]));
		json_object_set_new(body, "Env", env);
	}
	path = docker__path_with("/containers/", container, NULL, "/exec");
	if (docker__call(d, "POST", path, body, timeout, &res, NULL, err) < 0)
		goto out;
	id = json_string_value(json_object_get(res, "Id"));
	if (!id || !*id || docker__check_arg("exec id", id, err) < 0) {
		errf(err, "engine: POST %s: no exec Id in the answer", path);
		goto out;
	}
	if (exec_stream(d, id, opts, &o, deadline, what, err) < 0)
		goto out;
	if (o.syserr.len) {
		errf(err, "%s: engine: %s", what, o.syserr.data);
		goto out;
	}
	/* the stream can end a moment before the engine records the exit code */
	free(path);
	path = docker__path_with("/exec/", id, NULL, "/json");
	for (;;) {
		json_t *ins = NULL, *code;
		long left = (long)(deadline - now_ms());

		if (docker__call(d, "GET", path, NULL, left > 1000 ? left : 1000, &ins, NULL,
		    err) < 0)
			goto out;
		code = json_object_get(ins, "ExitCode");
		if (!json_is_true(json_object_get(ins, "Running")) && json_is_integer(code)) {
			*exit_code = (int)json_integer_value(code);
			json_decref(ins);
			break;
		}
		json_decref(ins);
		if (now_ms() >= deadline) {
			errf(err, "%s: output ended but the process still runs after %ld ms", what,
			    timeout);
			goto out;
		}
		sleep_ms(pause);
		if (pause < 100)
			pause *= 2;
	}
	rc = 0;
out:
	json_decref(body);
	json_decref(res);
	free(path);
	free(what);
	buf_release(&o.syserr);
	return rc;
}
