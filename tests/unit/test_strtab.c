/* Unit tests: strtab, the hash index of strings that big manifests are read
 * with: SipHash-2-4 against the vectors of its paper, then the table. */
#include "helpers.h"
#include "strtab.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

static void
test_siphash_vectors(void **state)
{
	unsigned char key[16], msg[64];

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	/* the paper's example (appendix A): 15 bytes 00..0e under key 00..0f */
	assert_int_equal(strtab_siphash(key, msg, 15), 0xa129ca6149be45e5ULL);
	/* the reference implementation's first vector: the empty message */
	assert_int_equal(strtab_siphash(key, msg, 0), 0x726fdb47dd0e0e31ULL);
	/* every length hashes its own bytes only */
	for (size_t n = 1; n < 64; n++)
		assert_true(strtab_siphash(key, msg, n) != strtab_siphash(key, msg, n - 1));
}

static void
test_table(void **state)
{
	enum { N = 100000 };
	struct strtab t = STRTAB_INIT;
	char **keys = xcalloc(N, sizeof(*keys));
	size_t v = 7;

	assert_int_equal(strtab_get(&t, "absent", &v), 0);
	assert_int_equal(v, 7);
	for (size_t i = 0; i < N; i++) {
		keys[i] = xasprintf("key-%zu", i);
		assert_int_equal(strtab_add(&t, keys[i], i, NULL), 0);
	}
	assert_int_equal(t.n, N);
	assert_true(t.cap >= 2 * t.n);
	for (size_t i = 0; i < N; i += 7) {
		char k[32];

		snprintf(k, sizeof(k), "key-%zu", i);	/* another copy of the text */
		assert_int_equal(strtab_get(&t, k, &v), 1);
		assert_int_equal(v, i);
	}
	assert_int_equal(strtab_get(&t, "key-", NULL), 0);
	assert_int_equal(strtab_get(&t, "", NULL), 0);
	/* add keeps the first value and tells it; set replaces */
	assert_int_equal(strtab_add(&t, "key-42", 99, &v), 1);
	assert_int_equal(v, 42);
	strtab_set(&t, "key-42", 99);
	assert_int_equal(strtab_get(&t, "key-42", &v), 1);
	assert_int_equal(v, 99);
	strtab_set(&t, "", 5);
	assert_int_equal(strtab_get(&t, "", &v), 1);
	assert_int_equal(v, 5);
	assert_int_equal(t.n, N + 1);
	strtab_release(&t);
	assert_int_equal(strtab_get(&t, "key-1", NULL), 0);
	strv_free(keys, N);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
