/*
 * lazy_zlib: zlib's functions this program calls (backups: gzip out, gunzip
 * back), opened on first use (lazylib.h). A function newly called elsewhere
 * fails to link until it is listed here.
 */
#include "lazylib_int.h"

#include <zlib.h>

#define LAZYLIB_THIS lazylib__zlib

/* deflateInit2 and inflateInit2 are macros over these, passing the header's
 * version and z_stream size, which zlib checks. */
#define ZLIB_FUNCS(X, V) \
	X(int, deflate, (z_streamp strm, int flush), (strm, flush)) \
	X(int, deflateEnd, (z_streamp strm), (strm)) \
	X(int, deflateInit2_, (z_streamp strm, int level, int method, int windowBits, \
	    int memLevel, int strategy, const char *version, int stream_size), \
	    (strm, level, method, windowBits, memLevel, strategy, version, stream_size)) \
	X(int, inflate, (z_streamp strm, int flush), (strm, flush)) \
	X(int, inflateEnd, (z_streamp strm), (strm)) \
	X(int, inflateInit2_, (z_streamp strm, int windowBits, const char *version, \
	    int stream_size), (strm, windowBits, version, stream_size)) \
	X(int, inflateReset, (z_streamp strm), (strm))

static struct {
	ZLIB_FUNCS(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
} fn;

static void
resolve(struct lazylib *lib, void *h)
{
	ZLIB_FUNCS(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
}

struct lazylib lazylib__zlib = LAZYLIB_INIT("libz.so.1", "zlib1g", resolve);

ZLIB_FUNCS(LAZYLIB_STUB_X, LAZYLIB_STUB_V)
