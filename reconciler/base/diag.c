/*
 * diag: collected errors with positions; see diag.h.
 */
#include "diag.h"
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
diag_init(struct diag *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = xstrdup(file ? file : "-");
}

void
diag_release(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].msg);
	}
	free(d->v);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

void
diag_add(struct diag *d, int line, int col, const char *path, const char *fmt, ...)
{
	size_t max = d->max ? d->max : 200;
	va_list ap;
	char *msg;

	if (d->n >= max)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = xstrdup("out of memory");
	va_end(ap);
	/* The same error reached twice (e.g. through an alias) is said once. */
	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].line == line && d->v[i].col == col &&
		    strcmp(d->v[i].msg, msg) == 0 && strcmp(d->v[i].path, path ? path : "") == 0) {
			free(msg);
			return;
		}
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n].line = line;
	d->v[d->n].col = col;
	d->v[d->n].path = xstrdup(path ? path : "");
	d->v[d->n].msg = msg;
	d->n++;
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct diag_entry *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return strcmp(x->path, y->path);
}

void
diag_sort(struct diag *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_entry);
}

static char *
entry_string(const struct diag *d, const struct diag_entry *e)
{
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, d->file);
	if (e->line > 0)
		buf_addf(&b, ":%d:%d", e->line, e->col);
	buf_adds(&b, ": ");
	if (*e->path)
		buf_addf(&b, "%s: ", e->path);
	buf_adds(&b, e->msg);
	return buf_detach(&b, NULL);
}

void
diag_print(const struct diag *d, FILE *fp)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = entry_string(d, &d->v[i]);

		fprintf(fp, "%s\n", s);
		free(s);
	}
}

char *
diag_first(const struct diag *d)
{
	return d->n ? entry_string(d, &d->v[0]) : NULL;
}
