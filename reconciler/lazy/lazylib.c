/*
 * lazylib: the one-time dlopen behind the stubs of lazy_<lib>.c.
 */
#include "lazylib_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static struct lazylib *const libs[LAZYLIB_COUNT] = {
	[LAZYLIB_CURL] = &lazylib__curl,
	[LAZYLIB_GIT] = &lazylib__git,
	[LAZYLIB_SQLITE] = &lazylib__sqlite,
	[LAZYLIB_CRYPTO] = &lazylib__crypto,
	[LAZYLIB_ZLIB] = &lazylib__zlib,
};

void *
lazylib__sym(struct lazylib *lib, void *handle, const char *name)
{
	void *p;

	(void)dlerror();
	p = dlsym(handle, name);
	if (!p && !lib->failed) {
		const char *why = dlerror();

		lib->failed = 1;
		snprintf(lib->err, sizeof(lib->err), "%s: %s is missing (%s): install "
		    "Debian's package %s of the version this program was built for",
		    lib->soname, name, why ? why : "no such symbol", lib->package);
	}
	return p;
}

/* Under lib->mu. The handle is kept for the life of the process: the
 * library is never closed, as if the loader had opened it. */
static int
open_locked(struct lazylib *lib)
{
	void *h;

	if (atomic_load_explicit(&lib->ready, memory_order_relaxed))
		return 0;
	if (lib->failed)
		return -1;
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();

		lib->failed = 1;
		snprintf(lib->err, sizeof(lib->err), "cannot load %s (%s): install "
		    "Debian's package %s", lib->soname, why ? why : "unknown reason",
		    lib->package);
		return -1;
	}
	lib->resolve(lib, h);
	if (lib->failed)
		return -1;
	atomic_store_explicit(&lib->ready, 1, memory_order_release);
	return 0;
}

int
lazylib_load(enum lazylib_id id, char *err)
{
	struct lazylib *lib = libs[id];
	int rc;

	if (atomic_load_explicit(&lib->ready, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&lib->mu);
	rc = open_locked(lib);
	if (rc < 0)
		errf(err, "%s", lib->err);
	pthread_mutex_unlock(&lib->mu);
	return rc;
}

int
lazylib_load_all(char *err)
{
	for (int id = 0; id < LAZYLIB_COUNT; id++)
		if (lazylib_load((enum lazylib_id)id, err) < 0)
			return -1;
	return 0;
}

int
lazylib_loaded(enum lazylib_id id)
{
	return atomic_load_explicit(&libs[id]->ready, memory_order_acquire);
}

void
lazylib__need(struct lazylib *lib)
{
	int rc;

	pthread_mutex_lock(&lib->mu);
	rc = open_locked(lib);
	pthread_mutex_unlock(&lib->mu);
	if (rc == 0)
		return;
	/* program_invocation_short_name: this runs in whichever program
	 * reached the library first */
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, lib->err);
	exit(2);
}
