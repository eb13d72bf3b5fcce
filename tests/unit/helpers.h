/* Shared helpers for the cmocka unit tests. */
#ifndef TESTS_HELPERS_H
#define TESTS_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"
#include "manifest.h"

/* Parses text; returns the manifest (or NULL) and leaves errors in d. */
static inline struct manifest *
parse_text(const char *text, struct diag *d)
{
	struct manifest *m = NULL;

	diag_init(d, "t.yaml");
	manifest_parse(&m, "t.yaml", text, strlen(text), d);
	return m;
}

/* Asserts that text is invalid and that some error starts with `want`
 * ("LINE:COL: path: message" prefix) — prints every error otherwise. */
static inline void
assert_error(const char *text, const char *want)
{
	struct diag d;
	struct manifest *m = parse_text(text, &d);
	int found = 0;

	assert_null(m);
	assert_true(d.n > 0);
	for (size_t i = 0; i < d.n; i++) {
		char line[1024];

		snprintf(line, sizeof(line), "%d:%d: %s: %s", d.v[i].line, d.v[i].col, d.v[i].path,
		    d.v[i].msg);
		if (strncmp(line, want, strlen(want)) == 0)
			found = 1;
	}
	if (!found) {
		print_error("wanted: %s\ngot:\n", want);
		for (size_t i = 0; i < d.n; i++)
			print_error("  %d:%d: %s: %s\n", d.v[i].line, d.v[i].col, d.v[i].path,
			    d.v[i].msg);
	}
	assert_true(found);
	diag_release(&d);
}

/* Prints the first errors of d (the context of a failing assertion). */
static inline void
print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n && i < 5; i++)
		print_error("  %d:%d: %s: %s\n", d->v[i].line, d->v[i].col, d->v[i].path,
		    d->v[i].msg);
}

/* Parses len bytes of text, which must be a valid manifest (else the errors
 * are printed and the test fails). */
static inline struct manifest *
parse_valid(const char *text, size_t len)
{
	struct diag d;
	struct manifest *m = NULL;

	diag_init(&d, "t.yaml");
	manifest_parse(&m, "t.yaml", text, len, &d);
	if (!m || d.n)
		print_diag(&d);
	assert_int_equal(d.n, 0);
	assert_non_null(m);
	diag_release(&d);
	return m;
}

#define MF_HEAD "version: 1\nproject: t\n"
#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

#endif
