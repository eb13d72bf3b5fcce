/* Unit tests: set-image edits exactly one scalar and nothing else. */
#include "helpers.h"
#include "setimage.h"
#include "util.h"

#include <stdlib.h>

#define NEW "r/web@" DIGEST_B

static void
check_edit(const char *src, const char *service, const char *image, const char *want)
{
	char err[ERR_LEN] = "", *out = NULL;
	struct diag d;
	size_t outlen;
	int rc;

	diag_init(&d, "t.yaml");
	rc = setimage_apply("t.yaml", src, strlen(src), service, image, &out, &outlen, &d, err);
	if (rc < 0)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(outlen, strlen(want));
	assert_memory_equal(out, want, outlen);
	free(out);
	diag_release(&d);
}

static void
test_styles(void **state)
{
	/* plain, quoted, flow mapping, trailing comment, CRLF, UTF-8 before it */
	check_edit(MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "  # pinned\n",
	    "web", NEW, MF_HEAD "services:\n  web:\n    image: " NEW "  # pinned\n");
	check_edit(MF_HEAD "services:\n  web:\n    image: \"r/web@" DIGEST_A "\"\n", "web", NEW,
	    MF_HEAD "services:\n  web:\n    image: \"" NEW "\"\n");
	check_edit(MF_HEAD "services:\n  web:\n    image: 'r/web@" DIGEST_A "'\n", "web", NEW,
	    MF_HEAD "services:\n  web:\n    image: '" NEW "'\n");
	check_edit(MF_HEAD "services:\n  web: {image: r/web@" DIGEST_A ", user: x}\n", "web", NEW,
	    MF_HEAD "services:\n  web: {image: " NEW ", user: x}\n");
	check_edit("version: 1\r\nproject: t\r\n# ünïcödé ☃\r\nservices:\r\n  web:\r\n    image: r/web@"
	    DIGEST_A "\r\n", "web", NEW, "version: 1\r\nproject: t\r\n# ünïcödé ☃\r\nservices:\r\n"
	    "  web:\r\n    image: " NEW "\r\n");
	/* only the named service changes */
	check_edit(MF_HEAD "services:\n  a:\n    image: r/web@" DIGEST_A "\n  b:\n    image: r/web@"
	    DIGEST_A "\n", "b", NEW, MF_HEAD "services:\n  a:\n    image: r/web@" DIGEST_A
	    "\n  b:\n    image: " NEW "\n");
}

static void
expect_refusal(const char *src, const char *service, const char *image, const char *msg)
{
	char err[ERR_LEN] = "", *out = NULL;
	struct diag d;
	size_t outlen;

	diag_init(&d, "t.yaml");
	assert_int_equal(setimage_apply("t.yaml", src, strlen(src), service, image, &out, &outlen,
	    &d, err), -1);
	assert_null(out);
	if (!strstr(err, msg))
		print_error("wanted '%s' in '%s'\n", msg, err);
	assert_non_null(strstr(err, msg));
	diag_release(&d);
}

static void
test_refusals(void **state)
{
	const char *ok = MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n";

	expect_refusal(ok, "web", "r/web:latest", "not pinned by digest");
	expect_refusal(ok, "web", "r/web@sha256:abc", "not pinned by digest");
	expect_refusal(ok, "api", NEW, "unknown service 'api'");
	expect_refusal(ok, "web", "r/web@" DIGEST_B " # x", "not pinned");
	expect_refusal(MF_HEAD "services:\n  web:\n    image: r/web:1\n", "web", NEW,
	    "does not validate");
	expect_refusal(MF_HEAD "x-img: &img r/web@" DIGEST_A "\nservices:\n  a:\n    image: *img\n"
	    "  b:\n    image: *img\n", "a", NEW, "YAML alias shared with 'b'");
}

static void
test_unchanged(void **state)
{
	const char *ok = MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n";
	char err[ERR_LEN], *out;
	struct diag d;
	size_t outlen;

	diag_init(&d, "t.yaml");
	assert_int_equal(setimage_apply("t.yaml", ok, strlen(ok), "web", "r/web@" DIGEST_A, &out,
	    &outlen, &d, err), 1);
	assert_string_equal(out, ok);
	free(out);
	diag_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_styles),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_unchanged),
	};

	return cmocka_run_group_tests_name("setimage", tests, NULL, NULL);
}
