/*
 * lazy_curl: libcurl's functions this program calls, opened on first use
 * (lazylib.h). A function newly called elsewhere fails to link until it is
 * listed here.
 */
/* curl.h's type-checking macros would rename the stubs of the variadic
 * functions; the callers keep them. */
#define CURL_DISABLE_TYPECHECK 1
#include "lazylib_int.h"

#include <curl/curl.h>
#include <stdarg.h>

#define LAZYLIB_THIS lazylib__curl

#define CURL_FUNCS(X, V) \
	V(curl_easy_cleanup, (CURL *curl), (curl)) \
	X(char *, curl_easy_escape, (CURL *handle, const char *string, int length), \
	    (handle, string, length)) \
	X(CURL *, curl_easy_init, (void), ()) \
	X(CURLcode, curl_easy_perform, (CURL *curl), (curl)) \
	V(curl_easy_reset, (CURL *curl), (curl)) \
	X(const char *, curl_easy_strerror, (CURLcode code), (code)) \
	V(curl_free, (void *p), (p)) \
	V(curl_global_cleanup, (void), ()) \
	X(CURLcode, curl_global_init, (long flags), (flags)) \
	X(struct curl_slist *, curl_slist_append, (struct curl_slist *list, \
	    const char *data), (list, data)) \
	V(curl_slist_free_all, (struct curl_slist *list), (list)) \
	X(CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *curl), (m, curl)) \
	X(CURLMcode, curl_multi_cleanup, (CURLM *m), (m)) \
	X(CURLMsg *, curl_multi_info_read, (CURLM *m, int *msgs_in_queue), \
	    (m, msgs_in_queue)) \
	X(CURLM *, curl_multi_init, (void), ()) \
	X(CURLMcode, curl_multi_perform, (CURLM *m, int *running), (m, running)) \
	X(CURLMcode, curl_multi_poll, (CURLM *m, struct curl_waitfd extra_fds[], \
	    unsigned int extra_nfds, int timeout_ms, int *ret), \
	    (m, extra_fds, extra_nfds, timeout_ms, ret)) \
	X(CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *curl), (m, curl)) \
	X(const char *, curl_multi_strerror, (CURLMcode code), (code))

/* The variadic ones: in the table, their stubs written out below. */
#define CURL_VARIADIC(X, V) \
	X(CURLcode, curl_easy_setopt, (CURL *curl, CURLoption option, ...), ()) \
	X(CURLcode, curl_easy_getinfo, (CURL *curl, CURLINFO info, ...), ())

static struct {
	CURL_FUNCS(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
	CURL_VARIADIC(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
} fn;

static void
resolve(struct lazylib *lib, void *h)
{
	CURL_FUNCS(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
	CURL_VARIADIC(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
}

struct lazylib lazylib__curl = LAZYLIB_INIT("libcurl.so.4", "libcurl4", resolve);

CURL_FUNCS(LAZYLIB_STUB_X, LAZYLIB_STUB_V)

/*
 * A variadic function cannot pass its own "..." on, so each stub reads the
 * one argument the option takes, with the type libcurl itself reads it as
 * (curl's setopt.c): the option's number says it (CURLOPTTYPE_*: long below
 * 10000, then object pointers, function pointers, curl_off_t, blobs). That
 * holds on every ABI, x86-64 and aarch64 included, with no assumption about
 * how variadic arguments are passed.
 */
CURLcode
curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode rc;

	LAZYLIB_NEED(&lazylib__curl);
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT) {
		long v = va_arg(ap, long);

		rc = fn.curl_easy_setopt(curl, option, v);
	} else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
		void *v = va_arg(ap, void *);

		rc = fn.curl_easy_setopt(curl, option, v);
	} else if (option < CURLOPTTYPE_OFF_T) {
		/* read as a generic function pointer, passed on unchanged:
		 * libcurl reads it back as the callback's own type */
		void (*v)(void) = va_arg(ap, void (*)(void));

		rc = fn.curl_easy_setopt(curl, option, v);
	} else if (option < CURLOPTTYPE_BLOB) {
		curl_off_t v = va_arg(ap, curl_off_t);

		rc = fn.curl_easy_setopt(curl, option, v);
	} else {
		void *v = va_arg(ap, void *);	/* struct curl_blob * */

		rc = fn.curl_easy_setopt(curl, option, v);
	}
	va_end(ap);
	return rc;
}

/* Every CURLINFO_* takes one pointer (to a long, a char *, a double, a list,
 * a curl_off_t...), and libcurl reads it as void *. */
CURLcode
curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	void *p;

	LAZYLIB_NEED(&lazylib__curl);
	va_start(ap, info);
	p = va_arg(ap, void *);
	va_end(ap);
	return fn.curl_easy_getinfo(curl, info, p);
}
