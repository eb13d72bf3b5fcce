/*
 * backup: dumps read back. A dump is checked against its sidecar (checksum),
 * decompressed in full (verify), or streamed, decompressed, into the restore
 * command's stdin in the service's container (restore).
 */
#include "backup_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* --- checking ------------------------------------------------------------- */

int
backup_checksum(const char *path, char *err)
{
	char *side = xasprintf("%s.sha256", path), *text = NULL, hex[65];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	unsigned char md[EVP_MAX_MD_SIZE], *buf = NULL;
	unsigned mdlen = 0;
	EVP_MD_CTX *sha = NULL;
	size_t len;
	int fd = -1, rc = -1;

	if (file_read(side, 4096, &text, &len, err) < 0) {
		rc = errno == ENOENT ? 1 : -1;
		if (rc == 1)
			errf(err, "'%s' has no checksum file '%s' (not written by a finished run)",
			    path, side);
		goto out;
	}
	/* "<64 hex>  <name>\n" */
	if (len < 67 || strspn(text, "0123456789abcdef") != 64 || strncmp(text + 64, "  ", 2) ||
	    strncmp(text + 66, base, strlen(base)) || (text[66 + strlen(base)] != '\n' &&
	    text[66 + strlen(base)] != '\0')) {
		rc = 1;
		errf(err, "'%s' is not a checksum of '%s' in sha256sum format", side, base);
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		errf(err, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	buf = xmalloc(BACKUP__CHUNK);
	sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	for (;;) {
		ssize_t n = read(fd, buf, BACKUP__CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errf(err, "reading '%s': %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(sha, buf, (size_t)n);
	}
	EVP_DigestFinal_ex(sha, md, &mdlen);
	hex_encode(md, mdlen, hex);
	if (strncmp(hex, text, 64) != 0) {
		rc = 1;
		errf(err, "'%s' does not match its checksum (file %.12s..., sidecar %.12s...): it was "
		    "changed or damaged after it was written", path, hex, text);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(sha);
	free(buf);
	free(text);
	free(side);
	return rc;
}

/* A dump read back: decompressed when its name ends in .gz. */
struct source {
	const char *path;
	int fd;
	int gzip, zinit, done;
	z_stream zs;
	unsigned char *in;
	uint64_t raw;
	char err[ERR_LEN];
};

static int
source_open(struct source *s, const char *path, char *err)
{
	size_t n = strlen(path);

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->gzip = n > 3 && strcmp(path + n - 3, ".gz") == 0;
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errf(err, "cannot open '%s': %s", path, strerror(errno));
	s->in = xmalloc(BACKUP__CHUNK);
	if (s->gzip) {
		if (inflateInit2(&s->zs, 15 + 16) != Z_OK) {
			close(s->fd);
			free(s->in);
			return errf(err, "zlib: cannot start decompressing");
		}
		s->zinit = 1;
	}
	return 0;
}

static void
source_close(struct source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->zinit)
		inflateEnd(&s->zs);
	free(s->in);
	s->fd = -1;
	s->in = NULL;
}

static ssize_t
raw_read(struct source *s, unsigned char *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(s->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			errf(s->err, "reading '%s': %s", s->path, strerror(errno));
		return n;
	}
}

/* Up to len bytes of the dump; 0 at its end, -1 with s->err. */
static ssize_t
source_read(struct source *s, char *buf, size_t len)
{
	ssize_t n;

	if (!s->gzip) {
		n = raw_read(s, (unsigned char *)buf, len);
		if (n > 0)
			s->raw += (uint64_t)n;
		if (n == 0)
			s->done = 1;
		return n;
	}
	if (s->done)
		return 0;
	s->zs.next_out = (unsigned char *)buf;
	s->zs.avail_out = (uInt)len;
	while (s->zs.avail_out == len) {
		int zr;

		if (s->zs.avail_in == 0) {
			if ((n = raw_read(s, s->in, BACKUP__CHUNK)) < 0)
				return -1;
			if (n == 0) {
				errf(s->err, "'%s' ends before the end of its gzip stream "
				    "(truncated)", s->path);
				return -1;
			}
			s->zs.next_in = s->in;
			s->zs.avail_in = (uInt)n;
		}
		zr = inflate(&s->zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			/* gzip allows members back to back */
			if (s->zs.avail_in == 0) {
				ssize_t got = raw_read(s, s->in, BACKUP__CHUNK);

				if (got < 0)
					return -1;
				if (got == 0) {
					s->done = 1;
					break;
				}
				s->zs.next_in = s->in;
				s->zs.avail_in = (uInt)got;
			}
			inflateReset(&s->zs);
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			errf(s->err, "'%s' is not valid gzip data: %s", s->path,
			    s->zs.msg ? s->zs.msg : "corrupt");
			return -1;
		}
	}
	n = (ssize_t)(len - s->zs.avail_out);
	s->raw += (uint64_t)n;
	return n;
}

int
backup_verify(const char *path, uint64_t *raw, char *err)
{
	struct source s;
	char *buf;
	ssize_t n;
	int rc;

	*raw = 0;
	if ((rc = backup_checksum(path, err)) != 0)
		return -1;
	if (source_open(&s, path, err) < 0)
		return -1;
	buf = xmalloc(BACKUP__CHUNK);
	while ((n = source_read(&s, buf, BACKUP__CHUNK)) > 0)
		;
	if (n < 0)
		errf(err, "%s", s.err);
	else if (s.raw == 0)
		n = errf(err, "'%s' holds an empty dump", path);
	*raw = s.raw;
	free(buf);
	source_close(&s);
	return n < 0 ? -1 : 0;
}

/* --- restoring ------------------------------------------------------------ */

/* Both directions of a restore share the exec's one payload. */
struct restore_io {
	struct source src;
	docker_output_cb cb;
	void *payload;
	struct buf errtext;
};

static ssize_t
restore_input(char *buf, size_t len, void *payload)
{
	struct restore_io *r = payload;

	return source_read(&r->src, buf, len);
}

static int
restore_output(int stream, const char *data, size_t len, void *payload)
{
	struct restore_io *r = payload;

	if (stream == 2)
		backup__keep_stderr(&r->errtext, data, len);
	return r->cb ? r->cb(stream, data, len, r->payload) : 0;
}

int
backup_restore(struct docker *d, const struct manifest *m, const struct mf_backup *b,
    const char *path, docker_output_cb out, void *payload, char *err)
{
	struct docker_exec_options eo = DOCKER_EXEC_OPTIONS_INIT;
	struct restore_io r;
	const char **argv = NULL;
	char *id = NULL, line[300], e[ERR_LEN];
	int code = -1, rc = -1, slot, opened = 0;
	time_t when;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	memset(&r, 0, sizeof(r));
	r.cb = out;
	r.payload = payload;
	buf_init(&r.errtext, BACKUP_STDERR_MAX + 1);
	if (!b->restore.set)
		return errf(err, "backup '%s' has no restore command: add backups.%s.restore to "
		    "the manifest (a command that reads the dump on its standard input)", b->name,
		    b->name);
	if (!backup_name_match(b->name, base, &when))
		return errf(err, "'%s' is not a dump of backup '%s' (expected %s-YYYYmmddTHHMMSSZ"
		    ".dump[.gz])", path, b->name, b->name);
	if (backup_checksum(path, err) != 0)
		return -1;
	if ((slot = backup__claim(b->name)) < 0)
		return errf(err, "too many backups running at once");
	if (backup_container(d, m->project, b->service, &id, e) < 0 ||
	    source_open(&r.src, path, e) < 0) {
		errf(err, "backup '%s': restore: %s", b->name, e);
		goto out;
	}
	opened = 1;
	argv = backup__cmd_argv(&b->restore);
	eo.argv = argv;
	eo.input = restore_input;
	eo.output = restore_output;
	eo.payload = &r;
	eo.timeout_ms = BACKUP_TIMEOUT;
	log_info("restore", "name=%s file=%s service=%s started", b->name, path, b->service);
	if (docker_exec(d, id, &eo, &code, e) < 0) {
		errf(err, "backup '%s': restore: %s", b->name, r.src.err[0] ? r.src.err : e);
		goto out;
	}
	if (code != 0) {
		errf(err, "backup '%s': the restore command exited with status %d%s", b->name, code,
		    backup__stderr_line(&r.errtext, line, sizeof(line)));
		goto out;
	}
	if (!r.src.done) {
		errf(err, "backup '%s': the restore command ended before it read the whole dump",
		    b->name);
		goto out;
	}
	log_info("restore", "name=%s file=%s bytes=%llu done", b->name, path,
	    (unsigned long long)r.src.raw);
	rc = 0;
out:
	if (opened)
		source_close(&r.src);
	backup__release(slot);
	buf_release(&r.errtext);
	free(argv);
	free(id);
	return rc;
}
