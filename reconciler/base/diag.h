/*
 * diag: a list of user-facing errors, each with a source position and a dotted
 * key path, printed as `file:line:col: path: message`, sorted by position.
 */
#ifndef RECONCILER_DIAG_H
#define RECONCILER_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag_entry {
	int line, col;		/* 1-based; 0 when the error has no position */
	char *path;		/* "services.web.image", "" for the document */
	char *msg;
};

struct diag {
	char *file;
	struct diag_entry *v;
	size_t n, cap;
	size_t max;		/* stop recording after this many (0 = 200) */
};

void diag_init(struct diag *d, const char *file);
void diag_release(struct diag *d);
void diag_add(struct diag *d, int line, int col, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void diag_sort(struct diag *d);
/* One line an entry: "file:line:col: path: msg". */
void diag_print(const struct diag *d, FILE *fp);
/* The first entry as one string (for status lines); NULL when empty. */
char *diag_first(const struct diag *d);

#endif
