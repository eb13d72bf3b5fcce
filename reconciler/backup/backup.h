/*
 * backup: the manifest's backups, run against the engine. A run executes the
 * backup's command in the service's running container and streams its stdout
 * through gzip into <destination>/<name>-<UTC time>.dump.gz (written as .tmp,
 * fsynced, renamed), beside a SHA-256 sidecar in sha256sum format; then
 * retention removes this backup's old dumps, and only those. Restore streams a
 * checked dump, decompressed, into the restore command's stdin. Every call
 * blocks: the daemon runs them off its loop.
 */
#ifndef RECONCILER_BACKUP_H
#define RECONCILER_BACKUP_H

#include <stdint.h>
#include <time.h>

#include "docker.h"
#include "journal.h"
#include "manifest.h"

#define BACKUP_MIN_FREE (1u << 20)	/* refuse to start below this much free space */
#define BACKUP_TIMEOUT (6L * 3600 * 1000)	/* a dump or a restore that runs longer fails */
#define BACKUP_STDERR_MAX 2048		/* stderr kept for the error and the journal */

struct backup_options {
	const char *trigger;	/* schedule, catch-up, manual, before-deploy (journal) */
	struct journal *journal;	/* NULL: the run is not recorded */
	long timeout_ms;	/* 0: BACKUP_TIMEOUT */
	time_t now;		/* names the file; 0: the clock */
	uint64_t min_free;	/* 0: BACKUP_MIN_FREE */
};
#define BACKUP_OPTIONS_INIT { "manual", NULL, 0, 0, 0 }

struct backup_result {
	char *file;		/* the dump's path (NULL when the run failed) */
	uint64_t size;		/* bytes on disk */
	uint64_t raw;		/* bytes the command wrote */
	long long ms;
	char sha256[65];
	int pruned;		/* old dumps retention removed */
};

/* One run. 0 with res filled, or -1 with err saying what failed and what to
 * do; nothing is left behind on failure. Runs (and restores) of one name do
 * not overlap within a process: a second one waits for the first. */
int backup_run(struct docker *d, const struct manifest *m, const struct mf_backup *b,
    const struct backup_options *o, struct backup_result *res, char *err);
void backup_result_release(struct backup_result *res);

/* The running container of service in project (by labels): *id (caller
 * frees), or -1 with an error naming the service and the fix. */
int backup_container(struct docker *d, const char *project, const char *service, char **id,
    char *err);

/* 1 when base is a dump this backup wrote ("<name>-YYYYmmddTHHMMSSZ.dump" or
 * ".dump.gz"), with *when its time; 0 otherwise. Pure. */
int backup_name_match(const char *name, const char *base, time_t *when);

struct backup_file {
	char *path;
	time_t when;		/* from its name */
	uint64_t size;
	int sidecar;		/* a .sha256 file exists beside it */
};

/* This backup's dumps in its destination, newest first. */
int backup_files(const struct mf_backup *b, struct backup_file **out, size_t *n, char *err);
void backup_files_free(struct backup_file *f, size_t n);

/* Retention, pure: keep[i] = 1 for the files (newest first) that keep_last
 * or max_age keeps. A file goes only when no rule keeps it; the newest always
 * stays; a file without a sidecar is never this module's to delete. */
void backup_retention(const struct mf_backup *b, const struct backup_file *f, size_t n,
    time_t now, int *keep);
/* Applies retention in the destination, never to fresh (the dump a run just
 * wrote, or NULL); *removed counts the dumps deleted. */
int backup_prune(const struct mf_backup *b, time_t now, const char *fresh, int *removed,
    char *err);

/* Checks path against its sidecar: 0 match, 1 mismatch or no sidecar (err
 * says which), -1 on a read error. */
int backup_checksum(const char *path, char *err);
/* Checksum, then a full decompression: 0 with *raw the dump's size. */
int backup_verify(const char *path, uint64_t *raw, char *err);

/* Streams path (checked first) into b's restore command in the service's
 * running container. out receives the command's output (may be NULL). */
int backup_restore(struct docker *d, const struct manifest *m, const struct mf_backup *b,
    const char *path, docker_output_cb out, void *payload, char *err);

/* A FILE argument: an absolute or relative path as given, or a bare name in
 * b's destination (caller frees). */
char *backup_resolve(const struct mf_backup *b, const char *file);

#endif
