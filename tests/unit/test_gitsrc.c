/* Unit tests: the daemon's bare clone (gitsrc) tells a damaged clone from a
 * manifest that is not there, and re-clones beside the old one, keeping it
 * until the new one has the branch. Local repositories made with libgit2. */
#include "helpers.h"
#include "gitsrc.h"
#include "util.h"

#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEXT "version: 1\nproject: p\n"

struct fixture {
	char dir[64];
	char *remote, *clone, *url;
	char commit[41], blob[41], subtree[41];
};

/* Writes manifests/prod.yaml into a new commit on refs/heads/main of a bare
 * repository at path, with loose objects; ids in f. */
static void
make_remote(struct fixture *f)
{
	git_repository *repo;
	git_treebuilder *tb;
	git_signature *sig;
	git_oid blob, sub, root, commit;
	git_tree *tree;

	assert_int_equal(git_repository_init(&repo, f->remote, 1), 0);
	assert_int_equal(git_blob_create_from_buffer(&blob, repo, TEXT, strlen(TEXT)), 0);
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "prod.yaml", &blob, GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&sub, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "manifests", &sub, GIT_FILEMODE_TREE), 0);
	assert_int_equal(git_treebuilder_write(&root, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_tree_lookup(&tree, repo, &root), 0);
	assert_int_equal(git_signature_new(&sig, "t", "t@localhost", 1700000000, 0), 0);
	assert_int_equal(git_commit_create_v(&commit, repo, "refs/heads/main", sig, sig, NULL,
	    "one", tree, 0), 0);
	git_oid_tostr(f->commit, sizeof(f->commit), &commit);
	git_oid_tostr(f->blob, sizeof(f->blob), &blob);
	git_oid_tostr(f->subtree, sizeof(f->subtree), &sub);
	git_signature_free(sig);
	git_tree_free(tree);
	git_repository_free(repo);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	gitsrc_init();
	snprintf(f->dir, sizeof(f->dir), "/tmp/rt-gitsrc.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->remote = xasprintf("%s/remote.git", f->dir);
	f->clone = xasprintf("%s/repo.git", f->dir);
	f->url = xasprintf("file://%s", f->remote);
	make_remote(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rmtree(f->dir);
	free(f->remote);
	free(f->clone);
	free(f->url);
	free(f);
	return 0;
}

/* Empties the loose object file of id in the repository at repo_path (cut
 * short, libgit2 1.5 inflates a loose object for ever: packs do not). */
static void
truncate_object(const char *repo_path, const char *id)
{
	char *p = xasprintf("%s/objects/%.2s/%s", repo_path, id, id + 2);

	assert_int_equal(truncate(p, 0), 0);
	free(p);
}

struct odb_copy {
	git_odb *from, *to;
};

static int
copy_cb(const git_oid *id, void *payload)
{
	struct odb_copy *c = payload;
	git_odb_object *o;
	git_oid out;
	int rc;

	if (git_odb_read(&o, c->from, id) < 0)
		return 0;	/* damaged by an earlier step: it stays as it is */
	rc = git_odb_write(&out, c->to, git_odb_object_data(o), git_odb_object_size(o),
	    git_odb_object_type(o));
	git_odb_object_free(o);
	return rc;
}

/* The fetch left the clone's objects in a pack: they are copied out into
 * loose objects and the pack removed, so one object can be damaged alone. */
static void
explode(const char *repo_path)
{
	char *objects = xasprintf("%s/objects", repo_path), *packs = xasprintf("%s/pack", objects);
	git_odb_backend *backend;
	git_repository *repo;
	struct odb_copy c;

	assert_int_equal(git_repository_open_bare(&repo, repo_path), 0);
	assert_int_equal(git_repository_odb(&c.from, repo), 0);
	assert_int_equal(git_odb_new(&c.to), 0);
	assert_int_equal(git_odb_backend_loose(&backend, objects, -1, 0, 0, 0), 0);
	assert_int_equal(git_odb_add_backend(c.to, backend, 1), 0);
	assert_int_equal(git_odb_foreach(c.from, copy_cb, &c), 0);
	git_odb_free(c.to);
	git_odb_free(c.from);
	git_repository_free(repo);
	rmtree(packs);
	assert_int_equal(mkdir(packs, 0755), 0);
	free(packs);
	free(objects);
}

static void
test_damage_and_reclone(void **state)
{
	struct fixture *f = *state;
	struct gitsrc *g;
	char err[ERR_LEN], commit[41], *text = NULL;
	size_t len;
	int fetched;

	assert_int_equal(gitsrc_open(&g, f->clone, f->url, NULL, err), 0);
	assert_int_equal(gitsrc_poll(g, "main", commit, &fetched, err), 0);
	assert_string_equal(commit, f->commit);
	assert_int_equal(fetched, 1);
	assert_int_equal(gitsrc_blob(g, commit, "manifests/prod.yaml", 1 << 20, &text, &len, err), 0);
	assert_string_equal(text, TEXT);
	free(text);
	/* a file the commit does not have is the manifest's fault, not the clone's */
	assert_int_equal(gitsrc_blob(g, commit, "manifests/none.yaml", 1 << 20, &text, &len, err), -1);
	assert_non_null(strstr(err, "'manifests/none.yaml' not found at"));
	assert_int_equal(gitsrc_blob(g, commit, "nodir/prod.yaml", 1 << 20, &text, &len, err), -1);
	gitsrc_free(g);

	/* the blob alone truncated: the poll sees a readable head, the read does not */
	explode(f->clone);
	truncate_object(f->clone, f->blob);
	assert_int_equal(gitsrc_open(&g, f->clone, f->url, NULL, err), 0);
	assert_int_equal(gitsrc_poll(g, "main", commit, &fetched, err), 0);
	assert_null(gitsrc_repaired(g));
	assert_int_equal(gitsrc_blob(g, commit, "manifests/prod.yaml", 1 << 20, &text, &len, err),
	    GITSRC_DAMAGED);
	assert_non_null(strstr(err, f->clone));
	assert_string_equal(gitsrc_head(g), f->commit);
	assert_int_equal(gitsrc_reclone(g, "main", err), 0);
	assert_int_equal(gitsrc_blob(g, commit, "manifests/prod.yaml", 1 << 20, &text, &len, err), 0);
	assert_string_equal(text, TEXT);
	free(text);
	gitsrc_free(g);
	{
		char *fresh = xasprintf("%s.new", f->clone), *old = xasprintf("%s.old", f->clone);

		assert_int_equal(access(fresh, F_OK), -1);
		assert_int_equal(access(old, F_OK), -1);
		free(fresh);
		free(old);
	}

	/* a tree on the way truncated: damaged too; the poll re-clones when the head
	 * itself does not read */
	explode(f->clone);
	truncate_object(f->clone, f->subtree);
	assert_int_equal(gitsrc_open(&g, f->clone, f->url, NULL, err), 0);
	assert_int_equal(gitsrc_poll(g, "main", commit, &fetched, err), 0);
	assert_int_equal(gitsrc_blob(g, commit, "manifests/prod.yaml", 1 << 20, &text, &len, err),
	    GITSRC_DAMAGED);
	gitsrc_free(g);
	explode(f->clone);
	truncate_object(f->clone, f->commit);
	assert_int_equal(gitsrc_open(&g, f->clone, f->url, NULL, err), 0);
	assert_int_equal(gitsrc_poll(g, "main", commit, &fetched, err), 0);
	assert_non_null(gitsrc_repaired(g));
	assert_non_null(strstr(gitsrc_repaired(g), f->clone));
	assert_int_equal(fetched, 1);
	assert_int_equal(gitsrc_blob(g, commit, "manifests/prod.yaml", 1 << 20, &text, &len, err), 0);
	free(text);
	gitsrc_free(g);
}

static void
test_reclone_keeps_the_old_clone(void **state)
{
	struct fixture *f = *state;
	struct gitsrc *g;
	char err[ERR_LEN], commit[41], *gone = xasprintf("%s.gone", f->remote);
	char *head = xasprintf("%s/HEAD", f->clone);
	int fetched;

	assert_int_equal(gitsrc_open(&g, f->clone, f->url, NULL, err), 0);
	assert_int_equal(gitsrc_poll(g, "main", commit, &fetched, err), 0);
	/* the remote goes away: a fresh clone fails, the old one stays */
	assert_int_equal(rename(f->remote, gone), 0);
	assert_int_equal(gitsrc_reclone(g, "main", err), -1);
	assert_non_null(strstr(err, f->clone));
	assert_non_null(strstr(err, "the old one is kept"));
	assert_int_equal(access(head, F_OK), 0);
	assert_int_equal(gitsrc_poll(g, "main", commit, &fetched, err), -1);
	assert_string_equal(gitsrc_head(g), "");
	gitsrc_free(g);
	free(gone);
	free(head);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_damage_and_reclone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reclone_keeps_the_old_clone, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	gitsrc_shutdown();
	return rc;
}
