/*
 * backup internals: what the files of the backup module share with each other
 * and with nobody else (backup.h is the module's API). Names start with
 * backup__.
 */
#ifndef RECONCILER_BACKUP_INT_H
#define RECONCILER_BACKUP_INT_H

#include "backup.h"
#include "util.h"

/* Dumps are read, written and (de)compressed in pieces this big. */
#define BACKUP__CHUNK (64u << 10)

/* fsync(2) of a directory, so that a rename or an unlink in it lasts. */
int backup__fsync_dir(const char *dir);

/* Waits until no run or restore of name is under way in this process, then
 * claims the name: a slot for backup__release, or -1 when all are taken. */
int backup__claim(const char *name);
void backup__release(int slot);
/* Locks b's destination for a run (waiting for one in any other process):
 * the lock's fd, to close at the end, or -1 with err. */
int backup__lock_destination(const struct mf_backup *b, char *err);

/* The command's argv, behind /bin/sh -c for a shell string (caller frees the
 * array, not the strings). */
const char **backup__cmd_argv(const struct mf_cmd *c);
void backup__keep_stderr(struct buf *b, const char *data, size_t len);
const char *backup__stderr_line(struct buf *b, char *out, size_t n);

#endif
