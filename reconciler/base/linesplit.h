/*
 * linesplit: whole lines out of a byte stream that arrives in pieces (a pipe,
 * an HTTP body): a partial line is kept across feeds, each complete line goes
 * to a callback, and a line longer than the bound is skipped whole and
 * reported once, never cut into pieces that look like lines. Pure: no I/O.
 */
#ifndef RECONCILER_LINESPLIT_H
#define RECONCILER_LINESPLIT_H

#include "util.h"

#include <stddef.h>

struct linesplit {
	struct buf line;	/* the line so far, without its '\n' */
	size_t max;		/* longest line passed on, in bytes without the '\n' */
	size_t skipped;		/* > 0: bytes of an over-long line dropped so far */
};

/* A complete line, without its '\n', NUL-terminated (it may hold other NULs:
 * len says where it ends); borrowed until the callback returns. 0 goes on;
 * anything else stops the feed, which returns it. */
typedef int (*linesplit_line_cb)(char *line, size_t len, void *payload);
/* A line over the bound, once its end is seen (or the stream's): len bytes
 * were dropped. Same return convention. */
typedef int (*linesplit_long_cb)(size_t len, void *payload);

void linesplit_init(struct linesplit *ls, size_t max);
void linesplit_release(struct linesplit *ls);
/* Splits data; 0 when every line was taken, else what a callback returned
 * (the rest of data is then dropped: the caller stops reading). */
int linesplit_feed(struct linesplit *ls, const char *data, size_t len, linesplit_line_cb line,
    linesplit_long_cb too_long, void *payload);
/* At the end of the stream: a last line without its '\n' is passed on (or
 * reported, when over the bound); the splitter is then empty. */
int linesplit_finish(struct linesplit *ls, linesplit_line_cb line, linesplit_long_cb too_long,
    void *payload);
/* Forgets a partial line (a stream that broke off in the middle of one). */
void linesplit_reset(struct linesplit *ls);

#endif
