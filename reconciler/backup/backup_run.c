/*
 * backup: a run, from the backup's command in the service's container to a
 * named, checked dump (see backup.h). The dump never goes through memory
 * whole: each piece of the exec's stdout is compressed, hashed and written as
 * it arrives.
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

/* --- the sink ------------------------------------------------------------- */

/* Where the command's stdout goes as it arrives: through gzip (unless
 * compress is none) into the .tmp, the bytes on disk hashed. */
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

/* --- the destination ------------------------------------------------------ */

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

/* --- the steps of a run --------------------------------------------------- */

static void
run_record(const struct backup_options *o, int64_t id, const struct backup_result *res,
    const char *error)
{
	if (o->journal && (id <= 0 || journal_backup_end(o->journal, id, error ? "failed" : "ok",
	    res->file, (int64_t)res->size, res->ms, error) < 0))
		log_warn("backup", "the journal did not record this run (%s)", error ? "failed" :
		    "ok");
}

/* One run's state, from the claim of its name to its cleanup. */
struct run {
	const struct mf_backup *b;
	const struct backup_options *o;
	time_t now;		/* names the file; the next second when that name is taken */
	int slot;		/* the name's claim, or -1 */
	int lockfd;		/* the destination's lock, or -1 */
	char *id;		/* the service's running container */
	char *path, *tmp, *side;	/* the dump, its .tmp, its sidecar */
	char *sidetext;
	const char **argv;
	struct sink s;
	int zinit, made, sided, renamed;	/* what there is to end or to undo */
};

static void
run_init(struct run *r, const struct mf_backup *b, const struct backup_options *o)
{
	memset(r, 0, sizeof(*r));
	r->b = b;
	r->o = o;
	r->now = o->now ? o->now : time(NULL);
	r->slot = -1;
	r->lockfd = -1;
	r->s.fd = -1;
	buf_init(&r->s.errtext, BACKUP_STDERR_MAX + 1);
}

/* The name claimed, the destination checked and locked, the container found,
 * what a killed run left removed. */
static int
run_prepare(struct run *r, struct docker *d, const struct manifest *m, char *e)
{
	const struct mf_backup *b = r->b;

	if ((r->slot = backup__claim(b->name)) < 0)
		return errf(e, "too many backups running at once");
	if (check_destination(b, r->o, e) < 0 || (r->lockfd = backup__lock_destination(b, e)) < 0 ||
	    backup_container(d, m->project, b->service, &r->id, e) < 0)
		return -1;
	remove_stale_tmp(b);
	return 0;
}

/* The dump's path, <destination>/<name>-<UTC time>.dump[.gz], beside its .tmp
 * and its sidecar. */
static int
run_name(struct run *r, char *e)
{
	const struct mf_backup *b = r->b;
	char when[32];
	struct timespec ts;
	struct tm tm;

	/* Names are to the second: a run right after another (a backup before
	 * deploy after a manual one) takes the next second. */
	for (int tries = 0;; tries++) {
		gmtime_r(&r->now, &tm);
		strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		free(r->path);
		r->path = xasprintf("%s/%s-%s.dump%s", b->destination, b->name, when,
		    b->compress == MF_GZIP ? ".gz" : "");
		if (access(r->path, F_OK) < 0)
			break;
		if (r->o->now || tries == 3)
			return errf(e, "'%s' exists already: try again", r->path);
		clock_gettime(CLOCK_REALTIME, &ts);
		sleep_ms(1000 - ts.tv_nsec / 1000000 + 10);
		r->now = time(NULL) > r->now ? time(NULL) : r->now + 1;
	}
	r->tmp = xasprintf("%s.tmp", r->path);
	r->side = xasprintf("%s.sha256", r->path);
	return 0;
}

/* The sink ready: SHA-256 and gzip started, the .tmp created. */
static int
run_open(struct run *r, char *e)
{
	struct sink *s = &r->s;

	s->path = r->tmp;
	s->gzip = r->b->compress == MF_GZIP;
	s->out = xmalloc(BACKUP__CHUNK);
	s->sha = EVP_MD_CTX_new();
	if (!s->sha || !EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL))
		return errf(e, "SHA-256 is not available");
	if (s->gzip) {
		/* windowBits 15 + 16: a gzip header and trailer, as gzip(1) writes */
		if (deflateInit2(&s->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			return errf(e, "zlib: cannot start compressing");
		r->zinit = 1;
	}
	if ((s->fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return errf(e, "cannot create '%s': %s", r->tmp, strerror(errno));
	r->made = 1;
	return 0;
}

/* The command in the container, its stdout streamed into the sink. It fails
 * when it exits non-zero or writes nothing, or when the writing fails. */
static int
run_exec(struct run *r, struct docker *d, char *e)
{
	struct docker_exec_options eo = DOCKER_EXEC_OPTIONS_INIT;
	struct sink *s = &r->s;
	char line[300];
	int code = -1;

	r->argv = backup__cmd_argv(&r->b->command);
	eo.argv = r->argv;
	eo.output = sink_output;
	eo.payload = s;
	eo.timeout_ms = r->o->timeout_ms > 0 ? r->o->timeout_ms : BACKUP_TIMEOUT;
	if (docker_exec(d, r->id, &eo, &code, e) < 0) {
		if (s->werr)
			errf(e, "writing '%s': %s", r->tmp, strerror(s->werr));
		return -1;
	}
	if (s->werr)
		return errf(e, "writing '%s': %s", r->tmp, strerror(s->werr));
	if (code != 0)
		return errf(e, "the command exited with status %d%s", code,
		    backup__stderr_line(&s->errtext, line, sizeof(line)));
	if (s->raw == 0)
		return errf(e, "the command wrote nothing on its standard output%s",
		    backup__stderr_line(&s->errtext, line, sizeof(line)));
	return 0;
}

/* The .tmp whole on disk: the gzip trailer written, fsynced, closed. */
static int
run_seal(struct run *r, char *e)
{
	struct sink *s = &r->s;
	int rc, saved;

	if (s->gzip && sink_deflate(s, NULL, 0, Z_FINISH) < 0)
		return errf(e, "writing '%s': %s", r->tmp, strerror(s->werr));
	rc = fsync(s->fd);
	saved = errno;
	if (close(s->fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	s->fd = -1;
	if (rc < 0)
		return errf(e, "writing '%s': %s", r->tmp, strerror(saved));
	return 0;
}

/* The dump under its name: the sidecar, the rename of the .tmp, the
 * directory synced. res->sha256 is the dump's. */
static int
run_publish(struct run *r, struct backup_result *res, char *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	EVP_DigestFinal_ex(r->s.sha, md, &mdlen);
	hex_encode(md, mdlen, res->sha256);
	/* the sidecar first: a dump with a name is always a checked one */
	r->sidetext = xasprintf("%s  %s\n", res->sha256, strrchr(r->path, '/') + 1);
	if (file_write_atomic(r->side, r->sidetext, strlen(r->sidetext), 0600, e) < 0)
		return -1;
	r->sided = 1;
	if (rename(r->tmp, r->path) < 0)
		return errf(e, "renaming '%s': %s", r->tmp, strerror(errno));
	r->renamed = 1;
	if (backup__fsync_dir(r->b->destination) < 0)
		return errf(e, "syncing '%s': %s", r->b->destination, strerror(errno));
	return 0;
}

/* The file closed and zlib ended; after a failure, what the run wrote is
 * removed. */
static void
run_close(struct run *r, int failed)
{
	if (r->s.fd >= 0)
		close(r->s.fd);
	if (r->zinit)
		deflateEnd(&r->s.zs);
	if (failed) {
		/* nothing half-written stays */
		if (r->made && !r->renamed)
			unlink(r->tmp);
		if (r->renamed)
			unlink(r->path);
		if (r->sided)
			unlink(r->side);
	}
}

/* The destination unlocked, the name released, the rest freed. */
static void
run_release(struct run *r)
{
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->slot >= 0)
		backup__release(r->slot);
	EVP_MD_CTX_free(r->s.sha);
	buf_release(&r->s.errtext);
	free(r->s.out);
	free(r->argv);
	free(r->id);
	free(r->path);
	free(r->tmp);
	free(r->side);
	free(r->sidetext);
}

/* exec -> (gzip) -> .tmp -> fsync -> .sha256 -> rename -> fsync of the
 * directory; then retention, the log and the journal. */
int
backup_run(struct docker *d, const struct manifest *m, const struct mf_backup *b,
    const struct backup_options *o, struct backup_result *res, char *err)
{
	struct run r;
	char e[ERR_LEN];
	long long t0;
	int64_t jid = -1;
	int rc = -1;

	run_init(&r, b, o);
	t0 = now_ms();
	memset(res, 0, sizeof(*res));
	if (o->journal)
		jid = journal_backup_begin(o->journal, b->name, o->trigger);
	if (run_prepare(&r, d, m, e) < 0 || run_name(&r, e) < 0 || run_open(&r, e) < 0)
		goto out;
	log_info("backup", "name=%s service=%s trigger=%s file=%s started", b->name, b->service,
	    o->trigger ? o->trigger : "-", r.path);
	if (run_exec(&r, d, e) < 0 || run_seal(&r, e) < 0 || run_publish(&r, res, e) < 0)
		goto out;
	res->file = r.path;
	r.path = NULL;
	res->size = r.s.written;
	res->raw = r.s.raw;
	rc = 0;
out:
	run_close(&r, rc < 0);
	res->ms = now_ms() - t0;
	if (rc == 0) {
		log_info("backup", "name=%s file=%s size=%llu raw=%llu ms=%lld sha256=%s",
		    b->name, res->file, (unsigned long long)res->size,
		    (unsigned long long)res->raw, res->ms, res->sha256);
		if (backup_prune(b, r.now, res->file, &res->pruned, e) < 0)
			log_warn("backup", "name=%s retention: %s", b->name, e);
	} else {
		errf(err, "backup '%s': %s", b->name, e);
		log_error("backup", "%s", err);
	}
	run_record(o, jid, res, rc < 0 ? err : NULL);
	run_release(&r);
	return rc;
}

void
backup_result_release(struct backup_result *res)
{
	free(res->file);
	res->file = NULL;
}
