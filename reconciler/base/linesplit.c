/*
 * linesplit: see linesplit.h.
 */
#include "linesplit.h"

#include <string.h>

void
linesplit_init(struct linesplit *ls, size_t max)
{
	buf_init(&ls->line, max);
	ls->max = max;
	ls->skipped = 0;
}

void
linesplit_release(struct linesplit *ls)
{
	buf_release(&ls->line);
	ls->skipped = 0;
}

void
linesplit_reset(struct linesplit *ls)
{
	buf_reset(&ls->line);
	ls->skipped = 0;
}

/* The line that just ended goes to its callback. */
static int
line_end(struct linesplit *ls, linesplit_line_cb line, linesplit_long_cb too_long,
    void *payload)
{
	size_t n = ls->skipped;
	int r;

	if (n) {
		ls->skipped = 0;
		return too_long ? too_long(n, payload) : 0;
	}
	if (!ls->line.data)
		buf_add(&ls->line, "", 0);	/* an empty line is a line */
	r = line(ls->line.data, ls->line.len, payload);
	buf_reset(&ls->line);
	return r;
}

int
linesplit_feed(struct linesplit *ls, const char *data, size_t len, linesplit_line_cb line,
    linesplit_long_cb too_long, void *payload)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t k = nl ? (size_t)(nl - data) : len;
		int r;

		if (ls->skipped) {
			ls->skipped += k;
		} else if (k > ls->max - ls->line.len) {
			/* over the bound: what was kept goes too, the rest is counted */
			ls->skipped = ls->line.len + k;
			buf_reset(&ls->line);
		} else {
			buf_add(&ls->line, data, k);	/* fits: checked above */
		}
		if (!nl)
			break;
		data += k + 1;
		len -= k + 1;
		if ((r = line_end(ls, line, too_long, payload)) != 0)
			return r;
	}
	return 0;
}

int
linesplit_finish(struct linesplit *ls, linesplit_line_cb line, linesplit_long_cb too_long,
    void *payload)
{
	if (!ls->skipped && !ls->line.len)
		return 0;
	return line_end(ls, line, too_long, payload);
}
