/*
 * backup: see backup.h. The dump never goes through memory whole: each piece
 * of the exec's stdout is compressed, hashed and written as it arrives.
 */
#include "backup_int.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

/* --- a run ---------------------------------------------------------------- */

struct sink {
	const char *path;
	int fd;
	int gzip;
	z_stream zs;
	EVP_MD_CTX *sha;
	uint64_t raw, written;
	int werr;		/* errno of the first failed write */
	struct buf errtext;	/* the command's stderr, first BACKUP_STDERR_MAX bytes */
	unsigned char *out;
};

static int
sink_write(struct sink *s, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(s->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->werr = n < 0 ? errno : EIO;
			return -1;
		}
		EVP_DigestUpdate(s->sha, p, (size_t)n);
		s->written += (uint64_t)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
sink_deflate(struct sink *s, const unsigned char *data, size_t len, int flush)
{
	s->zs.next_in = (unsigned char *)data;
	s->zs.avail_in = (uInt)len;
	do {
		int zr;

		s->zs.next_out = s->out;
		s->zs.avail_out = BACKUP__CHUNK;
		zr = deflate(&s->zs, flush);
		if (zr == Z_STREAM_ERROR) {
			s->werr = EIO;
			return -1;
		}
		if (sink_write(s, s->out, BACKUP__CHUNK - s->zs.avail_out) < 0)
			return -1;
	} while (s->zs.avail_out == 0);
	return 0;
}

static int
sink_output(int stream, const char *data, size_t len, void *payload)
{
	struct sink *s = payload;

	if (stream == 2) {
		backup__keep_stderr(&s->errtext, data, len);
		return 0;
	}
	if (s->werr)
		return 1;
	s->raw += len;
	if (s->gzip)
		return sink_deflate(s, (const unsigned char *)data, len, Z_NO_FLUSH) < 0;
	return sink_write(s, (const unsigned char *)data, len) < 0;
}

/* With the destination locked no other run there is under way anywhere, so a
 * .tmp of this backup was left by a run that was killed. */
static void
remove_stale_tmp(const struct mf_backup *b)
{
	DIR *dir = opendir(b->destination);
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		struct stat st;
		char *base, *path;

		if (n < 5 || strcmp(de->d_name + n - 4, ".tmp") != 0)
			continue;
		base = xstrndup(de->d_name, n - 4);
		path = xasprintf("%s/%s", b->destination, de->d_name);
		if (backup_name_match(b->name, base, NULL) && lstat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && unlink(path) == 0)
			log_info("backup", "name=%s removed %s, left by an interrupted run", b->name,
			    path);
		free(base);
		free(path);
	}
	closedir(dir);
}

static int
check_destination(const struct mf_backup *b, const struct backup_options *o, char *err)
{
	struct statvfs vfs;
	struct stat st;
	struct backup_file *f;
	size_t n;
	uint64_t need = o->min_free ? o->min_free : BACKUP_MIN_FREE, avail, last = 0;
	char e[ERR_LEN];

	if (stat(b->destination, &st) < 0)
		return errf(err, "destination '%s' %s: create it (mkdir -p -m 0700 %s) or fix "
		    "backups.%s.destination", b->destination, errno == ENOENT ? "does not exist" :
		    strerror(errno), b->destination, b->name);
	if (!S_ISDIR(st.st_mode))
		return errf(err, "destination '%s' is not a directory", b->destination);
	if (access(b->destination, W_OK | X_OK) < 0)
		return errf(err, "destination '%s' is not writable by uid %d: %s", b->destination,
		    (int)geteuid(), strerror(errno));
	if (statvfs(b->destination, &vfs) < 0)
		return errf(err, "destination '%s': statvfs: %s", b->destination, strerror(errno));
	avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
	if (backup_files(b, &f, &n, e) == 0) {
		if (n)
			last = f[0].size;
		backup_files_free(f, n);
	}
	if (last > need)
		need = last;
	if (avail < need)
		return errf(err, "destination '%s' has %llu bytes free, less than the %llu the "
		    "run needs (%s): free some space or move the destination", b->destination,
		    (unsigned long long)avail, (unsigned long long)need, last == need ?
		    "the size of the last dump" : "the minimum");
	return 0;
}

static void
run_record(const struct backup_options *o, int64_t id, const struct backup_result *res,
    const char *error)
{
	if (o->journal && (id <= 0 || journal_backup_end(o->journal, id, error ? "failed" : "ok",
	    res->file, (int64_t)res->size, res->ms, error) < 0))
		log_warn("backup", "the journal did not record this run (%s)", error ? "failed" :
		    "ok");
}

int
backup_run(struct docker *d, const struct manifest *m, const struct mf_backup *b,
    const struct backup_options *o, struct backup_result *res, char *err)
{
	struct docker_exec_options eo = DOCKER_EXEC_OPTIONS_INIT;
	struct sink s;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char e[ERR_LEN], when[32], line[300], *id = NULL, *path = NULL, *tmp = NULL, *side = NULL;
	char *sidetext = NULL;
	const char **argv = NULL;
	time_t now = o->now ? o->now : time(NULL);
	long long t0 = now_ms();
	int64_t jid = -1;
	int slot, code = -1, rc = -1, renamed = 0, zinit = 0, made = 0, sided = 0, lockfd = -1;
	struct timespec ts;
	struct tm tm;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	buf_init(&s.errtext, BACKUP_STDERR_MAX + 1);
	if (o->journal)
		jid = journal_backup_begin(o->journal, b->name, o->trigger);
	if ((slot = backup__claim(b->name)) < 0) {
		errf(e, "too many backups running at once");
		goto out;
	}
	if (check_destination(b, o, e) < 0 || (lockfd = backup__lock_destination(b, e)) < 0 ||
	    backup_container(d, m->project, b->service, &id, e) < 0)
		goto out;
	remove_stale_tmp(b);
	/* Names are to the second: a run right after another (a backup before
	 * deploy after a manual one) takes the next second. */
	for (int tries = 0;; tries++) {
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		free(path);
		path = xasprintf("%s/%s-%s.dump%s", b->destination, b->name, when,
		    b->compress == MF_GZIP ? ".gz" : "");
		if (access(path, F_OK) < 0)
			break;
		if (o->now || tries == 3) {
			errf(e, "'%s' exists already: try again", path);
			goto out;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		sleep_ms(1000 - ts.tv_nsec / 1000000 + 10);
		now = time(NULL) > now ? time(NULL) : now + 1;
	}
	tmp = xasprintf("%s.tmp", path);
	side = xasprintf("%s.sha256", path);
	s.path = tmp;
	s.gzip = b->compress == MF_GZIP;
	s.out = xmalloc(BACKUP__CHUNK);
	s.sha = EVP_MD_CTX_new();
	if (!s.sha || !EVP_DigestInit_ex(s.sha, EVP_sha256(), NULL)) {
		errf(e, "SHA-256 is not available");
		goto out;
	}
	if (s.gzip) {
		/* windowBits 15 + 16: a gzip header and trailer, as gzip(1) writes */
		if (deflateInit2(&s.zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK) {
			errf(e, "zlib: cannot start compressing");
			goto out;
		}
		zinit = 1;
	}
	if ((s.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		errf(e, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	made = 1;
	log_info("backup", "name=%s service=%s trigger=%s file=%s started", b->name, b->service,
	    o->trigger ? o->trigger : "-", path);
	argv = backup__cmd_argv(&b->command);
	eo.argv = argv;
	eo.output = sink_output;
	eo.payload = &s;
	eo.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : BACKUP_TIMEOUT;
	if (docker_exec(d, id, &eo, &code, e) < 0) {
		if (s.werr)
			errf(e, "writing '%s': %s", tmp, strerror(s.werr));
		goto out;
	}
	if (s.werr) {
		errf(e, "writing '%s': %s", tmp, strerror(s.werr));
		goto out;
	}
	if (code != 0) {
		errf(e, "the command exited with status %d%s", code,
		    backup__stderr_line(&s.errtext, line, sizeof(line)));
		goto out;
	}
	if (s.raw == 0) {
		errf(e, "the command wrote nothing on its standard output%s",
		    backup__stderr_line(&s.errtext, line, sizeof(line)));
		goto out;
	}
	if (s.gzip && sink_deflate(&s, NULL, 0, Z_FINISH) < 0) {
		errf(e, "writing '%s': %s", tmp, strerror(s.werr));
		goto out;
	}
	{
		int r = fsync(s.fd), saved = errno;

		if (close(s.fd) < 0 && r == 0) {
			r = -1;
			saved = errno;
		}
		s.fd = -1;
		if (r < 0) {
			errf(e, "writing '%s': %s", tmp, strerror(saved));
			goto out;
		}
	}
	EVP_DigestFinal_ex(s.sha, md, &mdlen);
	hex_encode(md, mdlen, res->sha256);
	/* the sidecar first: a dump with a name is always a checked one */
	sidetext = xasprintf("%s  %s\n", res->sha256, strrchr(path, '/') + 1);
	if (file_write_atomic(side, sidetext, strlen(sidetext), 0600, e) < 0)
		goto out;
	sided = 1;
	if (rename(tmp, path) < 0) {
		errf(e, "renaming '%s': %s", tmp, strerror(errno));
		goto out;
	}
	renamed = 1;
	if (backup__fsync_dir(b->destination) < 0) {
		errf(e, "syncing '%s': %s", b->destination, strerror(errno));
		goto out;
	}
	res->file = path;
	path = NULL;
	res->size = s.written;
	res->raw = s.raw;
	rc = 0;
out:
	if (s.fd >= 0)
		close(s.fd);
	if (zinit)
		deflateEnd(&s.zs);
	if (rc < 0) {
		/* nothing half-written stays */
		if (made && !renamed)
			unlink(tmp);
		if (renamed)
			unlink(path);
		if (sided)
			unlink(side);
	}
	res->ms = now_ms() - t0;
	if (rc == 0) {
		log_info("backup", "name=%s file=%s size=%llu raw=%llu ms=%lld sha256=%s",
		    b->name, res->file, (unsigned long long)res->size,
		    (unsigned long long)res->raw, res->ms, res->sha256);
		if (backup_prune(b, now, res->file, &res->pruned, e) < 0)
			log_warn("backup", "name=%s retention: %s", b->name, e);
	} else {
		errf(err, "backup '%s': %s", b->name, e);
		log_error("backup", "%s", err);
	}
	run_record(o, jid, res, rc < 0 ? err : NULL);
	if (lockfd >= 0)
		close(lockfd);
	if (slot >= 0)
		backup__release(slot);
	EVP_MD_CTX_free(s.sha);
	buf_release(&s.errtext);
	free(s.out);
	free(argv);
	free(id);
	free(path);
	free(tmp);
	free(side);
	free(sidetext);
	return rc;
}

void
backup_result_release(struct backup_result *res)
{
	free(res->file);
	res->file = NULL;
}
