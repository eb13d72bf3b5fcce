/*
 * listener: the TCP listener, privilege-separated (docs/process-model.md).
 * reconcilerd binds the socket, then runs a child, its own program again
 * (`reconcilerd --listener-child`), that holds only that socket and one end
 * of a socketpair: it accepts, parses, judges webhooks with the secrets the
 * parent sends it, refuses what may change something, and asks the parent,
 * in small checked messages (chan.h), for the pages it serves and for a
 * cycle. The parent restarts it when it dies, saying why; nothing the
 * parent does waits on it. This file: the parent's side (listener.c) and the
 * child's entry point (listener_child.c).
 */
#ifndef RECONCILER_LISTENER_H
#define RECONCILER_LISTENER_H

#include <sys/types.h>
#include <uv.h>

#include "chan.h"
#include "httpd.h"

/* The hidden first argument that makes reconcilerd the child. */
#define LISTENER_CHILD_ARG "--listener-child"

/* What the parent does with the child's messages, on the loop. */
struct listener_ops {
	/* a GET to answer, as a request without headers or body (the parent
	 * may defer it: http_defer, http_answer) */
	http_handler get;
	/* an authenticated push to the branch: fill resp (a cycle, or not) */
	void (*trigger)(const struct chan_trigger *t, struct http_response *resp, void *payload);
	/* a webhook request the child answered: count it, log it */
	void (*hook)(const struct chan_hook *h, void *payload);
	void *payload;
};

struct listener_options {
	const char *addr;	/* HOST:PORT */
	const char *user;	/* the child's user when reconcilerd runs as root */
	int log_json;
};

struct listener;

/* Binds addr (a warning when it is not loopback), resolves the user, starts
 * the child. The child gets cfg (copied, and sent again to every child
 * started later). */
int listener_open(struct listener **out, uv_loop_t *loop, const struct listener_options *o,
    const struct listener_ops *ops, const struct chan_config *cfg, char *err);
/* A new config (the secrets changed, a reload): to the child now and later. */
void listener_configure(struct listener *l, const struct chan_config *cfg);
/* Stops the child and closes everything; freed once the last handle and the
 * last deferred answer are done. */
void listener_close(struct listener *l);
/* Logs a warning when addr (HOST:PORT) is not a loopback address. */
void listener_warn_public(const char *addr);
/* The running child's pid (0 when none), and how many times it was restarted. */
pid_t listener_pid(const struct listener *l);
unsigned long listener_restarts(const struct listener *l);

/* The child: reconcilerd's main hands over when argv[1] is LISTENER_CHILD_ARG. */
int listener_child_main(int argc, char **argv);

#endif
