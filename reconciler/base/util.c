/*
 * util: the small shared helpers; see util.h.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return s;
}

int
errf(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, ERR_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	size_t want;

	if (b->max && (len > b->max || b->len > b->max - len))
		return -1;
	want = b->len + len + 1;
	if (want > b->cap || !b->data) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < want)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	rc = buf_add(b, s, (size_t)n);
	free(s);
	return rc;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (!b->data)
		buf_add(b, "", 0);
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int
file_read(const char *path, size_t max, char **out, size_t *len, char *err)
{
	struct buf b;
	char chunk[65536];
	ssize_t n;
	int fd, rc = -1;

	buf_init(&b, max);
	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errf(err, "cannot open '%s': %s", path, strerror(errno));
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			errf(err, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_add(&b, chunk, (size_t)n) < 0) {
			errf(err, "'%s' is larger than %zu bytes", path, max);
			goto out;
		}
	}
	*out = buf_detach(&b, len);
	rc = 0;
out:
	close(fd);
	buf_release(&b);
	return rc;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes data to a new temporary file beside path, named path.tmp.XXXXXX
 * (unique: a file a crash left behind, whatever its name, is never in the
 * way), and syncs it. *tmp is its name (caller frees) on success. */
static int
tmp_write(const char *path, const void *data, size_t len, int mode, char **tmp, char *err)
{
	char *name = xasprintf("%s.tmp.XXXXXX", path);
	int fd;

	*tmp = NULL;
	if ((fd = mkostemp(name, O_CLOEXEC)) < 0) {
		errf(err, "cannot create a temporary file beside '%s': %s", path, strerror(errno));
		free(name);
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		errf(err, "cannot write '%s': %s", name, strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) < 0) {
		errf(err, "cannot write '%s': %s", name, strerror(errno));
		goto fail;
	}
	*tmp = name;
	return 0;
fail:
	unlink(name);
	free(name);
	return -1;
}

static void
fsync_parent(const char *path)
{
	char *dcopy = xstrdup(path);
	int dfd;

	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dcopy);
}

int
file_write_atomic(const char *path, const void *data, size_t len, int mode, char *err)
{
	struct stat st;
	char *tmp;

	if (mode < 0)
		mode = stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : 0644;
	if (tmp_write(path, data, len, mode, &tmp, err) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		errf(err, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	fsync_parent(path);
	return 0;
}

int
file_write_new(const char *path, const void *data, size_t len, int mode, char *err)
{
	char *tmp;
	int rc = 0;

	if (tmp_write(path, data, len, mode, &tmp, err) < 0)
		return -1;
	/* link, unlike rename, fails when path exists: whole file or nothing */
	if (link(tmp, path) < 0) {
		if (errno == EEXIST)
			rc = 1;
		else
			rc = errf(err, "cannot create '%s': %s", path, strerror(errno));
	}
	unlink(tmp);
	free(tmp);
	if (rc == 0)
		fsync_parent(path);
	return rc;
}

void
secret_free(char *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* errf keeping errno, for the callers that tell ENOENT from the rest */
static int
errf_errno(char *err, int e, const char *verb, const char *path)
{
	errf(err, "cannot %s '%s': %s", verb, path, strerror(e));
	errno = e;
	return -1;
}

static int
mode_private(const char *path, const struct stat *st, char *err)
{
	if (!(st->st_mode & 077))
		return 0;
	errf(err, "'%s' is open to group or others (mode %04o) and holds a credential: "
	    "chmod 600 '%s'", path, (unsigned)(st->st_mode & 07777), path);
	errno = EPERM;
	return -1;
}

int
file_check_private(const char *path, char *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errf_errno(err, errno, "read", path);
	return mode_private(path, &st, err);
}

/* Grows a secret buffer by copy and wipe, so no copy stays behind in freed
 * memory (realloc would leave one). */
static char *
secret_grow(char *old, size_t used, size_t cap)
{
	char *p = xmalloc(cap);

	memcpy(p, old, used);
	explicit_bzero(old, used);
	free(old);
	return p;
}

int
file_read_secret(const char *path, size_t max, int private_only, char **out, size_t *len,
    char *err)
{
	struct stat st;
	char *data = NULL, extra;
	size_t cap, n = 0;
	ssize_t r;
	int fd, e;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errf_errno(err, errno, "open", path);
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return errf_errno(err, e, "read", path);
	}
	if (private_only && mode_private(path, &st, err) < 0) {
		close(fd);
		return -1;
	}
	/* room for the NUL and for the read that finds the end */
	cap = st.st_size > 0 && (size_t)st.st_size < max ? (size_t)st.st_size + 2 : 256;
	if (cap > max + 1)
		cap = max + 1;
	data = xmalloc(cap);
	for (;;) {
		if (n + 1 == cap && n < max) {
			cap = cap > max / 2 ? max + 1 : 2 * cap;
			data = secret_grow(data, n, cap);
		}
		r = n < max ? read(fd, data + n, cap - 1 - n) : read(fd, &extra, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && n == max)) {
			e = r < 0 ? errno : EFBIG;
			if (r < 0)
				errf(err, "cannot read '%s': %s", path, strerror(e));
			else
				errf(err, "'%s' is larger than %zu bytes", path, max);
			explicit_bzero(&extra, sizeof(extra));
			secret_free(data, n);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	data[n] = '\0';
	*out = data;
	*len = n;
	return 0;
}

size_t
utf8_invalid_at(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return (size_t)-1;
}

int
int_parse(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
duration_parse(const char *s, int64_t *ms)
{
	static const struct { const char *u; int64_t mul; } units[] = {
		{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	int64_t total = 0;
	int last = -1, range = 0;

	if (!s || !*s)
		return errno = EINVAL, -1;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	/* The syntax is read to the end before a value too big is told apart */
	while (*s) {
		int64_t v = 0, part;
		int digits = 0, u;

		while (*s >= '0' && *s <= '9') {
			range |= __builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, *s - '0', &v);
			s++;
			digits++;
		}
		if (!digits)
			return errno = EINVAL, -1;
		if (s[0] == 'm' && s[1] == 's')
			u = 3;
		else if (s[0] == 'h')
			u = 0;
		else if (s[0] == 'm')
			u = 1;
		else if (s[0] == 's')
			u = 2;
		else
			return errno = EINVAL, -1;
		if (u <= last)
			return errno = EINVAL, -1;
		last = u;
		s += strlen(units[u].u);
		range |= __builtin_mul_overflow(v, units[u].mul, &part) ||
		    __builtin_add_overflow(total, part, &total);
	}
	/* a margin, so that a sum of a few durations stays in range */
	if (range || total > INT64_MAX / 4)
		return errno = ERANGE, -1;
	*ms = total;
	return 0;
}

void
duration_format(int64_t ms, char *out, size_t outlen)
{
	struct buf b;
	char *s;

	if (ms <= 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	buf_init(&b, 0);
	if (ms >= 3600000)
		buf_addf(&b, "%lldh", (long long)(ms / 3600000));
	if (ms % 3600000 >= 60000)
		buf_addf(&b, "%lldm", (long long)(ms % 3600000 / 60000));
	if (ms % 60000 >= 1000)
		buf_addf(&b, "%llds", (long long)(ms % 60000 / 1000));
	if (ms % 1000)
		buf_addf(&b, "%lldms", (long long)(ms % 1000));
	s = buf_detach(&b, NULL);
	snprintf(out, outlen, "%s", s);
	free(s);
}

size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row, i, j, r;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	row = xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + (a[i - 1] != b[j - 1]);
			size_t del = row[j] + 1, ins = row[j - 1] + 1;

			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			prev = cur;
		}
	}
	r = row[lb];
	free(row);
	return r;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int
rmtree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
dir_lock(const char *dir, int *fd, char *err)
{
	char *p;

	*fd = -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errf(err, "cannot create the state directory '%s': %s", dir,
		    strerror(errno));
	p = xasprintf("%s/lock", dir);
	*fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(p);
	if (*fd < 0)
		return errf(err, "cannot open the lock in '%s': %s", dir, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0 || fcntl(*fd, F_SETLK, &(struct flock){
	    .l_type = F_WRLCK, .l_whence = SEEK_SET }) < 0) {
		close(*fd);
		*fd = -1;
		return errf(err, "another reconcilerd is using the state directory '%s'", dir);
	}
	return 0;
}

int
dir_lock_holder(const char *dir, pid_t *pid, char *err)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char *p = xasprintf("%s/lock", dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	*pid = 0;
	if (fd < 0) {
		if (errno != ENOENT)
			rc = errf(err, "cannot read the lock '%s': %s", p, strerror(errno));
		free(p);
		return rc;
	}
	if (fcntl(fd, F_GETLK, &fl) < 0)
		rc = errf(err, "cannot read the lock '%s': %s", p, strerror(errno));
	else if (fl.l_type != F_UNLCK)
		*pid = fl.l_pid;
	close(fd);
	free(p);
	return rc;
}

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The user information of scheme://[userinfo@]host…: *start at its first
 * byte, *at at its '@'. 0 when there is none or url is not scheme://. */
static int
url_userinfo(const char *url, const char **start, const char **at)
{
	const char *sep = strstr(url, "://"), *end, *a = NULL;

	if (!sep || sep == url || !isalpha((unsigned char)url[0]))
		return 0;
	for (const char *p = url; p < sep; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+.-", *p))
			return 0;
	*start = sep + 3;
	end = *start + strcspn(*start, "/?#");
	for (const char *p = *start; p < end; p++)
		if (*p == '@')
			a = p;
	if (!a)
		return 0;
	*at = a;
	return 1;
}

int
url_has_password(const char *url)
{
	const char *start, *at;

	return url_userinfo(url, &start, &at) && memchr(start, ':', (size_t)(at - start));
}

char *
url_redact(const char *url)
{
	const char *start, *at, *colon;

	if (!url_userinfo(url, &start, &at))
		return xstrdup(url);
	if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0)
		return xasprintf("%.*s%s", (int)(start - url), url, at + 1);
	if ((colon = memchr(start, ':', (size_t)(at - start))))
		return xasprintf("%.*s%s", (int)(colon - url), url, at);
	return xstrdup(url);
}
