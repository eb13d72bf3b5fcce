/*
 * backup: retention. Which of a backup's dumps its rules (keep_last, max_age)
 * keep, and the removal of the others from the destination, each with its
 * sidecar.
 */
#include "backup_int.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
backup_retention(const struct mf_backup *b, const struct backup_file *f, size_t n, time_t now,
    int *keep)
{
	size_t rank = 0;

	for (size_t i = 0; i < n; i++) {
		int k = 0;

		if (!f[i].sidecar) {
			keep[i] = 1;	/* not proven ours (or not finished): never deleted */
			continue;
		}
		if (rank == 0)
			k = 1;
		if (b->keep_last > 0 && rank < (size_t)b->keep_last)
			k = 1;
		if (b->max_age > 0 && (int64_t)(now - f[i].when) * 1000 < b->max_age)
			k = 1;
		keep[i] = k;
		rank++;
	}
}

int
backup_prune(const struct mf_backup *b, time_t now, const char *fresh, int *removed, char *err)
{
	struct backup_file *f;
	size_t n;
	int *keep, rc = 0;

	*removed = 0;
	if (backup_files(b, &f, &n, err) < 0)
		return -1;
	keep = xcalloc(n + 1, sizeof(*keep));
	backup_retention(b, f, n, now, keep);
	for (size_t i = 0; i < n; i++) {
		char *side;

		/* the dump just written stays, whatever the names of the others
		 * say (a clock once ahead gives a "newer" one) */
		if (keep[i] || (fresh && strcmp(f[i].path, fresh) == 0))
			continue;
		side = xasprintf("%s.sha256", f[i].path);
		if (unlink(f[i].path) < 0 && errno != ENOENT) {
			rc = errf(err, "backup '%s': cannot remove '%s': %s", b->name, f[i].path,
			    strerror(errno));
		} else {
			unlink(side);
			(*removed)++;
			log_info("backup", "name=%s removed %s (retention)", b->name, f[i].path);
		}
		free(side);
	}
	if (*removed)
		backup__fsync_dir(b->destination);
	free(keep);
	backup_files_free(f, n);
	return rc;
}
