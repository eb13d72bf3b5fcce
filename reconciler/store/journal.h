/*
 * journal: the daemon's memory that outlives it, in SQLite (WAL) in the state
 * directory: every revision seen and what became of it, every cycle, every
 * action with its reasons, timing and outcome, the (revision, service) pairs
 * that failed their gate, which are not retried until a new revision or an
 * explicit retry, and per service the revision that serves.
 *
 * Every write returns -1 when SQLite refuses it (a full disk, an I/O error);
 * the journal counts such failures and keeps the reason (journal_health).
 */
#ifndef RECONCILER_JOURNAL_H
#define RECONCILER_JOURNAL_H

#include <jansson.h>
#include <stdint.h>

struct journal;

/* Opening read-write changes no row: a backup run or reconcilerctl may open
 * the journal while the daemon's cycle runs. */
int journal_open(struct journal **out, const char *path, int readonly, char *err);
/* Marks the cycles and backup runs still open 'interrupted': a crash or a
 * kill cut them short. Only the daemon calls it, at its start, under the state
 * directory's lock: anyone else would end the running daemon's cycle. */
int journal_recover(struct journal *j);
void journal_close(struct journal *j);

/* 1 when the last write failed, with err (ERR_LEN bytes) saying why ("journal
 * 'PATH': database or disk is full"); 0 once a write succeeds again. Either
 * way *write_errors is how many writes failed since the journal was opened. */
int journal_health(struct journal *j, unsigned long *write_errors, char *err);

int journal_revision_seen(struct journal *j, const char *commit, const char *subject);
/* status: applied, failed, invalid, refused */
int journal_revision_status(struct journal *j, const char *commit, const char *status,
    const char *error);

int64_t journal_cycle_begin(struct journal *j, const char *revision, const char *trigger);
int journal_cycle_end(struct journal *j, int64_t cycle, const char *outcome, const char *error);
/* A cycle that only repeated an earlier one (same revision, outcome, errors,
 * nothing done): its row and actions go, and first counts one more repeat
 * (history's "repeats" and "last_repeat"). */
int journal_cycle_repeat(struct journal *j, int64_t first, int64_t cycle);

/* One service's action in a cycle; timing (may be NULL) when its rollout
 * began and its steps, {"began": unix ms, "steps": {"step": ms since}},
 * kept beside it (history's "began" and "steps"). */
int journal_action(struct journal *j, int64_t cycle, const char *revision, const char *service,
    const char *action, json_t *reasons, const char *outcome, const char *error, long long ms,
    json_t *timing);

int journal_fail(struct journal *j, const char *revision, const char *service, const char *reason);
/* 1 and the reason (caller frees) when (revision, service) failed and was not
 * cleared; 0 otherwise; -1 when the journal cannot be read. */
int journal_quarantined(struct journal *j, const char *revision, const char *service,
    char **reason);
/* Clears every failure (sync --retry); returns how many. */
int journal_clear_failures(struct journal *j);

/* Per service, the revision whose spec last passed its gate (or ran in sync
 * with the manifest) and that spec's hash: what the service falls back to
 * while a newer revision is quarantined for it. set writes only a change;
 * get: 1 when known, 0 when not, -1 on a read error; journal_serving:
 * {service: revision} (caller decrefs). */
int journal_serving_set(struct journal *j, const char *service, const char *revision,
    const char *hash);
int journal_serving_get(struct journal *j, const char *service, char revision[41],
    char hash[65]);
json_t *journal_serving(struct journal *j);
/* The revision last applied in full (status 'applied'): 1, 0 when none, -1. */
int journal_last_applied(struct journal *j, char revision[41]);

/* Images this reconciler deployed, per service, for pruning: record one as in
 * use now; list the ones older than the `keep` most recent (caller decrefs);
 * forget one once it is removed. */
int journal_image_used(struct journal *j, const char *service, const char *image);
json_t *journal_images_stale(struct journal *j, int keep);
int journal_image_forget(struct journal *j, const char *service, const char *image);

/* Backup runs: a row per run, begun as 'running' and ended 'ok' or 'failed'
 * (the daemon marks rows still running at its start 'interrupted': only it
 * holds the state directory's lock). last_ok: 1 with the end time and size of the newest good
 * run. journal_backups: runs of name (NULL: all) with id > after_id, newest
 * first, or oldest first (the run that followed after_id leads; caller decrefs). */
int64_t journal_backup_begin(struct journal *j, const char *name, const char *trigger);
int journal_backup_end(struct journal *j, int64_t id, const char *outcome, const char *file,
    int64_t size, long long ms, const char *error);
int journal_backup_last_ok(struct journal *j, const char *name, int64_t *ended, int64_t *size);
json_t *journal_backups(struct journal *j, const char *name, int64_t after_id, int limit,
    int oldest_first);
int64_t journal_backups_max_id(struct journal *j);
int journal_backups_interrupted(struct journal *j);

/* The last `limit` cycles with their actions, newest first. */
json_t *journal_history(struct journal *j, int limit);

#endif
