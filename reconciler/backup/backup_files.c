/*
 * backup: a backup's dumps in its destination directory. Their names
 * (<name>-YYYYmmddTHHMMSSZ.dump[.gz]), the listing newest first, a FILE
 * argument resolved to a path, and the directory's fsync.
 */
#include "backup_int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- names ---------------------------------------------------------------- */

int
backup_name_match(const char *name, const char *base, time_t *when)
{
	size_t n = strlen(name);
	const char *p = base + n + 1, *rest;
	struct tm tm;

	if (strncmp(base, name, n) != 0 || base[n] != '-')
		return 0;
	/* YYYYmmddTHHMMSSZ */
	for (int i = 0; i < 16; i++) {
		int digit = p[i] >= '0' && p[i] <= '9';

		if ((i == 8 && p[i] != 'T') || (i == 15 && p[i] != 'Z') ||
		    (i != 8 && i != 15 && !digit))
			return 0;
	}
	rest = p + 16;
	if (strcmp(rest, ".dump") != 0 && strcmp(rest, ".dump.gz") != 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0') -
	    1900;
	tm.tm_mon = (p[4] - '0') * 10 + (p[5] - '0') - 1;
	tm.tm_mday = (p[6] - '0') * 10 + (p[7] - '0');
	tm.tm_hour = (p[9] - '0') * 10 + (p[10] - '0');
	tm.tm_min = (p[11] - '0') * 10 + (p[12] - '0');
	tm.tm_sec = (p[13] - '0') * 10 + (p[14] - '0');
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return 0;
	if (when)
		*when = timegm(&tm);
	return 1;
}

char *
backup_resolve(const struct mf_backup *b, const char *file)
{
	if (strchr(file, '/'))
		return xstrdup(file);
	return xasprintf("%s/%s", b->destination, file);
}

/* --- the listing ---------------------------------------------------------- */

static int
cmp_newest(const void *a, const void *b)
{
	const struct backup_file *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? 1 : -1;
	return strcmp(y->path, x->path);
}

int
backup_files(const struct mf_backup *b, struct backup_file **out, size_t *n, char *err)
{
	DIR *dir;
	struct dirent *de;
	struct backup_file *v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (!(dir = opendir(b->destination))) {
		if (errno == ENOENT)
			return errf(err, "backup '%s': destination '%s' does not exist: create it "
			    "(install -d -m 0700 %s)", b->name, b->destination, b->destination);
		return errf(err, "backup '%s': destination '%s': %s", b->name, b->destination,
		    strerror(errno));
	}
	while ((de = readdir(dir))) {
		struct stat st;
		time_t when;
		char *path, *side;

		if (!backup_name_match(b->name, de->d_name, &when))
			continue;
		path = xasprintf("%s/%s", b->destination, de->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		side = xasprintf("%s.sha256", path);
		v[cnt].path = path;
		v[cnt].when = when;
		v[cnt].size = (uint64_t)st.st_size;
		v[cnt].sidecar = lstat(side, &st) == 0 && S_ISREG(st.st_mode);
		cnt++;
		free(side);
	}
	closedir(dir);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_newest);
	*out = v;
	*n = cnt;
	return 0;
}

void
backup_files_free(struct backup_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].path);
	free(f);
}

int
backup__fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}
