/*
 * subproc: see subproc.h.
 */
#include "subproc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int
subproc_have(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *d, *save = NULL;
	int found = 0;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);

		found = access(p, X_OK) == 0;
		free(p);
	}
	free(dirs);
	return found;
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* Writes what stdin still has to take; SIGPIPE is blocked in this thread
 * for the call and a pending one taken, so a child that exits without
 * reading its input cannot kill the caller. 0, or -1 once stdin is closed. */
static int
feed(int fd, const char *in, size_t inlen, size_t *off)
{
	sigset_t pipe_set, old;
	ssize_t n;
	int rc = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, in + *off, inlen - *off);
	if (n > 0)
		*off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		rc = -1;
	if (rc < 0 && errno == EPIPE) {
		struct timespec zero = { 0, 0 };

		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Reads what fd has into b; 1 at its end, 0 for more, -1 over the cap. */
static int
drain(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n == 0)
		return 1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	return buf_add(b, chunk, (size_t)n) < 0 ? -1 : 0;
}

/* The exchange with a started child: stdin fed, both outputs read, until
 * both outputs end, the deadline passes or an output overflows. */
static int
exchange(pid_t pid, int fin, int fout, int ferr, const void *in, size_t inlen,
    long timeout_ms, struct buf *out, struct buf *errb, char *err)
{
	long long deadline = now_ms() + timeout_ms;
	size_t off = 0;
	int open_out = 1, open_err = 1, rc = 0;

	if (inlen == 0) {
		close(fin);
		fin = -1;
	}
	while (open_out || open_err) {
		struct pollfd p[3] = { { fout, POLLIN, 0 }, { ferr, POLLIN, 0 }, { fin, POLLOUT, 0 } };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0) {
			rc = errf(err, "%s did not finish within %ld ms", "the child", timeout_ms);
			break;
		}
		p[0].fd = open_out ? fout : -1;
		p[1].fd = open_err ? ferr : -1;
		r = poll(p, 3, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR) {
			rc = errf(err, "poll: %s", strerror(errno));
			break;
		}
		if (fin >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (feed(fin, in, inlen, &off) < 0 || off == inlen) {
				close(fin);
				fin = -1;
			}
		}
		if (open_out && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (r = drain(fout, out)) != 0) {
			if (r < 0) {
				rc = errf(err, "its output is over %zu bytes", out->max);
				break;
			}
			open_out = 0;
		}
		if (open_err && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    drain(ferr, errb) != 0)
			open_err = 0;	/* stderr past the cap: the rest is dropped */
	}
	if (fin >= 0)
		close(fin);
	if (rc < 0)
		kill(pid, SIGKILL);
	return rc;
}

static int
spawn_child(pid_t *pid, const char *const argv[], int pin[2], int pout[2], int perr[2],
    char *err)
{
	posix_spawn_file_actions_t fa;
	int e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	/* nothing of the caller's (sockets, the journal, the lock) */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	e = posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		return errf(err, "cannot run %s: %s", argv[0], strerror(e));
	return 0;
}

int
subproc_run(const char *const argv[], const void *in, size_t inlen, size_t max_out,
    long timeout_ms, struct subproc_result *r, char *err)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, rc = -1, ws;
	struct buf out, errb;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	buf_init(&out, max_out);
	buf_init(&errb, max_out);
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
	    pipe2(perr, O_CLOEXEC) < 0) {
		errf(err, "pipe: %s", strerror(errno));
		goto out;
	}
	if (spawn_child(&pid, argv, pin, pout, perr, err) < 0)
		goto out;
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	rc = exchange(pid, pin[1], pout[0], perr[0], in, inlen, timeout_ms, &out, &errb, err);
	pin[1] = -1;	/* exchange closed it */
	if (rc < 0) {
		char why[ERR_LEN];

		snprintf(why, sizeof(why), "%s", err);
		errf(err, "%s: %s", argv[0], why);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (rc == 0)
		r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
out:
	close_pair(pin);
	close_pair(pout);
	close_pair(perr);
	r->out = buf_detach(&out, &r->outlen);	/* NUL-terminated */
	r->errout = buf_detach(&errb, &r->errlen);
	return rc;
}

void
subproc_result_release(struct subproc_result *r)
{
	if (r->out)
		secret_free(r->out, r->outlen + 1);
	free(r->errout);
	memset(r, 0, sizeof(*r));
	r->status = -1;
}

void
subproc_last_line(const struct subproc_result *r, char *out, size_t len)
{
	const char *s = r->errout ? r->errout : "", *end = s + strlen(s), *b;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	for (b = end; b > s && b[-1] != '\n'; b--)
		;
	snprintf(out, len, "%.*s", (int)(end - b), b);
}
