/* Unit tests: a diff document read back (plan_from_json, what `reconcilerctl
 * diff` does with a daemon's GET /v1/diff) gives the same document again and
 * the same text as the plan it came from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diff.h"
#include "util.h"

static const char doc[] =
    "{\"format\": 1, \"project\": \"p\", \"in_sync\": false,"
    " \"summary\": {\"create\": 1, \"recreate\": 1, \"start\": 0, \"remove\": 1,"
    "  \"in_sync\": 1, \"blocked\": 0, \"anomalies\": 1},"
    " \"services\": ["
    "  {\"service\": \"a\", \"action\": \"create\", \"reasons\": [], \"anomalies\": [],"
    "   \"container\": null, \"id\": null, \"spec_hash\": \"h1\", \"current_spec_hash\": null,"
    "   \"revision\": null},"
    "  {\"service\": \"b\", \"action\": \"recreate\","
    "   \"reasons\": [{\"field\": \"image\", \"message\": \"image changed: x -> y\"}],"
    "   \"anomalies\": [], \"container\": \"p-b\", \"id\": \"i2\", \"spec_hash\": \"h2\","
    "   \"current_spec_hash\": \"h0\", \"revision\": \"r1\"},"
    "  {\"service\": \"c\", \"action\": \"in-sync\", \"reasons\": [],"
    "   \"anomalies\": [{\"kind\": \"unhealthy\", \"message\": \"container is unhealthy\"}],"
    "   \"container\": \"p-c\", \"id\": \"i3\", \"spec_hash\": \"h3\", \"current_spec_hash\": \"h3\","
    "   \"revision\": \"r1\"},"
    "  {\"service\": \"d\", \"action\": \"remove\", \"reasons\": [], \"anomalies\": [],"
    "   \"container\": \"p-d\", \"id\": \"i4\", \"spec_hash\": null, \"current_spec_hash\": \"h4\","
    "   \"revision\": \"r0\", \"kept_volumes\": [\"p_data\"]}],"
    " \"networks\": [{\"name\": \"p_default\", \"action\": \"create\"}],"
    " \"volumes\": [{\"name\": \"ext\", \"action\": \"missing-external\"}]}";

static void
test_roundtrip(void **state)
{
	json_t *in = json_loads(doc, 0, NULL), *out;
	struct plan *p = NULL;
	char err[ERR_LEN], *text = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(in);
	assert_int_equal(plan_from_json(&p, in, err), 0);
	assert_int_equal(p->nservices, 4);
	assert_int_equal(p->services[3].action, PLAN_REMOVE);
	assert_false(plan_in_sync(p));
	out = plan_json(p);
	if (!json_equal(in, out)) {
		char *a = json_dumps(in, JSON_SORT_KEYS), *b = json_dumps(out, JSON_SORT_KEYS);

		print_error("in:  %s\nout: %s\n", a, b);
		free(a);
		free(b);
	}
	assert_true(json_equal(in, out));
	fp = open_memstream(&text, &len);
	plan_print(p, fp, 0);
	fclose(fp);
	assert_non_null(strstr(text, "~ b (p-b: recreate)\n    image changed: x -> y\n"));
	assert_non_null(strstr(text, "- d (p-d: remove)\n    volumes kept: p_data\n"));
	assert_non_null(strstr(text, "! volume ext (external, missing)"));
	assert_non_null(strstr(text, "1 to create, 1 to recreate, 0 to start, 1 to remove, 1 in sync"));
	free(text);
	json_decref(out);
	json_decref(in);
	plan_free(p);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"format\": 2, \"project\": \"p\", \"services\": []}",
		"{\"format\": 1, \"services\": []}",
		"{\"format\": 1, \"project\": \"p\"}",
		"{\"format\": 1, \"project\": \"p\", \"services\": [{\"service\": \"a\"}]}",
		"{\"format\": 1, \"project\": \"p\", \"services\": [{\"service\": \"a\", \"action\": \"explode\"}]}",
		"{\"format\": 1, \"project\": \"p\", \"services\": [], \"networks\": [{\"name\": 1}]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_loads(bad[i], 0, NULL);
		struct plan *p = (struct plan *)1;
		char err[ERR_LEN] = "";

		assert_non_null(o);
		assert_int_equal(plan_from_json(&p, o, err), -1);
		assert_null(p);
		assert_true(err[0] != '\0');
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
