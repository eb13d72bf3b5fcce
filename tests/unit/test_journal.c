/* Unit tests: the journal's backup runs, what serves per service, and its
 * write errors, on a database in a temporary directory. */
#include "helpers.h"
#include "journal.h"
#include "util.h"

#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static json_int_t
run_id(json_t *runs, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(runs, i), "id"));
}

/* `backup run --wait` follows the first run after the id the POST gave: a
 * scheduled run that starts right after the manual one must not take its
 * place. Oldest first puts the run that followed `after` first. */
static void
test_backups_order(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], *p;
	struct journal *j = NULL;
	int64_t before, manual, sched, other;
	json_t *runs;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&j, p, 0, err), 0);
	assert_true(journal_backup_begin(j, "db", "schedule") > 0);
	before = journal_backups_max_id(j);
	manual = journal_backup_begin(j, "db", "manual");
	other = journal_backup_begin(j, "web", "manual");
	assert_int_equal(journal_backup_end(j, manual, "failed", NULL, 0, 5, "boom"), 0);
	sched = journal_backup_begin(j, "db", "schedule");
	assert_true(before < manual && manual < other && other < sched);

	runs = journal_backups(j, "db", before, 20, 1);
	assert_int_equal(json_array_size(runs), 2);
	assert_int_equal(run_id(runs, 0), manual);
	assert_int_equal(run_id(runs, 1), sched);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "error")),
	    "boom");
	json_decref(runs);

	/* newest first stays the default listing */
	runs = journal_backups(j, "db", 0, 20, 0);
	assert_int_equal(json_array_size(runs), 3);
	assert_int_equal(run_id(runs, 0), sched);
	assert_int_equal(run_id(runs, 1), manual);
	json_decref(runs);

	/* the limit keeps the oldest when oldest first */
	runs = journal_backups(j, NULL, before, 1, 1);
	assert_int_equal(json_array_size(runs), 1);
	assert_int_equal(run_id(runs, 0), manual);
	json_decref(runs);

	/* no journal: an empty list, not a crash */
	runs = journal_backups(NULL, "db", 0, 20, 1);
	assert_int_equal(json_array_size(runs), 0);
	json_decref(runs);

	journal_close(j);
	unlink(p);
	free(p);
	p = xasprintf("%s/journal.db-wal", dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/journal.db-shm", dir);
	unlink(p);
	free(p);
	assert_int_equal(rmdir(dir), 0);
}

static void
remove_journal(char *dir)
{
	static const char *const files[] = { "journal.db", "journal.db-wal", "journal.db-shm" };

	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);

		unlink(p);
		free(p);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* What serves per service is written only when it changes, and read back;
 * the last good revision is the last one applied, never one that failed. */
static void
test_serving(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], rev[41], hash[65], *p;
	struct journal *j = NULL;
	json_t *all;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&j, p, 0, err), 0);
	assert_int_equal(journal_serving_get(j, "api", rev, hash), 0);
	assert_int_equal(journal_serving_set(j, "api", "r1", "h1"), 0);
	assert_int_equal(journal_serving_set(j, "api", "r1", "h1"), 0);
	assert_int_equal(journal_serving_set(j, "web", "r1", "hw"), 0);
	assert_int_equal(journal_serving_get(j, "api", rev, hash), 1);
	assert_string_equal(rev, "r1");
	assert_string_equal(hash, "h1");
	assert_int_equal(journal_serving_set(j, "api", "r2", "h2"), 0);
	assert_int_equal(journal_serving_get(j, "api", rev, hash), 1);
	assert_string_equal(rev, "r2");
	assert_string_equal(hash, "h2");
	all = journal_serving(j);
	assert_string_equal(json_string_value(json_object_get(all, "api")), "r2");
	assert_string_equal(json_string_value(json_object_get(all, "web")), "r1");
	json_decref(all);

	assert_int_equal(journal_last_applied(j, rev), 0);
	assert_int_equal(journal_revision_seen(j, "r1", "one"), 0);
	assert_int_equal(journal_revision_seen(j, "r2", "two"), 0);
	assert_int_equal(journal_revision_status(j, "r1", "applied", NULL), 0);
	assert_int_equal(journal_revision_status(j, "r2", "failed", NULL), 0);
	assert_int_equal(journal_last_applied(j, rev), 1);
	assert_string_equal(rev, "r1");
	journal_close(j);
	free(p);
	remove_journal(dir);
}

/* PRAGMA data_version of a second connection: it changes when the journal's
 * connection commits a write. */
static int
data_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The journal's rows as if written 10 s ago: an UPDATE that writes the same
 * row within the same second is no write for SQLite, one after it is. */
static void
age(sqlite3 *peek)
{
	assert_int_equal(sqlite3_exec(peek, "UPDATE revisions SET updated = updated - 10", NULL,
	    NULL, NULL), SQLITE_OK);
}

/* A revision's status is written only when it changes (every in-sync cycle
 * says it again), and read back as before: a head moved back to a revision
 * applied earlier is written again, as the last applied. */
static void
test_revision_status_on_change(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], rev[41], *p;
	struct journal *j = NULL;
	sqlite3 *peek = NULL;
	int v;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&j, p, 0, err), 0);
	assert_int_equal(sqlite3_open_v2(p, &peek, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(peek, 5000);
	assert_int_equal(journal_revision_seen(j, "r1", "one"), 0);
	assert_int_equal(journal_revision_seen(j, "r2", "two"), 0);
	assert_int_equal(journal_revision_status(j, "r1", "applied", NULL), 0);
	assert_int_equal(journal_revision_status(j, "r2", "applied", NULL), 0);
	assert_int_equal(journal_last_applied(j, rev), 1);
	assert_string_equal(rev, "r2");

	/* the same again: nothing written */
	age(peek);
	v = data_version(peek);
	for (int i = 0; i < 3; i++)
		assert_int_equal(journal_revision_status(j, "r2", "applied", NULL), 0);
	assert_int_equal(data_version(peek), v);

	/* r1 again (the branch moved back): written, the last applied again */
	v = data_version(peek);
	assert_int_equal(journal_revision_status(j, "r1", "applied", NULL), 0);
	assert_int_not_equal(data_version(peek), v);
	assert_int_equal(journal_last_applied(j, rev), 1);
	assert_string_equal(rev, "r1");
	age(peek);
	v = data_version(peek);
	assert_int_equal(journal_revision_status(j, "r1", "applied", NULL), 0);
	assert_int_equal(data_version(peek), v);

	/* a new status, then a new error: each written once */
	assert_int_equal(journal_revision_status(j, "r2", "failed", "boom"), 0);
	assert_int_equal(journal_last_applied(j, rev), 1);
	assert_string_equal(rev, "r1");
	age(peek);
	v = data_version(peek);
	assert_int_equal(journal_revision_status(j, "r2", "failed", "boom"), 0);
	assert_int_equal(data_version(peek), v);
	assert_int_equal(journal_revision_status(j, "r2", "failed", "bang"), 0);
	assert_int_not_equal(data_version(peek), v);
	v = data_version(peek);
	assert_int_equal(journal_revision_status(j, "r2", "failed", NULL), 0);
	assert_int_not_equal(data_version(peek), v);
	age(peek);
	v = data_version(peek);
	assert_int_equal(journal_revision_status(j, "r2", "failed", NULL), 0);
	assert_int_equal(data_version(peek), v);
	/* an unknown revision: nothing to update, no error */
	assert_int_equal(journal_revision_status(j, "r3", "applied", NULL), 0);
	assert_int_equal(data_version(peek), v);

	sqlite3_close(peek);
	journal_close(j);
	free(p);
	remove_journal(dir);
}

/* A write the file system refuses (here: RLIMIT_FSIZE, as a full disk would)
 * returns -1, and the journal says why and how many, until a write passes. */
static void
test_write_errors(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], *p, *reason = NULL, *big;
	struct journal *j = NULL;
	struct rlimit old, lim;
	unsigned long n;
	int failed = 0;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&j, p, 0, err), 0);
	assert_int_equal(journal_health(j, &n, err), 0);
	assert_int_equal(n, 0);
	assert_string_equal(err, "");
	assert_int_equal(journal_fail(j, "r0", "api", "first"), 0);
	assert_int_equal(journal_revision_seen(j, "r0", "zero"), 0);
	assert_int_equal(journal_revision_status(j, "r0", "applied", NULL), 0);

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64 * 1024;	/* beyond what the journal holds now */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	big = xcalloc(1, 8193);
	memset(big, 'x', 8192);
	for (int i = 0; i < 64 && !failed; i++) {
		char *rev = xasprintf("r%d", i + 1);

		failed = journal_fail(j, rev, "api", big) < 0;
		free(rev);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(failed);
	assert_int_equal(journal_health(j, &n, err), 1);
	assert_true(n >= 1);
	assert_non_null(strstr(err, p));
	print_message("# journal error: %s\n", err);
	/* what was written before is still there */
	assert_int_equal(journal_quarantined(j, "r0", "api", &reason), 1);
	assert_string_equal(reason, "first");
	free(reason);
	/* room again: the next write passes and the failure state ends, also an
	 * in-sync cycle's status that did not change (written while failing) */
	assert_int_equal(journal_revision_status(j, "r0", "applied", NULL), 0);
	assert_int_equal(journal_health(j, &n, err), 0);
	assert_int_equal(journal_fail(j, "r99", "api", "later"), 0);
	assert_int_equal(journal_health(j, &n, err), 0);
	assert_true(n >= 1);
	assert_string_equal(err, "");
	free(big);
	journal_close(j);
	free(p);
	remove_journal(dir);
}

static void
remove_db(char *dir, char *p)
{
	char *x;

	unlink(p);
	x = xasprintf("%s-wal", p);
	unlink(x);
	free(x);
	x = xasprintf("%s-shm", p);
	unlink(x);
	free(x);
	free(p);
	assert_int_equal(rmdir(dir), 0);
}

/* The outcome of the newest cycle, as history shows it ("" while open). */
static char *
newest_outcome(struct journal *j)
{
	json_t *h = journal_history(j, 1);
	const char *o = json_string_value(json_object_get(json_array_get(h, 0), "outcome"));
	char *out = xstrdup(o ? o : "");

	assert_int_equal(json_array_size(h), 1);
	json_decref(h);
	return out;
}

/* A backup run or reconcilerctl opens the journal read-write while the
 * daemon's cycle runs: the cycle stays open. Only the daemon, under the
 * state directory's lock, marks what a crash cut short. */
static void
test_cycle_recovery(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], *p, *o;
	struct journal *daemon = NULL, *other = NULL;
	int64_t id;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&daemon, p, 0, err), 0);
	id = journal_cycle_begin(daemon, "abc", "poll");
	assert_true(id > 0);

	assert_int_equal(journal_open(&other, p, 0, err), 0);
	o = newest_outcome(other);
	assert_string_equal(o, "");
	free(o);
	journal_close(other);
	o = newest_outcome(daemon);
	assert_string_equal(o, "");
	free(o);
	assert_int_equal(journal_cycle_end(daemon, id, "converged", NULL), 0);
	o = newest_outcome(daemon);
	assert_string_equal(o, "converged");
	free(o);

	/* the daemon dies mid-cycle; the next one recovers */
	assert_true(journal_cycle_begin(daemon, "abc", "poll") > id);
	journal_close(daemon);
	assert_int_equal(journal_open(&daemon, p, 0, err), 0);
	o = newest_outcome(daemon);
	assert_string_equal(o, "");
	free(o);
	assert_int_equal(journal_recover(daemon), 0);
	o = newest_outcome(daemon);
	assert_string_equal(o, "interrupted");
	free(o);
	journal_close(daemon);
	remove_db(dir, p);
}

/* A cycle that only repeats the one before folds into its row: the row and
 * actions of the repeat go, the first row counts it. */
static void
test_cycle_repeat(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], *p;
	struct journal *j = NULL;
	int64_t first, again, other;
	json_t *h, *c;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&j, p, 0, err), 0);
	first = journal_cycle_begin(j, "abc", "poll");
	assert_int_equal(journal_action(j, first, "abc", "web", "blocked", NULL, "blocked",
	    "a container not managed by this project holds the name", 0, NULL), 0);
	assert_int_equal(journal_cycle_end(j, first, "degraded", NULL), 0);
	for (int i = 0; i < 3; i++) {
		again = journal_cycle_begin(j, "abc", "poll");
		assert_int_equal(journal_action(j, again, "abc", "web", "blocked", NULL, "blocked",
		    "a container not managed by this project holds the name", 0, NULL), 0);
		assert_int_equal(journal_cycle_end(j, again, "degraded", NULL), 0);
		assert_int_equal(journal_cycle_repeat(j, first, again), 0);
	}
	h = journal_history(j, 100);
	assert_int_equal(json_array_size(h), 1);
	c = json_array_get(h, 0);
	assert_int_equal(json_integer_value(json_object_get(c, "cycle")), first);
	assert_int_equal(json_integer_value(json_object_get(c, "repeats")), 3);
	assert_true(json_integer_value(json_object_get(c, "last_repeat")) > 0);
	assert_int_equal(json_array_size(json_object_get(c, "actions")), 1);
	json_decref(h);

	/* a cycle that did not repeat keeps its row, and counts none */
	other = journal_cycle_begin(j, "def", "poll");
	assert_int_equal(journal_cycle_end(j, other, "error", "engine: down"), 0);
	h = journal_history(j, 100);
	assert_int_equal(json_array_size(h), 2);
	c = json_array_get(h, 0);
	assert_int_equal(json_integer_value(json_object_get(c, "repeats")), 0);
	assert_true(json_is_null(json_object_get(c, "last_repeat")));
	json_decref(h);
	assert_int_equal(journal_cycle_repeat(j, other, other), -1);
	journal_close(j);
	remove_db(dir, p);
}

/* A rollout's step times are kept beside its action and read back in
 * order; an action without them has no "steps". */
static void
test_action_steps(void **state)
{
	char dir[] = "/tmp/test-journal.XXXXXX", err[ERR_LEN], *p;
	struct journal *j = NULL;
	json_t *steps = json_pack("{s:i,s:i,s:i}", "created", 12, "healthy", 1040, "renamed", 1051);
	json_t *timing = json_pack("{s:I,s:O}", "began", (json_int_t)1764750000123LL, "steps",
	    steps);
	json_t *h, *acts;
	int64_t c;

	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/journal.db", dir);
	assert_int_equal(journal_open(&j, p, 0, err), 0);
	c = journal_cycle_begin(j, "abc", "poll");
	assert_int_equal(journal_action(j, c, "abc", "web", "recreate", NULL, "ok", NULL, 1100,
	    timing), 0);
	assert_int_equal(journal_action(j, c, "abc", "db", "start", NULL, "ok", NULL, 5, NULL), 0);
	assert_int_equal(journal_cycle_end(j, c, "converged", NULL), 0);
	h = journal_history(j, 10);
	acts = json_object_get(json_array_get(h, 0), "actions");
	assert_int_equal(json_array_size(acts), 2);
	assert_true(json_equal(json_object_get(json_array_get(acts, 0), "steps"), steps));
	assert_string_equal(json_object_iter_key(json_object_iter(json_object_get(
	    json_array_get(acts, 0), "steps"))), "created");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(acts, 0), "began")),
	    1764750000123LL);
	assert_null(json_object_get(json_array_get(acts, 1), "steps"));
	json_decref(h);
	json_decref(timing);
	json_decref(steps);
	journal_close(j);
	remove_db(dir, p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backups_order),
		cmocka_unit_test(test_serving),
		cmocka_unit_test(test_revision_status_on_change),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_cycle_recovery),
		cmocka_unit_test(test_cycle_repeat),
		cmocka_unit_test(test_action_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
