/* Unit tests: the stubs of reconciler/lazy open their library on the first
 * call, and the variadic ones pass each argument on with its own type:
 * curl_easy_setopt's long, pointer, callback and curl_off_t options,
 * curl_easy_getinfo, git_libgit2_opts' shapes and git_commit_create_v's
 * parents. */
#include "helpers.h"
#include "lazylib.h"
#include "util.h"

#include <curl/curl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t
collect(char *p, size_t size, size_t n, void *data)
{
	struct buf *b = data;

	return buf_add(b, p, size * n) == 0 ? size * n : 0;
}

static void
test_curl_variadic(void **state)
{
	char path[] = "/tmp/rt-lazylib.XXXXXX", *url, *eff = NULL;
	struct buf b = BUF_INIT;
	curl_off_t got = 0;
	long code = -1;
	CURL *h;
	int fd;

	assert_int_equal(lazylib_loaded(LAZYLIB_CURL), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	url = xasprintf("file://%s", path);
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	assert_int_equal(lazylib_loaded(LAZYLIB_CURL), 1);
	h = curl_easy_init();
	assert_non_null(h);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &b), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)100),
	    CURLE_OK);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	assert_string_equal(b.data, "hello");
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff), CURLE_OK);
	assert_string_equal(eff, url);
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got), CURLE_OK);
	assert_int_equal(got, 5);
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
	assert_int_equal(code, 0);
	/* a curl_off_t: from the third byte on */
	buf_reset(&b);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)2),
	    CURLE_OK);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	assert_string_equal(b.data, "llo");
	/* a long: no body */
	buf_reset(&b);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)0),
	    CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_NOBODY, 1L), CURLE_OK);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	assert_int_equal(b.len, 0);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	unlink(path);
	buf_release(&b);
	free(url);
}

static void
test_git_opts(void **state)
{
	size_t mw = 0;
	ssize_t cur = -1, allowed = -1;
	git_buf gb = { 0 };

	assert_true(git_libgit2_init() > 0);
	assert_int_equal(lazylib_loaded(LAZYLIB_GIT), 1);
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)123456), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_GET_MWINDOW_SIZE, &mw), 0);
	assert_int_equal(mw, 123456);
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)(1 << 20)), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_GET_CACHED_MEMORY, &cur, &allowed), 0);
	assert_int_equal(allowed, 1 << 20);
	assert_true(cur >= 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    "/nonexistent/rt-lazylib"), 0);
	assert_int_equal(git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    &gb), 0);
	assert_string_equal(gb.ptr, "/nonexistent/rt-lazylib");
	git_buf_dispose(&gb);
	assert_int_equal(git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 1), 0);
	assert_int_equal(git_libgit2_opts(9999, 1), -1);
	assert_non_null(strstr(git_error_last()->message, "lazy_git.c"));
	git_libgit2_shutdown();
}

/* A commit of the empty tree with the parents given. */
static void
commit(git_repository *repo, git_oid *out, size_t n, const git_commit *p1,
    const git_commit *p2)
{
	git_treebuilder *tb;
	git_signature *sig;
	git_tree *tree;
	git_oid t;

	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(git_treebuilder_write(&t, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_tree_lookup(&tree, repo, &t), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@localhost"), 0);
	if (n == 0)
		assert_int_equal(git_commit_create_v(out, repo, NULL, sig, sig, NULL, "m",
		    tree, 0), 0);
	else
		assert_int_equal(git_commit_create_v(out, repo, NULL, sig, sig, NULL, "m",
		    tree, 2, p1, p2), 0);
	git_signature_free(sig);
	git_tree_free(tree);
}

static void
test_git_commit_create_v(void **state)
{
	char dir[] = "/tmp/rt-lazylib.XXXXXX";
	git_repository *repo;
	git_commit *c1, *c2, *m;
	git_oid o1, o2, om;

	assert_non_null(mkdtemp(dir));
	assert_true(git_libgit2_init() > 0);
	assert_int_equal(git_repository_init(&repo, dir, 1), 0);
	commit(repo, &o1, 0, NULL, NULL);
	assert_int_equal(git_commit_lookup(&c1, repo, &o1), 0);
	assert_int_equal(git_commit_parentcount(c1), 0);
	/* a second root: another time, or the same id */
	assert_int_equal(git_commit_create_v(&o2, repo, NULL, git_commit_author(c1),
	    git_commit_committer(c1), NULL, "other", NULL, 0), -1);
	commit(repo, &o2, 0, NULL, NULL);
	if (git_oid_equal(&o1, &o2)) {
		sleep(1);
		commit(repo, &o2, 0, NULL, NULL);
	}
	assert_int_equal(git_commit_lookup(&c2, repo, &o2), 0);
	commit(repo, &om, 2, c1, c2);
	assert_int_equal(git_commit_lookup(&m, repo, &om), 0);
	assert_int_equal(git_commit_parentcount(m), 2);
	assert_true(git_oid_equal(git_commit_parent_id(m, 0), &o1));
	assert_true(git_oid_equal(git_commit_parent_id(m, 1), &o2));
	git_commit_free(m);
	git_commit_free(c2);
	git_commit_free(c1);
	git_repository_free(repo);
	git_libgit2_shutdown();
	rmtree(dir);
}

static void
test_load(void **state)
{
	char err[ERR_LEN];

	assert_int_equal(lazylib_load_all(err), 0);
	for (int id = 0; id < LAZYLIB_COUNT; id++)
		assert_int_equal(lazylib_loaded((enum lazylib_id)id), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_variadic),
		cmocka_unit_test(test_git_opts),
		cmocka_unit_test(test_git_commit_create_v),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
