/*
 * util: allocation that cannot fail silently, bounded growable buffers, error
 * strings, and the file helpers every module shares (capped reads, atomic writes).
 */
#ifndef RECONCILER_UTIL_H
#define RECONCILER_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
/* Writes data to path through a temporary file of a unique name in the same
 * directory (path.tmp.XXXXXX), fsync, rename, fsync of the directory: path
 * holds the old bytes or the new ones, never half of them. mode < 0 keeps the
 * mode of an existing file (0644 for a new one). Nothing is left behind on
 * failure. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode, char *err);
/* The same for a file that must not be replaced: 0 when written, 1 when path
 * already exists (left alone, nothing written), -1 with err. Of two processes
 * making path at once, exactly one writes it. */
int file_write_new(const char *path, const void *data, size_t len, int mode, char *err);

/* Reads a file that holds a secret: as file_read, but no copy of its bytes is
 * left in freed memory, and with private_only a file that group or others may
 * access is refused, as ssh refuses such a private key (the error names the
 * file and says chmod 600). Errors name the file, never its content; errno
 * is the cause (ENOENT: it does not exist). Free *out with secret_free. */
int file_read_secret(const char *path, size_t max, int private_only, char **out, size_t *len,
    char *err);
/* The mode check of file_read_secret alone, for a file another library reads
 * (an ssh key). */
int file_check_private(const char *path, char *err);
/* Wipes len bytes of p, then frees it; NULL is fine. */
void secret_free(char *p, size_t len);

/* Monotonic milliseconds, and a sleep in milliseconds. */
long long now_ms(void);
/* The wall clock in unix milliseconds (comparable with the engine's times). */
long long wall_ms(void);
void sleep_ms(long ms);

/* Takes the exclusive lock <dir>/lock (creating dir 0700 if needed); *fd
 * holds it until closed. -1 with err when another process has it. Two locks
 * on the file: flock(2), which earlier versions took alone, and a POSIX
 * record lock, whose holder F_GETLK names (dir_lock_holder). The holder must
 * not open and close the file again: that would drop the record lock. */
int dir_lock(const char *dir, int *fd, char *err);
/* Who holds dir_lock's lock on dir, asked without taking it (taking it even
 * for an instant could make a starting daemon fail): *pid the holder's PID,
 * 0 when no process holds the record lock. -1 with err when the lock file
 * cannot be read. */
int dir_lock_holder(const char *dir, pid_t *pid, char *err);

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
