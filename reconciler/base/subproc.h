/*
 * subproc: runs one of the well-kept tools the reconciler trusts with
 * cryptography (ssh-keygen, gpgv, age) as a child process, never through a
 * shell: its stdin fed from memory, its stdout and stderr read into bounded
 * buffers, killed at a deadline. Safe from any thread; the child inherits
 * no descriptor but the three pipes.
 */
#ifndef RECONCILER_SUBPROC_H
#define RECONCILER_SUBPROC_H

#include <stddef.h>

struct subproc_result {
	int status;		/* the exit code; -1 when killed by a signal or the deadline */
	char *out;		/* stdout, NUL-terminated (may hold secrets: secret_free it) */
	size_t outlen;
	char *errout;		/* stderr, NUL-terminated, at most max_out bytes kept */
	size_t errlen;
};

/* Runs argv[0] (an absolute path, or a name looked up in $PATH) with argv,
 * the environment of the caller, stdin the `inlen` bytes of `in` (NULL: an
 * empty stdin). Output over max_out bytes, or a child still running after
 * timeout_ms, is an error (the child is killed). 0 when the child ran to
 * its end, whatever its exit code (r->status); -1 with err when it could not
 * be started or read. Release r with subproc_result_release either way. */
int subproc_run(const char *const argv[], const void *in, size_t inlen, size_t max_out,
    long timeout_ms, struct subproc_result *r, char *err);
/* Frees r's buffers, wiping stdout first (it may be a decrypted secret). */
void subproc_result_release(struct subproc_result *r);
/* The last non-empty line of the child's stderr, without its program prefix,
 * into out (for an error message); "" when it printed nothing. */
void subproc_last_line(const struct subproc_result *r, char *out, size_t len);
/* 1 when the program `name` is found (absolute path or in $PATH). */
int subproc_have(const char *name);

#endif
