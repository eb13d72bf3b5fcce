/*
 * listener_child: the listener child (see listener.h), what `reconcilerd
 * --listener-child` runs. It holds its listening socket (fd 3) and its
 * channel to the parent (fd 4), closes everything else, sandboxes itself
 * (sandbox.h), then serves: a GET is asked of the parent, a webhook is
 * judged here (webhook.h) and only a push to the branch goes to the parent
 * as a trigger, a POST under /v1/ is refused (403: the control socket's).
 */
#include "chan.h"
#include "httpd.h"
#include "listener.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"
#include "webhook.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FD_LISTEN	3
#define FD_CHAN		4
#define PENDING		CHAN_MAX_INFLIGHT	/* requests waiting for the parent */
#define PENDING_MS	120000		/* answered 504 after this long */
#define CONFIG_WAIT_MS	10000

/* The child is one per process: its state is too. */
static struct child {
	uv_loop_t loop;
	uv_pipe_t chan;
	uv_timer_t sweep;
	struct chan_reader rd;
	struct httpd *web;
	struct chan_config cfg;
	struct webhook_rate rate;
	struct {
		uint32_t id;
		struct http_conn *conn;
		long long since;
	} pend[PENDING];
	uint32_t next_id;
} C;

static void __attribute__((noreturn))
die(const char *what, const char *err)
{
	log_error("listener", "listener child: %s: %s", what, err);
	_exit(3);
}

/* --- answers ------------------------------------------------------------------ */

/* What reaches the parent's log and a JSON answer: printable ASCII only
 * (a reason may quote a header of the request). */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s >= 127)
			*s = '?';
}

static void
json_answer(struct http_response *r, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;

	r->status = status;
	buf_adds(&r->body, text ? text : "{}");
	buf_adds(&r->body, "\n");
	free(text);
	json_decref(o);
}

static void
error_answer(struct http_response *r, int status, const char *msg)
{
	json_answer(r, status, json_pack("{s:s}", "error", msg));
}

/* --- the channel ---------------------------------------------------------------- */

struct wreq {
	uv_write_t w;
	char *data;
};

static void
written(uv_write_t *w, int status)
{
	struct wreq *q = (struct wreq *)w;

	free(q->data);
	free(q);
}

static void
send_frame(struct buf *frame)
{
	struct wreq *q = xcalloc(1, sizeof(*q));
	uv_buf_t b;

	q->data = buf_detach(frame, &b.len);
	b.base = q->data;
	if (uv_write(&q->w, (uv_stream_t *)&C.chan, &b, 1, written) < 0)
		written(&q->w, -1);
}

static int
pend_add(struct http_conn *conn, uint32_t *id)
{
	for (size_t i = 0; i < PENDING; i++) {
		if (C.pend[i].conn)
			continue;
		if (++C.next_id == 0)
			C.next_id = 1;
		C.pend[i].id = *id = C.next_id;
		C.pend[i].conn = conn;
		C.pend[i].since = now_ms();
		return 0;
	}
	return -1;
}

static int
pend_full(void)
{
	for (size_t i = 0; i < PENDING; i++)
		if (!C.pend[i].conn)
			return 0;
	return 1;
}

static struct http_conn *
pend_take(uint32_t id)
{
	for (size_t i = 0; i < PENDING; i++)
		if (C.pend[i].conn && C.pend[i].id == id) {
			struct http_conn *c = C.pend[i].conn;

			C.pend[i].conn = NULL;
			return c;
		}
	return NULL;
}

static void
busy(struct http_response *r)
{
	snprintf(r->extra_headers, sizeof(r->extra_headers), "Retry-After: 1\r\n");
	error_answer(r, 503, "too many requests in progress: try again in a second");
}

static void
on_answer(const struct chan_answer *a)
{
	struct http_conn *c = pend_take(a->id);
	struct http_response r;

	if (!c)
		return;	/* timed out meanwhile */
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 0);
	r.status = a->status;
	r.content_type = a->content_type;
	snprintf(r.extra_headers, sizeof(r.extra_headers), "%s", a->headers);
	buf_add(&r.body, a->body, a->body_len);
	http_answer(c, &r);
	buf_release(&r.body);
}

static void
on_config(const struct chan_config *cfg)
{
	explicit_bzero(&C.cfg, sizeof(C.cfg));
	C.cfg = *cfg;
}

static void
chan_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char scratch[65536];

	b->base = scratch;
	b->len = sizeof(scratch);
}

/* The frames read so far. The parent is trusted, but a frame that does not
 * parse is a bug: stop. */
static void
drain(void)
{
	static struct chan_config cfg;	/* large: not on the stack */
	struct chan_answer a;
	const unsigned char *p;
	size_t len;
	char err[ERR_LEN];
	int type, rc;

	while ((rc = chan_next(&C.rd, &type, &p, &len, err)) == 1) {
		if (type == CHAN_ANSWER && chan_get_answer(p, len, &a, err) == 0) {
			on_answer(&a);
		} else if (type == CHAN_CONFIG && chan_get_config(p, len, &cfg, err) == 0) {
			on_config(&cfg);
			explicit_bzero(&cfg, sizeof(cfg));
		} else {
			die("a message from reconcilerd", type == CHAN_ANSWER ||
			    type == CHAN_CONFIG ? err : "of an unknown type");
		}
	}
	if (rc < 0)
		die("the channel", err);
}

static void
chan_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	if (n < 0)
		_exit(0);	/* the parent closed the channel: it stops or replaces us */
	if (n == 0)
		return;
	if (chan_feed(&C.rd, b->base, (size_t)n) < 0)
		die("the channel", "too much at once");
	drain();
}

/* Requests the parent has not answered for long get 504 (the parent may be
 * stuck in a long step; the client is not kept waiting forever). */
static void
sweep_cb(uv_timer_t *t)
{
	long long now = now_ms();

	for (size_t i = 0; i < PENDING; i++) {
		struct http_response r;
		struct http_conn *c = C.pend[i].conn;

		if (!c || now - C.pend[i].since < PENDING_MS)
			continue;
		C.pend[i].conn = NULL;
		memset(&r, 0, sizeof(r));
		buf_init(&r.body, 0);
		error_answer(&r, 504, "reconcilerd did not answer in time");
		http_answer(c, &r);
		buf_release(&r.body);
	}
}

/* --- what the listener serves ---------------------------------------------------- */

static void
forward(const struct http_request *req, struct http_response *r)
{
	struct chan_request q;
	struct buf b = BUF_INIT;

	if (pend_full()) {
		busy(r);
		return;
	}
	memset(&q, 0, sizeof(q));
	snprintf(q.path, sizeof(q.path), "%s", req->path);
	snprintf(q.query, sizeof(q.query), "%s", req->query);
	snprintf(q.peer, sizeof(q.peer), "%s", req->peer);
	pend_add(http_defer(r), &q.id);
	chan_put_request(&b, &q);
	send_frame(&b);
}

/* A POST under /v1/ changes something (a cycle, a backup run): only the
 * control socket, whose mode and group say who may, answers it. */
static void
refuse_post(const struct http_request *req, struct http_response *r)
{
	const char *sock = C.cfg.control;

	json_answer(r, 403, json_pack("{s:o}", "error", json_sprintf("a POST under /v1/ is "
	    "answered only on the control socket%s%s (reconcilerctl uses it: e.g. reconcilerctl "
	    "sync), not on the listener", *sock ? " " : "", *sock ? sock : ", which is off "
	    "(control_socket: \"\")")));
	log_warn("http", "peer=%s: a POST under /v1/ refused on the listener (control socket "
	    "only)", req->peer);
}

/* The delivery ID a sender repeats when it sends a delivery again. */
static void
delivery_id(const struct http_request *req, enum webhook_source s, char *out, size_t n)
{
	const char *v = http_header(req, webhook_delivery_header(s));

	out[0] = '\0';
	if (!v || strlen(v) >= n)
		return;
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c <= 32 || (unsigned char)*c >= 127)
			return;
	snprintf(out, n, "%s", v);
}

static void
judge(const struct http_request *req, struct webhook_request *wr, struct webhook_verdict *v,
    int *wait)
{
	if (!webhook_rate_take(&C.rate, req->peer, now_ms(), wait)) {
		v->status = 429;
		v->outcome = WEBHOOK_RATE_LIMITED;
		snprintf(v->reason, sizeof(v->reason), "too many requests from %s: retry in %ds",
		    req->peer, *wait);
		return;
	}
	if (C.cfg.hook[wr->source].state == CHAN_SECRET_ERROR) {
		v->status = 500;
		v->outcome = WEBHOOK_ERROR;
		snprintf(v->reason, sizeof(v->reason), "webhook secret: %.400s",
		    C.cfg.hook[wr->source].text);
		return;
	}
	wr->signature = http_header(req, wr->source == WEBHOOK_GITHUB ? "X-Hub-Signature-256" :
	    "X-Gitea-Signature");
	wr->authorization = http_header(req, "Authorization");
	wr->event = http_header(req, wr->source == WEBHOOK_GITHUB ? "X-GitHub-Event" :
	    "X-Gitea-Event");
	wr->content_type = http_header(req, "Content-Type");
	wr->body = req->body;
	wr->body_len = req->body_len;
	webhook_judge(wr, C.cfg.hook[wr->source].state == CHAN_SECRET_SET ?
	    (const unsigned char *)C.cfg.hook[wr->source].text : NULL,
	    C.cfg.hook[wr->source].len, C.cfg.branch, v);
}

static void
hook(const struct http_request *req, struct http_response *r)
{
	struct webhook_request wr;
	struct webhook_verdict v;
	struct buf b = BUF_INIT;
	int wait = 0;

	memset(&wr, 0, sizeof(wr));
	memset(&v, 0, sizeof(v));
	if (webhook_source_parse(req->path + 7, &wr.source) < 0) {
		error_answer(r, 404, "no such webhook: use /hooks/github, /hooks/gitea or "
		    "/hooks/generic");
		return;
	}
	judge(req, &wr, &v, &wait);
	sanitize(v.reason);
	if (v.sync) {
		/* the parent decides: a cycle, or none for a delivery it has seen */
		struct chan_trigger t;

		if (pend_full()) {
			busy(r);
			return;
		}
		memset(&t, 0, sizeof(t));
		t.source = (int)wr.source;
		delivery_id(req, wr.source, t.delivery, sizeof(t.delivery));
		snprintf(t.peer, sizeof(t.peer), "%s", req->peer);
		snprintf(t.reason, sizeof(t.reason), "%.*s", (int)sizeof(t.reason) - 1, v.reason);
		pend_add(http_defer(r), &t.id);
		chan_put_trigger(&b, &t);
	} else {
		struct chan_hook h = { (int)wr.source, (int)v.outcome, v.status, "", "" };

		snprintf(h.peer, sizeof(h.peer), "%s", req->peer);
		snprintf(h.reason, sizeof(h.reason), "%s", v.reason);
		chan_put_hook(&b, &h);
		if (v.outcome == WEBHOOK_RATE_LIMITED)
			snprintf(r->extra_headers, sizeof(r->extra_headers), "Retry-After: %d\r\n",
			    wait);
		json_answer(r, v.status, json_pack("{s:s,s:s}", "outcome",
		    webhook_outcome_name(v.outcome), v.status >= 400 ? "error" : "message",
		    v.reason));
	}
	send_frame(&b);
}

static void
front(const struct http_request *req, struct http_response *r, void *payload)
{
	int post = strcmp(req->method, "POST") == 0;

	if (post && strncmp(req->path, "/hooks/", 7) == 0)
		hook(req, r);
	else if (post && strncmp(req->path, "/v1/", 4) == 0)
		refuse_post(req, r);
	else if (strcmp(req->method, "GET") == 0)
		forward(req, r);
	else
		error_answer(r, 405, "method not allowed: the listener answers GET, and POST "
		    "on /hooks/");
}

/* --- start-up ---------------------------------------------------------------- */

/* fd 3 a listening TCP socket, fd 4 a unix stream socket: what the parent
 * gives, and nothing else is left. */
static void
check_fds(void)
{
	int v, d, t;
	socklen_t n = sizeof(v);

	if (getsockopt(FD_LISTEN, SOL_SOCKET, SO_ACCEPTCONN, &v, &n) < 0 || !v ||
	    getsockopt(FD_LISTEN, SOL_SOCKET, SO_DOMAIN, &d, &n) < 0 ||
	    (d != AF_INET && d != AF_INET6))
		die("fd 3", "not a listening TCP socket (reconcilerd starts this itself)");
	if (getsockopt(FD_CHAN, SOL_SOCKET, SO_DOMAIN, &d, &n) < 0 || d != AF_UNIX ||
	    getsockopt(FD_CHAN, SOL_SOCKET, SO_TYPE, &t, &n) < 0 || t != SOCK_STREAM)
		die("fd 4", "not a unix stream socket (reconcilerd starts this itself)");
}

/* What opens a file or reads a seed does it now, before the sandbox:
 * the time zone (strftime, in the log), OpenSSL's first use (libcrypto
 * itself, opened on its first call: reconciler/lazy; its config and
 * providers), jansson's hash seed. */
static void
warm_up(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	json_error_t jerr;
	json_t *o;

	tzset();	/* the log's strftime reads the zone file once */
	json_object_seed(0);
	HMAC(EVP_sha256(), "k", 1, (const unsigned char *)"x", 1, md, &len);
	SHA256((const unsigned char *)"x", 1, md);
	o = json_loads("{\"a\": [1]}", JSON_REJECT_DUPLICATES, &jerr);
	json_decref(o);
}

/* The first config, read before the loop starts (blocking, bounded in time):
 * the child serves nothing it cannot judge. */
static void
first_config(void)
{
	static struct chan_config cfg;
	char buf[65536], err[ERR_LEN] = "too much at once";
	const unsigned char *p = NULL;
	size_t len = 0;
	int type = 0, rc = 0;
	struct pollfd pfd = { FD_CHAN, POLLIN, 0 };

	chan_reader_init(&C.rd, CHAN_MAX_TO_CHILD);
	while (rc == 0) {
		ssize_t n;

		if (poll(&pfd, 1, CONFIG_WAIT_MS) <= 0)
			die("the channel", "no config from reconcilerd in time");
		if ((n = read(FD_CHAN, buf, sizeof(buf))) <= 0) {
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;	/* (libuv made it non-blocking) */
			_exit(0);	/* the parent is gone */
		}
		if (chan_feed(&C.rd, buf, (size_t)n) < 0)
			die("the channel", err);
		rc = chan_next(&C.rd, &type, &p, &len, err);
	}
	if (rc < 0 || type != CHAN_CONFIG || chan_get_config(p, len, &cfg, err) < 0)
		die("the first message from reconcilerd", rc < 0 || type == CHAN_CONFIG ? err :
		    "not a config");
	on_config(&cfg);
	explicit_bzero(&cfg, sizeof(cfg));
	explicit_bzero(buf, sizeof(buf));
}

static void
parse_args(int argc, char **argv, long *uid, long *gid)
{
	int json = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--log-json") == 0)
			json = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--uid") == 0)
			int_parse(argv[++i], 1, 0x7fffffff, uid);
		else if (i + 1 < argc && strcmp(argv[i], "--gid") == 0)
			int_parse(argv[++i], 0, 0x7fffffff, gid);
		else
			die("arguments", "unknown (this mode is reconcilerd's own)");
	}
	log_setup(json ? LOG_JSON : LOG_TEXT, LOG_INFO);
}

/* The loop, its server on fd 3 and its channel on fd 4, not yet running:
 * libuv opens what it keeps (/dev/null, for running out of descriptors)
 * now, while it can. */
static void
loop_init(void)
{
	char err[ERR_LEN];
	int rc;

	uv_loop_init(&C.loop);
	if (httpd_open_fd(&C.web, &C.loop, FD_LISTEN, front, NULL, err) < 0)
		die("the listening socket", err);
	uv_pipe_init(&C.loop, &C.chan, 0);
	if ((rc = uv_pipe_open(&C.chan, FD_CHAN)) < 0)
		die("the channel", uv_strerror(rc));
	uv_timer_init(&C.loop, &C.sweep);
}

/* Everything before the first byte from the network: the descriptors, the
 * name, the signals, what must be opened first, the root directory and the
 * user, the limits. */
static void
confine(long uid, long gid)
{
	char err[ERR_LEN];

	if (sandbox_close_from(FD_CHAN + 1, err) < 0)
		die("closing descriptors", err);
	check_fds();
	prctl(PR_SET_NAME, "rcd-listener", 0, 0, 0);
	/* the parent handles these; a terminal's ^C reaches the whole group */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	warm_up();
	loop_init();
	if (geteuid() == 0) {
		if (uid < 0 || gid < 0)
			die("privileges", "started as root without --uid and --gid");
		/* the seccomp filter denies opening files anyway: this is one more wall */
		if (sandbox_chroot_empty(err) < 0)
			log_warn("listener", "listener child: no empty root directory (%s): going "
			    "on without it", err);
		if (sandbox_drop((uid_t)uid, (gid_t)gid, err) < 0)
			die("dropping privileges", err);
	}
	if (sandbox_limits(HTTPD_TCP_MAX_CONNS + 32, err) < 0)
		die("limits", err);
	/* after the user change, which clears it; a dead parent closes fd 4 too */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

int
listener_child_main(int argc, char **argv)
{
	char err[ERR_LEN];
	long uid = -1, gid = -1;
	int rc;

	parse_args(argc, argv, &uid, &gid);
	confine(uid, gid);
	first_config();
	if ((rc = uv_read_start((uv_stream_t *)&C.chan, chan_alloc, chan_read)) < 0)
		die("the channel", uv_strerror(rc));
	drain();	/* what came with the first config */
	uv_timer_start(&C.sweep, sweep_cb, 5000, 5000);
	uid = (long)getuid();
	if (sandbox_seccomp(err) < 0)
		die("seccomp", err);
	log_info("listener", "listener child: serving (pid %d, uid %ld, seccomp filter loaded)",
	    (int)getpid(), uid);
	uv_run(&C.loop, UV_RUN_DEFAULT);
	_exit(0);
}
