/*
 * listener: the parent's side (see listener.h): the listening socket, the
 * child's life (spawn, restart with a backoff, the reason it died), and the
 * channel, where every message is bounded and checked before it is used;
 * a child that sends a bad one is killed and started again.
 */
#include "listener.h"
#include "log.h"
#include "netaddr.h"
#include "util.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKOFF_MIN_MS	200
#define BACKOFF_MAX_MS	10000
#define STABLE_MS	30000		/* a child that lived this long restarts at once */
#define WRITE_QUEUE_MAX	(64u << 20)	/* answers the child does not read */
/* GETs relayed per second (and at once): past it, 503 without asking the
 * loop's handlers, so that a flood on the listener leaves the loop (and the
 * control socket) time for everything else */
#define RELAY_RATE	200
#define RELAY_BURST	400

struct listener {
	uv_loop_t *loop;
	struct listener_ops ops;
	int fd;			/* the listening socket: the parent never accepts on it */
	int drop;		/* run the child as uid:gid */
	uid_t uid;
	gid_t gid;
	char user[64];
	int log_json;
	struct chan_config cfg;
	/* the child, while one runs */
	uv_process_t proc;
	uv_pipe_t chan;
	int proc_open, chan_open;	/* handles not yet closed */
	pid_t pid;
	struct chan_reader rd;
	uint32_t gen;		/* children started: an answer is for its own */
	int inflight;		/* the child's requests and triggers not yet answered */
	double relay_tokens;	/* RELAY_RATE's bucket */
	long long relay_last;	/* ms */
	long long started;	/* ms */
	uv_timer_t restart;
	int backoff;		/* ms */
	unsigned long restarts;
	/* freed when closing and nothing below is left */
	int closing;
	int handles;		/* open libuv handles (timer, proc, chan) */
	int relays;		/* deferred answers not yet given */
};

static void spawn(struct listener *l);

/* --- lifetime ------------------------------------------------------------- */

static void
maybe_free(struct listener *l)
{
	if (!l->closing || l->handles || l->relays)
		return;
	if (l->fd >= 0)
		close(l->fd);
	chan_reader_release(&l->rd);
	explicit_bzero(&l->cfg, sizeof(l->cfg));
	free(l);
}

static void
handle_closed(uv_handle_t *h)
{
	struct listener *l = h->data;

	if (h == (uv_handle_t *)&l->proc)
		l->proc_open = 0;
	else if (h == (uv_handle_t *)&l->chan)
		l->chan_open = 0;
	l->handles--;
	maybe_free(l);
}

static void
chan_close(struct listener *l)
{
	if (l->chan_open && !uv_is_closing((uv_handle_t *)&l->chan))
		uv_close((uv_handle_t *)&l->chan, handle_closed);
}

/* --- writing to the child --------------------------------------------------- */

struct wreq {
	uv_write_t w;
	char *data;
	size_t len;
	int wipe;		/* it holds secrets */
};

static void
written(uv_write_t *w, int status)
{
	struct wreq *q = (struct wreq *)w;

	if (q->wipe)
		explicit_bzero(q->data, q->len);
	free(q->data);
	free(q);
}

static void
frame_drop(struct buf *frame, int wipe)
{
	if (wipe && frame->data)
		explicit_bzero(frame->data, frame->len);
	buf_release(frame);
}

static void
send_frame(struct listener *l, struct buf *frame, int wipe)
{
	struct wreq *q;
	uv_buf_t b;

	if (!l->chan_open || uv_is_closing((uv_handle_t *)&l->chan)) {
		frame_drop(frame, wipe);
		return;
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&l->chan) > WRITE_QUEUE_MAX) {
		log_error("listener", "the listener child (pid %d) does not read its answers: "
		    "stopping it", (int)l->pid);
		frame_drop(frame, wipe);
		uv_process_kill(&l->proc, SIGKILL);
		chan_close(l);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->data = buf_detach(frame, &b.len);
	q->len = b.len;
	q->wipe = wipe;
	b.base = q->data;
	if (uv_write(&q->w, (uv_stream_t *)&l->chan, &b, 1, written) < 0)
		written(&q->w, -1);
}

static void
send_config(struct listener *l)
{
	struct buf b = BUF_INIT;

	chan_put_config(&b, &l->cfg);
	send_frame(l, &b, 1);
}

/* --- what the child asks ---------------------------------------------------- */

struct relay {
	struct listener *l;
	uint32_t gen, id;
};

/* An answer for the child that asked, if it still runs. */
static void
answer(struct listener *l, uint32_t gen, uint32_t id, struct http_response *r)
{
	struct chan_answer a;
	struct buf b = BUF_INIT;

	if (l->closing || gen != l->gen)
		return;
	l->inflight--;
	memset(&a, 0, sizeof(a));
	a.id = id;
	a.status = r->status;
	snprintf(a.content_type, sizeof(a.content_type), "%s", r->content_type ?
	    r->content_type : "application/json");
	snprintf(a.headers, sizeof(a.headers), "%s", r->extra_headers);
	a.body = r->body.data ? r->body.data : "";
	a.body_len = r->body.len;
	if (a.body_len > CHAN_MAX_TO_CHILD - 4096) {
		a.status = 500;
		a.headers[0] = '\0';
		a.body = "{\"error\": \"the answer is too large for the listener\"}\n";
		a.body_len = strlen(a.body);
	}
	chan_put_answer(&b, &a);
	send_frame(l, &b, 0);
}

static void
relay_done(struct http_response *r, void *payload)
{
	struct relay *t = payload;
	struct listener *l = t->l;

	answer(l, t->gen, t->id, r);
	free(t);
	l->relays--;
	maybe_free(l);
}

/* 1 when a relayed GET may go to the handlers now. */
static int
relay_take(struct listener *l)
{
	long long now = now_ms();

	if (now > l->relay_last) {
		l->relay_tokens += (double)(now - l->relay_last) * RELAY_RATE / 1000.0;
		if (l->relay_tokens > RELAY_BURST)
			l->relay_tokens = RELAY_BURST;
		l->relay_last = now;
	}
	if (l->relay_tokens < 1.0)
		return 0;
	l->relay_tokens -= 1.0;
	return 1;
}

static void
on_request(struct listener *l, const struct chan_request *q)
{
	struct http_request req;
	struct relay *t;

	if (!relay_take(l)) {
		struct http_response r;

		memset(&r, 0, sizeof(r));
		buf_init(&r.body, 0);
		r.status = 503;
		snprintf(r.extra_headers, sizeof(r.extra_headers), "Retry-After: 1\r\n");
		buf_adds(&r.body, "{\"error\": \"too many requests on the listener: try again "
		    "in a second\"}\n");
		answer(l, l->gen, q->id, &r);
		buf_release(&r.body);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	memset(&req, 0, sizeof(req));
	snprintf(req.method, sizeof(req.method), "GET");
	snprintf(req.path, sizeof(req.path), "%s", q->path);
	snprintf(req.query, sizeof(req.query), "%s", q->query);
	snprintf(req.peer, sizeof(req.peer), "%s", q->peer);
	t->l = l;
	t->gen = l->gen;
	t->id = q->id;
	l->relays++;
	http_dispatch(l->ops.get, l->ops.payload, &req, relay_done, t);
}

static void
on_trigger(struct listener *l, const struct chan_trigger *t)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 0);
	r.status = 500;
	l->ops.trigger(t, &r, l->ops.payload);
	answer(l, l->gen, t->id, &r);
	buf_release(&r.body);
}

/* One frame from the child; -1 (err) when it is not one we take. */
static int
on_frame(struct listener *l, int type, const unsigned char *p, size_t n, char *err)
{
	union {
		struct chan_request q;
		struct chan_trigger t;
		struct chan_hook h;
	} m;

	if ((type == CHAN_REQUEST || type == CHAN_TRIGGER) && ++l->inflight > CHAN_MAX_INFLIGHT)
		return errf(err, "more than %d requests unanswered at once", CHAN_MAX_INFLIGHT);
	switch (type) {
	case CHAN_REQUEST:
		if (chan_get_request(p, n, &m.q, err) < 0)
			return -1;
		on_request(l, &m.q);
		return 0;
	case CHAN_TRIGGER:
		if (chan_get_trigger(p, n, &m.t, err) < 0)
			return -1;
		on_trigger(l, &m.t);
		return 0;
	case CHAN_HOOK:
		if (chan_get_hook(p, n, &m.h, err) < 0)
			return -1;
		l->ops.hook(&m.h, l->ops.payload);
		return 0;
	}
	return errf(err, "unknown message type %d", type);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char scratch[65536];	/* the loop is single-threaded */

	b->base = scratch;
	b->len = sizeof(scratch);
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct listener *l = s->data;
	const unsigned char *p;
	size_t len;
	char err[ERR_LEN] = "too much at once";
	int type, rc = 0;

	if (n < 0) {
		chan_close(l);	/* the child is gone or going: its exit says why */
		return;
	}
	if (n == 0)
		return;
	if (chan_feed(&l->rd, b->base, (size_t)n) < 0)
		rc = -1;
	while (rc == 0 && (rc = chan_next(&l->rd, &type, &p, &len, err)) == 1)
		rc = on_frame(l, type, p, len, err) < 0 ? -1 : 0;
	if (rc < 0) {
		/* a child that breaks the protocol is not trusted to go on */
		log_error("listener", "the listener child (pid %d) sent a bad message (%s): "
		    "stopping it", (int)l->pid, err);
		uv_process_kill(&l->proc, SIGKILL);
		chan_close(l);
	}
}

/* --- the child's life ------------------------------------------------------- */

static void
restart_cb(uv_timer_t *t)
{
	spawn(t->data);
}

static void
schedule_restart(struct listener *l, const char *why)
{
	if (l->closing)
		return;
	l->backoff = now_ms() - l->started >= STABLE_MS ? BACKOFF_MIN_MS :
	    l->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff * 2;
	l->restarts++;
	log_error("listener", "%s; starting a new one in %d ms (deployments go on meanwhile)", why,
	    l->backoff);
	uv_timer_start(&l->restart, restart_cb, (uint64_t)l->backoff, 0);
}

static void
exited(uv_process_t *p, int64_t status, int sig)
{
	struct listener *l = p->data;
	char why[256];

	if (sig)
		snprintf(why, sizeof(why), "the listener child (pid %d) was killed by SIG%s (%s)%s",
		    (int)l->pid, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", strsignal(sig),
		    sig == SIGSYS ? ": a system call outside its seccomp allow-list" : "");
	else
		snprintf(why, sizeof(why), "the listener child (pid %d) exited with status %lld",
		    (int)l->pid, (long long)status);
	l->pid = 0;
	l->gen++;	/* answers still on their way were for that one */
	chan_close(l);
	if (!uv_is_closing((uv_handle_t *)&l->proc))
		uv_close((uv_handle_t *)&l->proc, handle_closed);
	if (l->closing)
		return;
	schedule_restart(l, why);
}

/* The child's arguments: the hidden one, then its user's ids and the log
 * format; and an environment of only the sanitizers' settings. */
static void
child_argv(struct listener *l, char *args[8], char bufs[2][32])
{
	/* (uv_spawn takes char *, not const char *) */
	static char name[] = "reconcilerd: listener", child[] = LISTENER_CHILD_ARG;
	static char uid[] = "--uid", gid[] = "--gid", json[] = "--log-json";
	size_t n = 0;

	args[n++] = name;
	args[n++] = child;
	if (l->drop) {
		snprintf(bufs[0], 32, "%u", (unsigned)l->uid);
		snprintf(bufs[1], 32, "%u", (unsigned)l->gid);
		args[n++] = uid;
		args[n++] = bufs[0];
		args[n++] = gid;
		args[n++] = bufs[1];
	}
	if (l->log_json)
		args[n++] = json;
	args[n] = NULL;
}

static void
child_env(char *env[4])
{
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(keep[i]);

		if (v)
			env[n++] = xasprintf("%s=%s", keep[i], v);
	}
	env[n] = NULL;
}

static void
spawn(struct listener *l)
{
	uv_process_options_t o;
	uv_stdio_container_t io[5];
	char *args[8], idbuf[2][32], *env[4];
	char err[ERR_LEN];
	uv_os_sock_t sv[2];
	int rc;

	if (l->closing)
		return;
	l->started = now_ms();
	if ((rc = uv_socketpair(SOCK_STREAM, 0, sv, UV_NONBLOCK_PIPE, 0)) < 0) {
		errf(err, "cannot make the listener child's channel: %s", uv_strerror(rc));
		schedule_restart(l, err);
		return;
	}
	memset(&o, 0, sizeof(o));
	memset(io, 0, sizeof(io));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_IGNORE;
	io[2].flags = UV_INHERIT_FD;	/* the log */
	io[2].data.fd = 2;
	io[3].flags = UV_INHERIT_FD;	/* the listening socket */
	io[3].data.fd = l->fd;
	io[4].flags = UV_INHERIT_FD;	/* the channel */
	io[4].data.fd = sv[1];
	child_argv(l, args, idbuf);
	child_env(env);
	/* the very program that runs, even if its file was replaced since */
	o.file = "/proc/self/exe";
	o.args = args;
	o.env = env;
	o.stdio = io;
	o.stdio_count = 5;
	o.exit_cb = exited;
	l->proc.data = l;
	rc = uv_spawn(l->loop, &l->proc, &o);
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	close(sv[1]);
	l->proc_open = 1;
	l->handles++;
	if (rc < 0) {
		close(sv[0]);
		uv_close((uv_handle_t *)&l->proc, handle_closed);
		errf(err, "cannot start the listener child (/proc/self/exe): %s", uv_strerror(rc));
		schedule_restart(l, err);
		return;
	}
	l->pid = l->proc.pid;
	l->inflight = 0;
	uv_pipe_init(l->loop, &l->chan, 0);
	l->chan.data = l;
	l->chan_open = 1;
	l->handles++;
	chan_reader_release(&l->rd);
	chan_reader_init(&l->rd, CHAN_MAX_TO_PARENT);
	if ((rc = uv_pipe_open(&l->chan, sv[0])) < 0 ||
	    (rc = uv_read_start((uv_stream_t *)&l->chan, alloc_cb, read_cb)) < 0) {
		log_error("listener", "the listener child's channel: %s", uv_strerror(rc));
		uv_process_kill(&l->proc, SIGKILL);
		chan_close(l);
		return;
	}
	send_config(l);
	log_info("listener", "listener child started: pid %d%s%s", (int)l->pid,
	    l->drop ? ", user " : "", l->drop ? l->user : "");
}

/* --- the socket -------------------------------------------------------------- */

static int
bind_socket(struct listener *l, const char *addr, char *err)
{
	struct sockaddr_storage ss;
	char host[128];
	int one = 1;
	socklen_t len;

	if (http_addr_parse(addr, &ss, host, sizeof(host), err) < 0)
		return -1;
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if ((l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errf(err, "cannot listen on %s: socket: %s", addr, strerror(errno));
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l->fd, (struct sockaddr *)&ss, len) < 0 || listen(l->fd, 128) < 0)
		return errf(err, "cannot listen on %s: %s", addr, strerror(errno));
	listener_warn_public(addr);
	return 0;
}

void
listener_warn_public(const char *addr)
{
	struct sockaddr_storage ss;
	char host[128], err[ERR_LEN];

	if (http_addr_parse(addr, &ss, host, sizeof(host), err) == 0 && !netaddr_is_loopback(host))
		log_warn("start", "listen: %s is not a loopback address: whoever reaches it can "
		    "read the status page, /metrics and /v1/ (status, diff, history, backups) "
		    "and knock on the webhooks; keep it on 127.0.0.1 behind a TLS reverse proxy "
		    "that forwards only /hooks/ (docs/security.md)", addr);
}

/* Whom the child runs as: only root can change it. */
static int
resolve_user(struct listener *l, const char *user, char *err)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (!user || !*user)
		return errf(err, "listener_user is empty: name an unprivileged user (e.g. nobody)");
	errno = 0;
	if (!(pw = getpwnam(user)))
		return errf(err, "listener_user '%s': no such user%s%s", user, errno ? ": " : "",
		    errno ? strerror(errno) : "");
	if (pw->pw_uid == 0)
		return errf(err, "listener_user '%s' is root: name an unprivileged user", user);
	l->drop = 1;
	l->uid = pw->pw_uid;
	l->gid = pw->pw_gid;
	snprintf(l->user, sizeof(l->user), "%s", user);
	return 0;
}

int
listener_open(struct listener **out, uv_loop_t *loop, const struct listener_options *o,
    const struct listener_ops *ops, const struct chan_config *cfg, char *err)
{
	struct listener *l = xcalloc(1, sizeof(*l));

	*out = NULL;
	l->fd = -1;
	l->loop = loop;
	l->ops = *ops;
	l->cfg = *cfg;
	l->log_json = o->log_json;
	l->backoff = BACKOFF_MIN_MS / 2;
	l->relay_tokens = RELAY_BURST;
	l->relay_last = now_ms();
	chan_reader_init(&l->rd, CHAN_MAX_TO_PARENT);
	if (resolve_user(l, o->user, err) < 0 || bind_socket(l, o->addr, err) < 0) {
		l->closing = 1;
		maybe_free(l);
		return -1;
	}
	uv_timer_init(loop, &l->restart);
	l->restart.data = l;
	l->handles++;
	spawn(l);
	*out = l;
	return 0;
}

void
listener_configure(struct listener *l, const struct chan_config *cfg)
{
	if (!l)
		return;
	explicit_bzero(&l->cfg, sizeof(l->cfg));
	l->cfg = *cfg;
	send_config(l);
}

void
listener_close(struct listener *l)
{
	if (!l || l->closing)
		return;
	l->closing = 1;
	uv_timer_stop(&l->restart);
	uv_close((uv_handle_t *)&l->restart, handle_closed);
	/* the child goes at the channel's end; SIGTERM in case it is stuck */
	chan_close(l);
	if (l->proc_open && l->pid) {
		uv_process_kill(&l->proc, SIGTERM);
		uv_close((uv_handle_t *)&l->proc, handle_closed);
	}
	maybe_free(l);
}

pid_t
listener_pid(const struct listener *l)
{
	return l ? l->pid : 0;
}

unsigned long
listener_restarts(const struct listener *l)
{
	return l ? l->restarts : 0;
}
