/*
 * journal: see journal.h. Every statement is prepared per call: the journal
 * is written a few times per cycle, never on a hot path.
 */
#include "journal.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct journal {
	sqlite3 *db;
	char *path;
	/* what went wrong last, for journal_health; the handle may be shared */
	pthread_mutex_t mu;
	unsigned long write_errors;
	int failing;
	char err[ERR_LEN];
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS revisions ("
	" commit_id TEXT PRIMARY KEY, subject TEXT, first_seen INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'seen', error TEXT, updated INTEGER);"
	"CREATE TABLE IF NOT EXISTS cycles ("
	" id INTEGER PRIMARY KEY, started INTEGER NOT NULL, ended INTEGER, revision TEXT,"
	" trigger TEXT, outcome TEXT, error TEXT);"
	"CREATE TABLE IF NOT EXISTS actions ("
	" id INTEGER PRIMARY KEY, cycle INTEGER, revision TEXT, service TEXT NOT NULL,"
	" action TEXT NOT NULL, reasons TEXT, outcome TEXT NOT NULL, error TEXT,"
	" at INTEGER NOT NULL, ms INTEGER);"
	"CREATE TABLE IF NOT EXISTS failures ("
	" revision TEXT NOT NULL, service TEXT NOT NULL, reason TEXT, at INTEGER NOT NULL,"
	" cleared INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (revision, service));"
	"CREATE TABLE IF NOT EXISTS images ("
	" service TEXT NOT NULL, image TEXT NOT NULL, last_used INTEGER NOT NULL,"
	" PRIMARY KEY (service, image));"
	"CREATE INDEX IF NOT EXISTS actions_cycle ON actions (cycle);"
	"CREATE TABLE IF NOT EXISTS backups ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL, trigger TEXT, started INTEGER NOT NULL,"
	" ended INTEGER, size INTEGER, ms INTEGER, outcome TEXT NOT NULL DEFAULT 'running',"
	" file TEXT, error TEXT);"
	"CREATE INDEX IF NOT EXISTS backups_name ON backups (name, started);"
	"CREATE TABLE IF NOT EXISTS serving ("
	" service TEXT PRIMARY KEY, revision TEXT NOT NULL, hash TEXT NOT NULL,"
	" at INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS repeats ("
	" cycle INTEGER PRIMARY KEY, n INTEGER NOT NULL, last INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS timings ("
	" action INTEGER PRIMARY KEY, timing TEXT NOT NULL);";

int
journal_open(struct journal **out, const char *path, int readonly, char *err)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	char *msg = NULL;

	*out = NULL;
	pthread_mutex_init(&j->mu, NULL);
	j->path = xstrdup(path);
	if (sqlite3_open_v2(path, &j->db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		errf(err, "journal '%s': %s", path, j->db ? sqlite3_errmsg(j->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(j->db, 5000);
	/* The daemon keeps its connection open for its life: a small page cache
	 * (the journal is read a few rows at a time) and a small lookaside keep
	 * its memory from growing with the file (SQLite's defaults: 2 MiB of
	 * cache, 120 KiB of lookaside per connection). */
	sqlite3_db_config(j->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 256, 32);
	sqlite3_exec(j->db, "PRAGMA cache_size = -256", NULL, NULL, NULL);
	if (!readonly && sqlite3_exec(j->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		errf(err, "journal '%s': %s", path, msg ? msg : "schema");
		sqlite3_free(msg);
		goto fail;
	}
	*out = j;
	return 0;
fail:
	sqlite3_close(j->db);
	pthread_mutex_destroy(&j->mu);
	free(j->path);
	free(j);
	return -1;
}

void
journal_close(struct journal *j)
{
	if (!j)
		return;
	sqlite3_close(j->db);
	pthread_mutex_destroy(&j->mu);
	free(j->path);
	free(j);
}

/* A write's result: a failure is counted and its reason kept (sqlite3_errstr
 * is thread-safe, the handle's last message is not); a write that changed a
 * row ends it (one that matched nothing proves nothing about a full disk). */
static int
wrote(struct journal *j, int rc)
{
	int ok = rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK;

	pthread_mutex_lock(&j->mu);
	if (ok) {
		if (sqlite3_changes(j->db) > 0)
			j->failing = 0;
	} else {
		j->write_errors++;
		j->failing = 1;
		errf(j->err, "journal '%s': %s", j->path, sqlite3_errstr(rc));
	}
	pthread_mutex_unlock(&j->mu);
	return ok ? 0 : -1;
}

int
journal_health(struct journal *j, unsigned long *write_errors, char *err)
{
	int failing;

	*write_errors = 0;
	err[0] = '\0';
	if (!j)
		return 0;
	pthread_mutex_lock(&j->mu);
	*write_errors = j->write_errors;
	failing = j->failing;
	if (failing)
		snprintf(err, ERR_LEN, "%s", j->err);
	pthread_mutex_unlock(&j->mu);
	return failing;
}

/* Runs sql with arguments described by types: 's' text (NULL ok), 'i' int64. */
static int
run(struct journal *j, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc;

	if (!j)
		return -1;
	if ((rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return wrote(j, rc);
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);

			if (s)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
		} else {
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return wrote(j, rc);
}

static int64_t
now(void)
{
	return (int64_t)time(NULL);
}

int
journal_revision_seen(struct journal *j, const char *commit, const char *subject)
{
	return run(j, "INSERT OR IGNORE INTO revisions (commit_id, subject, first_seen) "
	    "VALUES (?, ?, ?)", "ssi", commit, subject, now());
}

/* 1 when commit's row already says status and error and, for "applied", it is
 * the revision journal_last_applied finds (a head moved back to an older
 * revision makes it the last applied again); 0 otherwise or on error. */
static int
revision_status_is(struct journal *j, const char *commit, const char *status,
    const char *error)
{
	sqlite3_stmt *st = NULL;
	int same = 0;

	if (sqlite3_prepare_v2(j->db, "SELECT status, error, status <> 'applied' OR commit_id = "
	    "(SELECT commit_id FROM revisions WHERE status = 'applied' ORDER BY updated DESC, "
	    "rowid DESC LIMIT 1) FROM revisions WHERE commit_id = ?", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, commit, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		const char *e = (const char *)sqlite3_column_text(st, 1);

		same = s && strcmp(s, status) == 0 &&
		    (e && error ? strcmp(e, error) == 0 : !e && !error) &&
		    sqlite3_column_int(st, 2);
	}
	sqlite3_finalize(st);
	return same;
}

/* Written only when it changes: every in-sync cycle says it again, and a write
 * per cycle grows the WAL for nothing. A journal whose writes fail is written
 * all the same, so that the first one that passes says it works again. */
int
journal_revision_status(struct journal *j, const char *commit, const char *status,
    const char *error)
{
	unsigned long n;
	char err[ERR_LEN];

	if (j && !journal_health(j, &n, err) && revision_status_is(j, commit, status, error))
		return 0;
	return run(j, "UPDATE revisions SET status = ?, error = ?, updated = ? WHERE commit_id = ?",
	    "ssis", status, error, now(), commit);
}

int64_t
journal_cycle_begin(struct journal *j, const char *revision, const char *trigger)
{
	if (run(j, "INSERT INTO cycles (started, revision, trigger) VALUES (?, ?, ?)", "iss",
	    now(), revision, trigger) < 0)
		return -1;
	return sqlite3_last_insert_rowid(j->db);
}

int
journal_cycle_end(struct journal *j, int64_t cycle, const char *outcome, const char *error)
{
	return run(j, "UPDATE cycles SET ended = ?, outcome = ?, error = ? WHERE id = ?", "issi",
	    now(), outcome, error, cycle);
}

int
journal_action(struct journal *j, int64_t cycle, const char *revision, const char *service,
    const char *action, json_t *reasons, const char *outcome, const char *error, long long ms,
    json_t *timing)
{
	char *r = reasons ? json_dumps(reasons, JSON_COMPACT) : NULL;
	char *st = timing ? json_dumps(timing, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc = run(j, "INSERT INTO actions (cycle, revision, service, action, reasons, outcome, "
	    "error, at, ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", "issssssii", cycle, revision,
	    service, action, r, outcome, error, now(), (int64_t)ms);

	/* the cycle's thread is the only one that writes actions */
	if (rc == 0 && st)
		rc = run(j, "INSERT OR REPLACE INTO timings (action, timing) VALUES (?, ?)", "is",
		    (int64_t)sqlite3_last_insert_rowid(j->db), st);
	free(st);
	free(r);
	return rc;
}

int
journal_fail(struct journal *j, const char *revision, const char *service, const char *reason)
{
	return run(j, "INSERT OR REPLACE INTO failures (revision, service, reason, at, cleared) "
	    "VALUES (?, ?, ?, ?, 0)", "sssi", revision, service, reason, now());
}

int
journal_quarantined(struct journal *j, const char *revision, const char *service, char **reason)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	*reason = NULL;
	if (!j || sqlite3_prepare_v2(j->db, "SELECT reason FROM failures WHERE revision = ? AND "
	    "service = ? AND cleared = 0", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, revision, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, service, -1, SQLITE_TRANSIENT);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW: {
		const unsigned char *r = sqlite3_column_text(st, 0);

		*reason = xstrdup(r ? (const char *)r : "");
		found = 1;
		break;
	}
	case SQLITE_DONE:
		break;
	default:
		found = -1;
	}
	sqlite3_finalize(st);
	return found;
}

int
journal_clear_failures(struct journal *j)
{
	if (run(j, "UPDATE failures SET cleared = 1 WHERE cleared = 0", "") < 0)
		return -1;
	return sqlite3_changes(j->db);
}

int
journal_serving_get(struct journal *j, const char *service, char revision[41], char hash[65])
{
	sqlite3_stmt *st = NULL;
	int found = -1;

	revision[0] = hash[0] = '\0';
	if (!j || sqlite3_prepare_v2(j->db, "SELECT revision, hash FROM serving WHERE service = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_TRANSIENT);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		snprintf(revision, 41, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
		found = 1;
		break;
	case SQLITE_DONE:
		found = 0;
		break;
	default:
		break;
	}
	sqlite3_finalize(st);
	return found;
}

int
journal_serving_set(struct journal *j, const char *service, const char *revision,
    const char *hash)
{
	char rev[41], h[65];

	/* written only when it changes: every in-sync cycle says it again */
	if (journal_serving_get(j, service, rev, h) == 1 && strcmp(rev, revision) == 0 &&
	    strcmp(h, hash) == 0)
		return 0;
	return run(j, "INSERT INTO serving (service, revision, hash, at) VALUES (?, ?, ?, ?) "
	    "ON CONFLICT (service) DO UPDATE SET revision = excluded.revision, "
	    "hash = excluded.hash, at = excluded.at", "sssi", service, revision, hash, now());
}

json_t *
journal_serving(struct journal *j)
{
	sqlite3_stmt *st = NULL;
	json_t *out = json_object();

	if (!j || sqlite3_prepare_v2(j->db, "SELECT service, revision FROM serving", -1, &st,
	    NULL) != SQLITE_OK)
		return out;
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
		    json_string((const char *)sqlite3_column_text(st, 1)));
	sqlite3_finalize(st);
	return out;
}

int
journal_last_applied(struct journal *j, char revision[41])
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	revision[0] = '\0';
	if (!j || sqlite3_prepare_v2(j->db, "SELECT commit_id FROM revisions WHERE status = "
	    "'applied' ORDER BY updated DESC, rowid DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(revision, 41, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

int
journal_image_used(struct journal *j, const char *service, const char *image)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* milliseconds: two rollouts in one second must still be ordered */
	return run(j, "INSERT INTO images (service, image, last_used) VALUES (?, ?, ?) "
	    "ON CONFLICT (service, image) DO UPDATE SET last_used = excluded.last_used", "ssi",
	    service, image, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

json_t *
journal_images_stale(struct journal *j, int keep)
{
	sqlite3_stmt *st = NULL;
	json_t *out = json_array();

	if (!j || sqlite3_prepare_v2(j->db, "SELECT service, image FROM (SELECT service, image, "
	    "ROW_NUMBER() OVER (PARTITION BY service ORDER BY last_used DESC) AS n FROM images) "
	    "WHERE n > ?", -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_int(st, 1, keep);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(out, json_pack("{s:s,s:s}", "service",
		    (const char *)sqlite3_column_text(st, 0), "image",
		    (const char *)sqlite3_column_text(st, 1)));
	sqlite3_finalize(st);
	return out;
}

int
journal_image_forget(struct journal *j, const char *service, const char *image)
{
	return run(j, "DELETE FROM images WHERE service = ? AND image = ?", "ss", service, image);
}

static json_t *
col(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(st, i));
	default: return json_null();
	}
}

/* How often the cycle repeated (journal_cycle_repeat): "repeats" and
 * "last_repeat", 0 and null when it did not (or the journal predates it). */
static void
cycle_repeats(struct journal *j, json_t *cyc, int64_t id)
{
	sqlite3_stmt *st = NULL;
	json_int_t n = 0;
	json_t *last = json_null();

	if (sqlite3_prepare_v2(j->db, "SELECT n, last FROM repeats WHERE cycle = ?", -1, &st,
	    NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			n = sqlite3_column_int64(st, 0);
			json_decref(last);
			last = json_integer(sqlite3_column_int64(st, 1));
		}
	}
	sqlite3_finalize(st);
	json_object_set_new(cyc, "repeats", json_integer(n));
	json_object_set_new(cyc, "last_repeat", last);
}

/* An action's timing row as its "began" and "steps". */
static void
timing(json_t *action, const char *text)
{
	json_t *t = json_loads(text, 0, NULL);

	if (json_is_object(json_object_get(t, "steps"))) {
		json_object_set(action, "began", json_object_get(t, "began"));
		json_object_set(action, "steps", json_object_get(t, "steps"));
	}
	json_decref(t);
}

json_t *
journal_history(struct journal *j, int limit)
{
	sqlite3_stmt *st = NULL, *as = NULL;
	json_t *out = json_array();

	if (!j || sqlite3_prepare_v2(j->db, "SELECT c.id, c.started, c.ended, c.revision, "
	    "c.trigger, c.outcome, c.error, r.subject FROM cycles c LEFT JOIN revisions r ON "
	    "r.commit_id = c.revision WHERE EXISTS (SELECT 1 FROM actions a WHERE a.cycle = c.id) "
	    "OR c.outcome IS NULL OR c.outcome NOT IN ('in-sync') ORDER BY c.id DESC LIMIT ?", -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_int(st, 1, limit);
	if (sqlite3_prepare_v2(j->db, "SELECT a.service, a.action, a.reasons, a.outcome, a.error, "
	    "a.at, a.ms, t.timing FROM actions a LEFT JOIN timings t ON t.action = a.id "
	    "WHERE a.cycle = ? ORDER BY a.id", -1, &as, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *cyc = json_object(), *acts = json_array();

		json_object_set_new(cyc, "cycle", col(st, 0));
		json_object_set_new(cyc, "started", col(st, 1));
		json_object_set_new(cyc, "ended", col(st, 2));
		json_object_set_new(cyc, "revision", col(st, 3));
		json_object_set_new(cyc, "trigger", col(st, 4));
		json_object_set_new(cyc, "outcome", col(st, 5));
		json_object_set_new(cyc, "error", col(st, 6));
		json_object_set_new(cyc, "subject", col(st, 7));
		sqlite3_reset(as);
		sqlite3_bind_int64(as, 1, sqlite3_column_int64(st, 0));
		while (sqlite3_step(as) == SQLITE_ROW) {
			json_t *a = json_object();
			const unsigned char *r = sqlite3_column_text(as, 2);

			json_object_set_new(a, "service", col(as, 0));
			json_object_set_new(a, "action", col(as, 1));
			json_object_set_new(a, "reasons", r ? json_loads((const char *)r, 0, NULL) :
			    json_array());
			json_object_set_new(a, "outcome", col(as, 3));
			json_object_set_new(a, "error", col(as, 4));
			json_object_set_new(a, "at", col(as, 5));
			json_object_set_new(a, "ms", col(as, 6));
			if ((r = sqlite3_column_text(as, 7)))
				timing(a, (const char *)r);
			json_array_append_new(acts, a);
		}
		json_object_set_new(cyc, "actions", acts);
		cycle_repeats(j, cyc, sqlite3_column_int64(st, 0));
		json_array_append_new(out, cyc);
	}
	sqlite3_finalize(as);
	sqlite3_finalize(st);
	return out;
}

int64_t
journal_backup_begin(struct journal *j, const char *name, const char *trigger)
{
	if (run(j, "INSERT INTO backups (name, trigger, started) VALUES (?, ?, ?)", "ssi", name,
	    trigger, now()) < 0)
		return -1;
	return sqlite3_last_insert_rowid(j->db);
}

int
journal_backup_end(struct journal *j, int64_t id, const char *outcome, const char *file,
    int64_t size, long long ms, const char *error)
{
	return run(j, "UPDATE backups SET ended = ?, outcome = ?, file = ?, size = ?, ms = ?, "
	    "error = ? WHERE id = ?", "issiisi", now(), outcome, file, size, (int64_t)ms, error, id);
}

int
journal_backup_last_ok(struct journal *j, const char *name, int64_t *ended, int64_t *size)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	*ended = *size = 0;
	if (!j || sqlite3_prepare_v2(j->db, "SELECT ended, size FROM backups WHERE name = ? AND "
	    "outcome = 'ok' ORDER BY ended DESC, id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ended = sqlite3_column_int64(st, 0);
		*size = sqlite3_column_int64(st, 1);
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

json_t *
journal_backups(struct journal *j, const char *name, int64_t after_id, int limit,
    int oldest_first)
{
	static const char *const cols[] = {
		"id", "name", "trigger", "started", "ended", "size", "ms", "outcome", "file", "error",
	};
	sqlite3_stmt *st = NULL;
	json_t *out = json_array();

	if (!j || sqlite3_prepare_v2(j->db, oldest_first ? "SELECT id, name, trigger, started, "
	    "ended, size, ms, outcome, file, error FROM backups WHERE (?1 IS NULL OR name = ?1) "
	    "AND id > ?2 ORDER BY id ASC LIMIT ?3" : "SELECT id, name, trigger, started, ended, "
	    "size, ms, outcome, file, error FROM backups WHERE (?1 IS NULL OR name = ?1) AND "
	    "id > ?2 ORDER BY id DESC LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
		return out;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, after_id);
	sqlite3_bind_int(st, 3, limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();

		for (int i = 0; i < 10; i++)
			json_object_set_new(o, cols[i], col(st, i));
		json_array_append_new(out, o);
	}
	sqlite3_finalize(st);
	return out;
}

int64_t
journal_backups_max_id(struct journal *j)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 0;

	if (j && sqlite3_prepare_v2(j->db, "SELECT COALESCE(MAX(id), 0) FROM backups", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

int
journal_backups_interrupted(struct journal *j)
{
	return run(j, "UPDATE backups SET outcome = 'interrupted', ended = started, error = "
	    "'the daemon stopped during the run' WHERE ended IS NULL", "");
}

int
journal_recover(struct journal *j)
{
	int rc = run(j, "UPDATE cycles SET outcome = 'interrupted', ended = started "
	    "WHERE ended IS NULL", "");

	return journal_backups_interrupted(j) < 0 ? -1 : rc;
}

int
journal_cycle_repeat(struct journal *j, int64_t first, int64_t cycle)
{
	int rc;

	if (!j || first == cycle)
		return -1;
	if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	rc = run(j, "DELETE FROM timings WHERE action IN (SELECT id FROM actions WHERE cycle = ?)",
	    "i", cycle);
	if (rc == 0)
		rc = run(j, "DELETE FROM actions WHERE cycle = ?", "i", cycle);
	if (rc == 0)
		rc = run(j, "DELETE FROM cycles WHERE id = ?", "i", cycle);
	if (rc == 0)
		rc = run(j, "INSERT INTO repeats (cycle, n, last) VALUES (?, 1, ?) ON CONFLICT (cycle) "
		    "DO UPDATE SET n = n + 1, last = excluded.last", "ii", first, now());
	sqlite3_exec(j->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
