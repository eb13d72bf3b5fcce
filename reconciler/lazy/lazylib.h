/*
 * lazylib: the libraries only some commands need (libcurl, libgit2, SQLite,
 * libcrypto, zlib) are opened with dlopen on their first call, not by the
 * dynamic loader at start-up, so `reconcilerctl version` or `validate` does
 * not map and relocate their forty dependencies. Callers call the libraries'
 * own functions as usual: lazy_<lib>.c define functions of the same names
 * that open the library once and call through a table (lazylib_int.h).
 */
#ifndef RECONCILER_LAZYLIB_H
#define RECONCILER_LAZYLIB_H

enum lazylib_id {
	LAZYLIB_CURL,
	LAZYLIB_GIT,
	LAZYLIB_SQLITE,
	LAZYLIB_CRYPTO,
	LAZYLIB_ZLIB,
	LAZYLIB_COUNT,
};

/* Opens the library now (once; later calls only report). 0, or -1 with err
 * (ERR_LEN bytes) naming the library, the loader's reason and the Debian
 * package that ships it. A program that always needs a library (the daemon)
 * calls this at start-up and refuses to start; without it, the first call
 * into a library that cannot be opened prints that message and exits 2. */
int lazylib_load(enum lazylib_id id, char *err);

/* Every library, for a program that needs them all (the daemon). */
int lazylib_load_all(char *err);

/* Whether the library has been opened (for tests). */
int lazylib_loaded(enum lazylib_id id);

#endif
