/* backup: dump names, retention (pure), and a run's files on disk:
 * checksum sidecars, verification and pruning in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#include "backup.h"
#include "log.h"
#include "util.h"

static void
test_name_match(void **state)
{
	time_t when = 0;

	assert_int_equal(backup_name_match("db", "db-20261124T030000Z.dump.gz", &when), 1);
	assert_int_equal(when, 1795489200);
	assert_int_equal(backup_name_match("db", "db-20261124T030000Z.dump", NULL), 1);
	/* another backup whose name starts the same, or extends it */
	assert_int_equal(backup_name_match("db", "db2-20261124T030000Z.dump.gz", NULL), 0);
	assert_int_equal(backup_name_match("db", "db-extra-20261124T030000Z.dump.gz", NULL), 0);
	assert_int_equal(backup_name_match("db-extra", "db-20261124T030000Z.dump.gz", NULL), 0);
	/* sidecars, temporary files, other suffixes, bad dates */
	assert_int_equal(backup_name_match("db", "db-20261124T030000Z.dump.gz.sha256", NULL), 0);
	assert_int_equal(backup_name_match("db", "db-20261124T030000Z.dump.gz.tmp", NULL), 0);
	assert_int_equal(backup_name_match("db", "db-20261124T030000Z.sql", NULL), 0);
	assert_int_equal(backup_name_match("db", "db-20261324T030000Z.dump", NULL), 0);
	assert_int_equal(backup_name_match("db", "db-2026112T4030000Z.dump", NULL), 0);
	assert_int_equal(backup_name_match("db", "db-", NULL), 0);
	assert_int_equal(backup_name_match("db", "db", NULL), 0);
}

static void
test_retention(void **state)
{
	static char path[] = "x";
	struct mf_backup b = { 0 };
	/* newest first, a day apart; the third has no sidecar */
	struct backup_file f[5] = {
		{ path, 500000, 1, 1 }, { path, 413600, 1, 1 }, { path, 327200, 1, 0 },
		{ path, 240800, 1, 1 }, { path, 154400, 1, 1 },
	};
	int keep[5];
	time_t now = 500000 + 60;

	b.keep_last = 2;
	backup_retention(&b, f, 5, now, keep);
	assert_int_equal(keep[0], 1);
	assert_int_equal(keep[1], 1);
	assert_int_equal(keep[2], 1);	/* not proven ours */
	assert_int_equal(keep[3], 0);
	assert_int_equal(keep[4], 0);
	/* max_age 36h alone: a and b are younger; the newest always stays */
	b.keep_last = 0;
	b.max_age = 36 * 3600 * 1000LL;
	backup_retention(&b, f, 5, now, keep);
	assert_int_equal(keep[0] + keep[1] + keep[3] + keep[4], 2);
	assert_int_equal(keep[1], 1);
	backup_retention(&b, f, 5, now + 30 * 86400, keep);
	assert_int_equal(keep[0], 1);
	assert_int_equal(keep[1] + keep[3] + keep[4], 0);
	/* both: a file either rule keeps stays */
	b.keep_last = 3;
	backup_retention(&b, f, 5, now, keep);
	assert_int_equal(keep[3], 1);
	assert_int_equal(keep[4], 0);
}

static void
put(const char *dir, const char *name, const void *data, size_t len, int sidecar)
{
	char *path = xasprintf("%s/%s", dir, name), err[ERR_LEN];

	assert_int_equal(file_write_atomic(path, data, len, 0600, err), 0);
	if (sidecar) {
		char *cmd = xasprintf("cd '%s' && sha256sum '%s' > '%s.sha256'", dir, name, name);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	free(path);
}

static void
test_files_verify_prune(void **state)
{
	char dir[] = "/tmp/test-backup.XXXXXX", name[] = "db", err[ERR_LEN], *p, *cmd;
	struct mf_backup b = { 0 };
	struct backup_file *f;
	size_t n;
	uint64_t raw;
	int removed;

	assert_non_null(mkdtemp(dir));
	b.name = name;
	b.destination = dir;
	b.keep_last = 1;
	/* a real gzip stream */
	p = xasprintf("%s/src", dir);
	put(dir, "src", "hello, dump\n", 12, 0);
	/* two gzip members back to back, as `cat a.gz b.gz` makes: one dump */
	cmd = xasprintf("gzip -c '%s' > '%s/db-20260101T000000Z.dump.gz' && gzip -c '%s' >> "
	    "'%s/db-20260101T000000Z.dump.gz' && rm '%s'", p, dir, p, dir, p);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(p);
	cmd = xasprintf("cd '%s' && sha256sum db-20260101T000000Z.dump.gz > "
	    "db-20260101T000000Z.dump.gz.sha256", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	put(dir, "db-20250101T000000Z.dump", "old", 3, 1);
	put(dir, "db-20240101T000000Z.dump", "no sidecar", 10, 0);
	put(dir, "db2-20200101T000000Z.dump", "other", 5, 1);
	put(dir, "notes.txt", "x", 1, 0);
	/* truncated gzip, with a matching sidecar: checksum ok, content not */
	put(dir, "db-20230101T000000Z.dump.gz", "\x1f\x8b\x08\x00", 4, 1);

	assert_int_equal(backup_files(&b, &f, &n, err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(strrchr(f[0].path, '/') + 1, "db-20260101T000000Z.dump.gz");
	assert_int_equal(f[2].sidecar, 0);
	p = xstrdup(f[0].path);
	backup_files_free(f, n);

	assert_int_equal(backup_verify(p, &raw, err), 0);
	assert_int_equal(raw, 24);
	free(p);
	p = xasprintf("%s/db-20230101T000000Z.dump.gz", dir);
	assert_int_equal(backup_verify(p, &raw, err), -1);
	assert_non_null(strstr(err, "truncated"));
	free(p);
	p = xasprintf("%s/db-20240101T000000Z.dump", dir);
	assert_int_equal(backup_checksum(p, err), 1);
	assert_non_null(strstr(err, "no checksum file"));
	free(p);
	/* a changed byte */
	put(dir, "db-20250101T000000Z.dump", "olD", 3, 0);
	p = xasprintf("%s/db-20250101T000000Z.dump", dir);
	assert_int_equal(backup_checksum(p, err), 1);
	assert_non_null(strstr(err, "does not match"));
	free(p);

	assert_int_equal(backup_prune(&b, time(NULL), NULL, &removed, err), 0);
	assert_int_equal(removed, 2);	/* 2025 and 2023, with their sidecars */
	p = xasprintf("%s/db-20250101T000000Z.dump.sha256", dir);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	cmd = xasprintf("test \"$(ls '%s' | tr '\\n' ' ')\" = 'db-20240101T000000Z.dump "
	    "db-20260101T000000Z.dump.gz db-20260101T000000Z.dump.gz.sha256 "
	    "db2-20200101T000000Z.dump db2-20200101T000000Z.dump.sha256 notes.txt '", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(rmtree(dir), 0);
}

/* A dump named in the future (the clock was once ahead) is the "newest":
 * with keep_last 1 the dump a run has just written must still stay. */
static void
test_prune_keeps_fresh(void **state)
{
	char dir[] = "/tmp/rt-unit-backup.XXXXXX", name[] = "db", err[ERR_LEN], *fresh, *p;
	struct mf_backup b = { 0 };
	int removed;

	(void)state;
	assert_non_null(mkdtemp(dir));
	b.name = name;
	b.destination = dir;
	b.keep_last = 1;
	put(dir, "db-20990101T000000Z.dump", "ahead", 5, 1);
	put(dir, "db-20261124T030000Z.dump", "fresh", 5, 1);
	fresh = xasprintf("%s/db-20261124T030000Z.dump", dir);
	assert_int_equal(backup_prune(&b, time(NULL), fresh, &removed, err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(access(fresh, F_OK), 0);
	p = xasprintf("%s/db-20990101T000000Z.dump", dir);
	assert_int_equal(access(p, F_OK), 0);
	/* without it, retention alone keeps the newest by name */
	assert_int_equal(backup_prune(&b, time(NULL), NULL, &removed, err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(access(fresh, F_OK), -1);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	free(fresh);
	assert_int_equal(rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_match),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_files_verify_prune),
		cmocka_unit_test(test_prune_keeps_fresh),
	};

	log_setup(LOG_TEXT, LOG_ERROR);	/* retention's info lines are not TAP */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
