/* subproc (base/subproc.c): a child run without a shell, stdin from memory,
 * bounded outputs, the exit code, a deadline, and a child that never reads
 * its stdin. */
#include "helpers.h"
#include "subproc.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void
test_stdin_to_stdout(void **state)
{
	const char *argv[] = { "cat", NULL };
	struct subproc_result r;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(subproc_run(argv, "hello\n", 6, 1024, 10000, &r, err), 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "hello\n");
	assert_int_equal(r.outlen, 6);
	subproc_result_release(&r);
}

static void
test_status_and_stderr(void **state)
{
	const char *argv[] = { "sh", "-c", "echo first >&2; echo 'sh: last words' >&2; exit 3",
	    NULL };
	struct subproc_result r;
	char err[ERR_LEN], line[128];

	(void)state;
	assert_int_equal(subproc_run(argv, NULL, 0, 1024, 10000, &r, err), 0);
	assert_int_equal(r.status, 3);
	subproc_last_line(&r, line, sizeof(line));
	assert_string_equal(line, "sh: last words");
	subproc_result_release(&r);
}

static void
test_limits(void **state)
{
	const char *big[] = { "sh", "-c", "head -c 100000 /dev/zero", NULL };
	const char *slow[] = { "sleep", "30", NULL };
	const char *deaf[] = { "true", NULL };
	const char *none[] = { "/nonexistent/tool", NULL };
	struct subproc_result r;
	char err[ERR_LEN], *in;

	(void)state;
	assert_int_equal(subproc_run(big, NULL, 0, 1000, 10000, &r, err), -1);
	assert_non_null(strstr(err, "over 1000 bytes"));
	subproc_result_release(&r);
	assert_int_equal(subproc_run(slow, NULL, 0, 1000, 300, &r, err), -1);
	assert_non_null(strstr(err, "did not finish"));
	subproc_result_release(&r);
	/* a child that exits without reading a large stdin: no SIGPIPE here */
	in = xcalloc(1, 1 << 20);
	assert_int_equal(subproc_run(deaf, in, 1 << 20, 1000, 10000, &r, err), 0);
	assert_int_equal(r.status, 0);
	subproc_result_release(&r);
	free(in);
	assert_int_equal(subproc_run(none, NULL, 0, 1000, 1000, &r, err), -1);
	assert_non_null(strstr(err, "/nonexistent/tool"));
	subproc_result_release(&r);
	assert_true(subproc_have("sh"));
	assert_false(subproc_have("no-such-tool-here"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdin_to_stdout),
		cmocka_unit_test(test_status_and_stderr),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
