/*
 * What lazylib.c and the stub files lazy_<lib>.c share (lazylib__ names):
 * a library's description and the one-time open behind every stub.
 */
#ifndef RECONCILER_LAZYLIB_INT_H
#define RECONCILER_LAZYLIB_INT_H

#include "lazylib.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>

struct lazylib {
	const char *soname;	/* what dlopen asks for: the ABI we built against */
	const char *package;	/* Debian's package that ships it */
	/* Fills the stub file's table from the handle with lazylib__sym. */
	void (*resolve)(struct lazylib *lib, void *handle);
	atomic_int ready;	/* 1 once the table is filled */
	int failed;		/* the open failed: err says why (under mu) */
	pthread_mutex_t mu;
	char err[ERR_LEN];
};

#define LAZYLIB_INIT(soname, package, resolve) \
	{ (soname), (package), (resolve), 0, 0, PTHREAD_MUTEX_INITIALIZER, "" }

extern struct lazylib lazylib__curl, lazylib__git, lazylib__sqlite, lazylib__crypto,
    lazylib__zlib;

/* The address of name in handle; a missing one marks the library failed. */
void *lazylib__sym(struct lazylib *lib, void *handle, const char *name);
/* Opens lib, or prints why it cannot and exits 2 (a stub has no way to fail). */
void lazylib__need(struct lazylib *lib);

/* Each stub starts so: one atomic load once the library is open. */
#define LAZYLIB_NEED(lib) do { \
	if (!atomic_load_explicit(&(lib)->ready, memory_order_acquire)) \
		lazylib__need(lib); \
} while (0)

/*
 * The stubs, from a list of X(ret, name, params, args) for functions that
 * return a value and V(name, params, args) for void ones. params are the
 * header's own, so the compiler checks each stub against the library's
 * prototype; the table's types are taken from the prototypes (__typeof__).
 */
/* NOLINTBEGIN(bugprone-macro-parentheses): a member's name takes none */
#define LAZYLIB_FIELD_X(ret, name, params, args) __typeof__(name) *name;
#define LAZYLIB_FIELD_V(name, params, args) __typeof__(name) *name;
/* NOLINTEND(bugprone-macro-parentheses) */
#define LAZYLIB_SYM_X(ret, name, params, args) \
	fn.name = (__typeof__(name) *)lazylib__sym(lib, h, #name);
#define LAZYLIB_SYM_V(name, params, args) \
	fn.name = (__typeof__(name) *)lazylib__sym(lib, h, #name);
/* A file defines LAZYLIB_THIS (its struct lazylib) before using these. */
#define LAZYLIB_STUB_X(ret, name, params, args) \
	ret name params { LAZYLIB_NEED(&LAZYLIB_THIS); return fn.name args; }
#define LAZYLIB_STUB_V(name, params, args) \
	void name params { LAZYLIB_NEED(&LAZYLIB_THIS); fn.name args; }

#endif
