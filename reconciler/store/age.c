/*
 * age: see age.h.
 */
#include "age.h"
#include "subproc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The age file is at most the plaintext, a header of one stanza per
 * recipient and 16 bytes per 64 KiB chunk; 1 MiB of room is plenty. */
#define AGE_OVERHEAD	(1u << 20)

/* age's reason: its "age: error: …" line (a hint to report bugs follows it,
 * last), else the last line it wrote. */
static void
reason(const struct subproc_result *r, char *out, size_t len)
{
	const char *e = r->errout ? strstr(r->errout, "error: ") : NULL;

	if (e) {
		e += 7;
		snprintf(out, len, "%.*s", (int)strcspn(e, "\r\n"), e);
		return;
	}
	subproc_last_line(r, out, len);
}

static int
run(const char *const argv[], const void *in, size_t inlen, size_t max,
    struct subproc_result *r, const char *what, char *err)
{
	char e[ERR_LEN], line[512];

	if (!subproc_have(AGE_PROGRAM))
		return errf(err, "%s: the program '%s' is not installed (apt-get install age)", what,
		    AGE_PROGRAM);
	if (subproc_run(argv, in, inlen, max, AGE_TIMEOUT_MS, r, e) < 0)
		return errf(err, "%s: %s", what, e);
	if (r->status != 0) {
		reason(r, line, sizeof(line));
		return errf(err, "age: %s", *line ? line : r->status < 0 ?
		    "killed (deadline or signal)" : "failed");
	}
	return 0;
}

int
age_decrypt(const char *identity, const void *in, size_t inlen, size_t max, char **out,
    size_t *outlen, char *err)
{
	const char *argv[] = { AGE_PROGRAM, "--decrypt", "-i", identity, NULL };
	struct subproc_result r;
	int rc;

	*out = NULL;
	*outlen = 0;
	memset(&r, 0, sizeof(r));
	/* the identity is the key to every secret: refused as ssh refuses a key */
	if (file_check_private(identity, err) < 0)
		return -1;
	rc = run(argv, in, inlen, max, &r, "cannot decrypt", err);
	if (rc == 0 && r.out) {
		*out = r.out;
		*outlen = r.outlen;
		r.out = NULL;
		r.outlen = 0;
	}
	subproc_result_release(&r);
	return rc;
}

int
age_encrypt(const char *recipients_file, const void *in, size_t inlen, char **out,
    size_t *outlen, char *err)
{
	const char *argv[] = { AGE_PROGRAM, "--encrypt", "-R", recipients_file, NULL };
	struct subproc_result r;
	int rc;

	*out = NULL;
	*outlen = 0;
	memset(&r, 0, sizeof(r));
	rc = run(argv, in, inlen, inlen + AGE_OVERHEAD, &r, "cannot encrypt", err);
	if (rc == 0 && r.out) {
		*out = xmalloc(r.outlen + 1);
		memcpy(*out, r.out, r.outlen);
		(*out)[r.outlen] = '\0';
		*outlen = r.outlen;
	}
	subproc_result_release(&r);
	return rc;
}
