/* Unit tests: the YAML tree facing big and hostile documents. Big but honest
 * inputs (tens of thousands of anchors or keys, big merges, all within the
 * 1 MiB cap) are read and give the right values; the limits (size, depth, what
 * aliases may repeat) are refused with messages that name the limit and its
 * value. These assert results, not time: bench/yaml.sh has the timings. */
#include "helpers.h"
#include "util.h"
#include "yamltree.h"

#include <stdio.h>
#include <stdlib.h>

#define SVC_HEAD MF_HEAD "services:\n  web:\n    image: r/web@" DIGEST_A "\n"

static const char *
scalar_at(const struct yt_node *seq, size_t i)
{
	assert_non_null(seq);
	assert_int_equal(seq->type, YT_SEQ);
	assert_true(i < seq->n);
	assert_int_equal(seq->items[i]->type, YT_SCALAR);
	return seq->items[i]->value;
}

/* 80k anchors, every fourth one referred to by an alias: a big honest
 * document, not an alias bomb; each alias finds its own anchor (it shares the
 * anchored node), and a redefined anchor shadows the earlier one from there on. */
static void
test_many_anchors(void **state)
{
	enum { N = 80000 };
	const struct yt_node *root, *anchors, *refs;
	struct manifest *m;
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, SVC_HEAD "x-anchors: [");
	for (int i = 0; i < N; i++)
		buf_addf(&b, "&%x %d,", i, i % 10);
	buf_adds(&b, "]\nx-refs: [");
	for (int i = N - 4; i >= 0; i -= 4)
		buf_addf(&b, "*%x,", i);
	buf_adds(&b, "&7 again, *7]\n");
	assert_true(b.len <= YT_MAX_SIZE);
	m = parse_valid(b.data, b.len);
	root = m->doc->root;
	anchors = yt_get(root, "x-anchors");
	refs = yt_get(root, "x-refs");
	assert_int_equal(anchors->n, N);
	assert_int_equal(refs->n, N / 4 + 2);
	assert_string_equal(scalar_at(anchors, 12345), "5");
	for (size_t j = 0; j < N / 4; j++)
		assert_ptr_equal(refs->items[j], anchors->items[N - 4 - 4 * j]);
	assert_string_equal(scalar_at(refs, N / 4), "again");
	assert_string_equal(scalar_at(refs, N / 4 + 1), "again");
	manifest_free(m);
	buf_release(&b);
}

/* 50k keys in one mapping: read, each found by yt_get, no false "alias bomb". */
static void
test_many_keys(void **state)
{
	enum { N = 50000 };
	const struct yt_node *keys;
	struct manifest *m;
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, SVC_HEAD "x-keys:\n");
	for (int i = 0; i < N; i++)
		buf_addf(&b, "  k%d: %d\n", i, i);
	m = parse_valid(b.data, b.len);
	keys = yt_get(m->doc->root, "x-keys");
	assert_non_null(keys);
	assert_int_equal(keys->n, N);
	for (int i = 0; i < N; i += 997) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		assert_non_null(yt_get(keys, k));
		assert_int_equal(atoi(yt_get(keys, k)->value), i);
	}
	assert_string_equal(yt_get(keys, "k49999")->value, "49999");
	assert_null(yt_get(keys, "k50000"));
	assert_null(yt_get(keys, "k"));
	/* the order of the document is kept */
	assert_string_equal(keys->keys[0]->value, "k0");
	assert_string_equal(keys->keys[N - 1]->value, "k49999");
	manifest_free(m);
	buf_release(&b);
}

/* A duplicate among 50k keys is found, once, at the second one. */
static void
test_duplicate_in_many_keys(void **state)
{
	enum { N = 50000 };
	struct buf b;
	struct diag d;
	struct manifest *m;

	buf_init(&b, 0);
	buf_adds(&b, SVC_HEAD "x-keys:\n");
	for (int i = 0; i < N; i++)
		buf_addf(&b, "  k%d: %d\n", i, i);
	buf_adds(&b, "  k31337: again\n");
	m = parse_text(b.data, &d);
	assert_null(m);
	if (d.n != 1)
		print_diag(&d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 7 + N);
	assert_int_equal(d.v[0].col, 3);
	assert_string_equal(d.v[0].path, "x-keys.k31337");
	assert_string_equal(d.v[0].msg, "duplicate key 'k31337' (first at line 31344)");
	diag_release(&d);
	buf_release(&b);
}

/* `<<` merges of big mappings: keys written beside the merge win, then the
 * earlier source; every merged key is found. */
static void
test_merge_big_mappings(void **state)
{
	enum { N = 20000 };
	const struct yt_node *x;
	struct manifest *m;
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, SVC_HEAD "x-one: &one\n");
	for (int i = 0; i < N; i++)
		buf_addf(&b, "  k%d: one\n", i);
	buf_adds(&b, "x-two: &two\n");
	for (int i = 0; i < N; i += 2)
		buf_addf(&b, "  k%d: two\n  t%d: two\n", i, i);
	buf_adds(&b, "x-m:\n  k5: own\n  <<: [*one, *two]\n  k7: own\n");
	m = parse_valid(b.data, b.len);
	x = yt_get(m->doc->root, "x-m");
	assert_int_equal(x->n, N + N / 2);
	assert_string_equal(yt_get(x, "k5")->value, "own");
	assert_string_equal(yt_get(x, "k7")->value, "own");
	assert_string_equal(yt_get(x, "k6")->value, "one");
	assert_string_equal(yt_get(x, "k19999")->value, "one");
	assert_string_equal(yt_get(x, "t19998")->value, "two");
	assert_null(yt_get(x, "<<"));
	manifest_free(m);
	buf_release(&b);
}

/* An alias bomb is refused by the limit on what aliases repeat; the message
 * names the alias, the count it reaches, the limit and its value. */
static void
test_alias_limit_message(void **state)
{
	struct buf b;
	struct diag d;
	struct manifest *m;
	char want[128];

	buf_init(&b, 0);
	buf_adds(&b, MF_HEAD "x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++)
		buf_addf(&b, "x-%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
		    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	buf_adds(&b, "services: {}\n");
	m = parse_text(b.data, &d);
	assert_null(m);
	if (d.n != 1)
		print_diag(&d);
	assert_int_equal(d.n, 1);
	snprintf(want, sizeof(want), "more than the limit of %d", YT_MAX_ALIAS_NODES);
	assert_non_null(strstr(d.v[0].msg, want));
	assert_non_null(strstr(d.v[0].msg, "alias '*a"));
	assert_non_null(strstr(d.v[0].msg, "repeated through aliases"));
	buf_release(&b);
	diag_release(&d);
}

/* The limits exist, each with its value in the message: depth (64 levels is
 * fine, 65 is not) and size (the cap is the document's, in bytes). */
static void
test_depth_and_size_limits(void **state)
{
	struct buf b;
	struct diag d;
	struct manifest *m;
	char want[96], *big;

	for (int depth = YT_MAX_DEPTH - 1; depth <= YT_MAX_DEPTH; depth++) {
		/* the root mapping is one level: x-deep adds `depth` more */
		buf_init(&b, 0);
		buf_adds(&b, MF_HEAD "services: {}\nx-deep: ");
		for (int i = 0; i < depth; i++)
			buf_adds(&b, "[");
		for (int i = 0; i < depth; i++)
			buf_adds(&b, "]");
		buf_adds(&b, "\n");
		m = parse_text(b.data, &d);
		if (depth < YT_MAX_DEPTH) {
			if (d.n)
				print_diag(&d);
			assert_non_null(m);
			assert_int_equal(d.n, 0);
		} else {
			assert_null(m);
			assert_int_equal(d.n, 1);
			snprintf(want, sizeof(want), "nesting deeper than %d levels", YT_MAX_DEPTH);
			assert_non_null(strstr(d.v[0].msg, want));
		}
		manifest_free(m);
		diag_release(&d);
		buf_release(&b);
	}

	big = xcalloc(YT_MAX_SIZE + 2, 1);
	memset(big, '#', YT_MAX_SIZE + 1);
	m = parse_text(big, &d);
	assert_null(m);
	assert_int_equal(d.n, 1);
	snprintf(want, sizeof(want), "document is %u bytes, more than the limit of %u bytes",
	    YT_MAX_SIZE + 1, YT_MAX_SIZE);
	assert_string_equal(d.v[0].msg, want);
	diag_release(&d);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_anchors),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_duplicate_in_many_keys),
		cmocka_unit_test(test_merge_big_mappings),
		cmocka_unit_test(test_alias_limit_message),
		cmocka_unit_test(test_depth_and_size_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
