/*
 * lazy_sqlite: SQLite's functions this program calls (the journal: the
 * daemon and `reconcilerctl history`), opened on first use (lazylib.h). A
 * function newly called elsewhere fails to link until it is listed here.
 */
#include "lazylib_int.h"

#include <sqlite3.h>
#include <stdarg.h>

#define LAZYLIB_THIS lazylib__sqlite

#define SQLITE_FUNCS(X, V) \
	X(int, sqlite3_bind_int, (sqlite3_stmt *st, int i, int v), (st, i, v)) \
	X(int, sqlite3_bind_int64, (sqlite3_stmt *st, int i, sqlite3_int64 v), \
	    (st, i, v)) \
	X(int, sqlite3_bind_null, (sqlite3_stmt *st, int i), (st, i)) \
	X(int, sqlite3_bind_text, (sqlite3_stmt *st, int i, const char *v, int n, \
	    void (*del)(void *)), (st, i, v, n, del)) \
	X(int, sqlite3_busy_timeout, (sqlite3 *db, int ms), (db, ms)) \
	X(int, sqlite3_changes, (sqlite3 *db), (db)) \
	X(int, sqlite3_close, (sqlite3 *db), (db)) \
	X(int, sqlite3_column_int, (sqlite3_stmt *st, int col), (st, col)) \
	X(sqlite3_int64, sqlite3_column_int64, (sqlite3_stmt *st, int col), (st, col)) \
	X(const unsigned char *, sqlite3_column_text, (sqlite3_stmt *st, int col), \
	    (st, col)) \
	X(int, sqlite3_column_type, (sqlite3_stmt *st, int col), (st, col)) \
	X(const char *, sqlite3_errmsg, (sqlite3 *db), (db)) \
	X(const char *, sqlite3_errstr, (int rc), (rc)) \
	X(int, sqlite3_exec, (sqlite3 *db, const char *sql, \
	    int (*cb)(void *, int, char **, char **), void *arg, char **errmsg), \
	    (db, sql, cb, arg, errmsg)) \
	X(int, sqlite3_finalize, (sqlite3_stmt *st), (st)) \
	V(sqlite3_free, (void *p), (p)) \
	X(sqlite3_int64, sqlite3_last_insert_rowid, (sqlite3 *db), (db)) \
	X(int, sqlite3_open_v2, (const char *filename, sqlite3 **db, int flags, \
	    const char *vfs), (filename, db, flags, vfs)) \
	X(int, sqlite3_prepare_v2, (sqlite3 *db, const char *sql, int n, \
	    sqlite3_stmt **st, const char **tail), (db, sql, n, st, tail)) \
	X(int, sqlite3_reset, (sqlite3_stmt *st), (st)) \
	X(int, sqlite3_step, (sqlite3_stmt *st), (st))

/* The variadic one: in the table, its stub written out below. */
#define SQLITE_VARIADIC(X, V) \
	X(int, sqlite3_db_config, (sqlite3 *db, int op, ...), ())

static struct {
	SQLITE_FUNCS(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
	SQLITE_VARIADIC(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
} fn;

static void
resolve(struct lazylib *lib, void *h)
{
	SQLITE_FUNCS(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
	SQLITE_VARIADIC(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
}

struct lazylib lazylib__sqlite = LAZYLIB_INIT("libsqlite3.so.0", "libsqlite3-0", resolve);

SQLITE_FUNCS(LAZYLIB_STUB_X, LAZYLIB_STUB_V)

/*
 * A variadic function cannot pass its own "..." on: the stub reads the
 * arguments of the one op this program uses, SQLITE_DBCONFIG_LOOKASIDE
 * (void *buffer, int slot size, int slots), with their own types; any other
 * op is refused as SQLite refuses an unknown one.
 */
int
sqlite3_db_config(sqlite3 *db, int op, ...)
{
	va_list ap;
	void *buf;
	int size, n;

	LAZYLIB_NEED(&lazylib__sqlite);
	if (op != SQLITE_DBCONFIG_LOOKASIDE)
		return SQLITE_ERROR;
	va_start(ap, op);
	buf = va_arg(ap, void *);
	size = va_arg(ap, int);
	n = va_arg(ap, int);
	va_end(ap);
	return fn.sqlite3_db_config(db, op, buf, size, n);
}
