/*
 * backup internals: what the files of the backup module share with each other
 * and with nobody else (backup.h is the module's API). Names start with
 * backup__.
 */
#ifndef RECONCILER_BACKUP_INT_H
#define RECONCILER_BACKUP_INT_H

#include "backup.h"

/* Dumps are read, written and (de)compressed in pieces this big. */
#define BACKUP__CHUNK (64u << 10)

/* fsync(2) of a directory, so that a rename or an unlink in it lasts. */
int backup__fsync_dir(const char *dir);

#endif
