/*
 * util: allocation that cannot fail silently, bounded growable buffers, error
 * strings, and the file helpers every module shares (capped reads, atomic writes).
 */
#ifndef RECONCILER_UTIL_H
#define RECONCILER_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Every function that can fail for a reason a user must read takes `char *err`
 * pointing at ERR_LEN bytes and fills it: lowercase, no full stop. */
#define ERR_LEN 512

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Frees the n strings of v, then v. */
void strv_free(char **v, size_t n);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats into err (ERR_LEN bytes) and returns -1, for `return errf(err, …)`. */
int errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable byte buffer with a cap; always NUL-terminated. */
struct buf {
	char *data;
	size_t len;
	size_t cap;	/* allocated */
	size_t max;	/* 0 = unbounded */
};
#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
/* Return -1 (and leave b unchanged) when the cap would be passed. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Hands the data to the caller; b is empty afterwards. */
char *buf_detach(struct buf *b, size_t *len);

/* Reads a whole file of at most max bytes; NUL-terminated. */
int file_read(const char *path, size_t max, char **out, size_t *len, char *err);
/* Writes data to path through a temporary file in the same directory, fsync,
 * rename, fsync of the directory. mode < 0 keeps the mode of an existing file
 * (0644 for a new one). Nothing is left behind on failure. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode, char *err);

/* Monotonic milliseconds, and a sleep in milliseconds. */
long long now_ms(void);
void sleep_ms(long ms);

/* Takes the exclusive lock <dir>/lock (creating dir 0700 if needed); *fd
 * holds it until closed. -1 with err when another process has it. */
int dir_lock(const char *dir, int *fd, char *err);

/* Removes a directory tree (no symlinks followed); 0 or -1. */
int rmtree(const char *path);

/* Strict UTF-8 check (no overlongs, no surrogates); returns the offset of the
 * first bad byte or (size_t)-1 when valid. */
size_t utf8_invalid_at(const char *s, size_t len);

/* Parses a whole decimal integer within [min, max]; -1 on anything else
 * (trailing text, overflow, empty), where atoi would say 0 or a prefix. */
int int_parse(const char *s, long min, long max, long *out);

/* Parses "1h30m", "500ms", "10s", "0" into milliseconds; -1 on error, with
 * errno ERANGE when the text is a duration too big (over INT64_MAX / 4 ms),
 * EINVAL when it is not a duration. */
int duration_parse(const char *s, int64_t *ms);
/* Writes a duration in its shortest canonical form ("1m30s"). */
void duration_format(int64_t ms, char *out, size_t outlen);

/* Levenshtein distance, for "did you mean" hints. */
size_t edit_distance(const char *a, const char *b);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* A repository URL fit to show (status, logs, errors): scheme://user:pass@…
 * loses ":pass", and http(s) URLs lose their user information entirely (a
 * token often stands there as the user). scp-like user@host:path and URLs
 * without user information are kept. Returns a copy (caller frees). */
char *url_redact(const char *url);
/* 1 when scheme://user:pass@… carries a password. */
int url_has_password(const char *url);

#include "banned.h"

#endif
