/*
 * lazy_git: libgit2's functions this program calls, opened on first use
 * (lazylib.h). A function newly called elsewhere fails to link until it is
 * listed here.
 */
#include "lazylib_int.h"

#include <git2.h>
#include <stdarg.h>
#include <stdlib.h>

#define LAZYLIB_THIS lazylib__git

#define GIT_FUNCS(X, V) \
	X(int, git_blob_create_from_workdir, (git_oid *id, git_repository *repo, \
	    const char *relative_path), (id, repo, relative_path)) \
	V(git_blob_free, (git_blob *blob), (blob)) \
	X(int, git_blob_lookup, (git_blob **blob, git_repository *repo, \
	    const git_oid *id), (blob, repo, id)) \
	X(const void *, git_blob_rawcontent, (const git_blob *blob), (blob)) \
	X(git_object_size_t, git_blob_rawsize, (const git_blob *blob), (blob)) \
	X(int, git_branch_lookup, (git_reference **out, git_repository *repo, \
	    const char *branch_name, git_branch_t branch_type), \
	    (out, repo, branch_name, branch_type)) \
	V(git_buf_dispose, (git_buf *buffer), (buffer)) \
	X(int, git_commit_create, (git_oid *id, git_repository *repo, \
	    const char *update_ref, const git_signature *author, \
	    const git_signature *committer, const char *message_encoding, \
	    const char *message, const git_tree *tree, size_t parent_count, \
	    const git_commit *parents[]), \
	    (id, repo, update_ref, author, committer, message_encoding, message, \
	    tree, parent_count, parents)) \
	X(int, git_commit_create_buffer, (git_buf *out, git_repository *repo, \
	    const git_signature *author, const git_signature *committer, \
	    const char *message_encoding, const char *message, const git_tree *tree, \
	    size_t parent_count, const git_commit *parents[]), \
	    (out, repo, author, committer, message_encoding, message, tree, \
	    parent_count, parents)) \
	X(int, git_commit_create_with_signature, (git_oid *out, git_repository *repo, \
	    const char *commit_content, const char *signature, \
	    const char *signature_field), \
	    (out, repo, commit_content, signature, signature_field)) \
	X(int, git_commit_extract_signature, (git_buf *signature, git_buf *signed_data, \
	    git_repository *repo, git_oid *commit_id, const char *field), \
	    (signature, signed_data, repo, commit_id, field)) \
	V(git_commit_free, (git_commit *commit), (commit)) \
	X(const git_oid *, git_commit_id, (const git_commit *commit), (commit)) \
	X(int, git_commit_lookup, (git_commit **commit, git_repository *repo, \
	    const git_oid *id), (commit, repo, id)) \
	X(const char *, git_commit_summary, (git_commit *commit), (commit)) \
	X(git_time_t, git_commit_time, (const git_commit *commit), (commit)) \
	X(int, git_commit_tree, (git_tree **tree_out, const git_commit *commit), \
	    (tree_out, commit)) \
	X(const git_oid *, git_commit_tree_id, (const git_commit *commit), (commit)) \
	X(int, git_credential_ssh_key_new, (git_credential **out, const char *username, \
	    const char *publickey, const char *privatekey, const char *passphrase), \
	    (out, username, publickey, privatekey, passphrase)) \
	X(int, git_credential_username_new, (git_credential **out, const char *username), \
	    (out, username)) \
	X(int, git_credential_userpass_plaintext_new, (git_credential **out, \
	    const char *username, const char *password), (out, username, password)) \
	X(const git_error *, git_error_last, (void), ()) \
	X(int, git_error_set_str, (int error_class, const char *string), \
	    (error_class, string)) \
	X(int, git_fetch_options_init, (git_fetch_options *opts, unsigned int version), \
	    (opts, version)) \
	X(int, git_graph_descendant_of, (git_repository *repo, const git_oid *commit, \
	    const git_oid *ancestor), (repo, commit, ancestor)) \
	X(int, git_index_add_bypath, (git_index *index, const char *path), (index, path)) \
	V(git_index_free, (git_index *index), (index)) \
	X(int, git_index_write, (git_index *index), (index)) \
	X(int, git_libgit2_init, (void), ()) \
	X(int, git_libgit2_shutdown, (void), ()) \
	V(git_object_free, (git_object *object), (object)) \
	X(int, git_object_peel, (git_object **peeled, const git_object *object, \
	    git_object_t target_type), (peeled, object, target_type)) \
	X(int, git_oid_cpy, (git_oid *out, const git_oid *src), (out, src)) \
	X(int, git_oid_equal, (const git_oid *a, const git_oid *b), (a, b)) \
	X(int, git_oid_fromstr, (git_oid *out, const char *str), (out, str)) \
	X(char *, git_oid_tostr, (char *out, size_t n, const git_oid *id), (out, n, id)) \
	V(git_packbuilder_free, (git_packbuilder *pb), (pb)) \
	X(int, git_packbuilder_insert_walk, (git_packbuilder *pb, git_revwalk *walk), \
	    (pb, walk)) \
	X(int, git_packbuilder_new, (git_packbuilder **out, git_repository *repo), \
	    (out, repo)) \
	X(int, git_packbuilder_write, (git_packbuilder *pb, const char *path, \
	    unsigned int mode, git_indexer_progress_cb progress_cb, \
	    void *progress_cb_payload), \
	    (pb, path, mode, progress_cb, progress_cb_payload)) \
	X(int, git_push_options_init, (git_push_options *opts, unsigned int version), \
	    (opts, version)) \
	X(int, git_reference_create, (git_reference **out, git_repository *repo, \
	    const char *name, const git_oid *id, int force, const char *log_message), \
	    (out, repo, name, id, force, log_message)) \
	X(int, git_reference_create_matching, (git_reference **out, git_repository *repo, \
	    const char *name, const git_oid *id, int force, const git_oid *current_id, \
	    const char *log_message), \
	    (out, repo, name, id, force, current_id, log_message)) \
	V(git_reference_free, (git_reference *ref), (ref)) \
	X(int, git_reference_is_branch, (const git_reference *ref), (ref)) \
	X(int, git_reference_is_valid_name, (const char *refname), (refname)) \
	X(int, git_reference_lookup, (git_reference **out, git_repository *repo, \
	    const char *name), (out, repo, name)) \
	X(const char *, git_reference_name, (const git_reference *ref), (ref)) \
	X(int, git_reference_name_to_id, (git_oid *out, git_repository *repo, \
	    const char *name), (out, repo, name)) \
	X(int, git_reference_peel, (git_object **out, const git_reference *ref, \
	    git_object_t type), (out, ref, type)) \
	X(const char *, git_reference_symbolic_target, (const git_reference *ref), (ref)) \
	X(const git_oid *, git_reference_target, (const git_reference *ref), (ref)) \
	X(git_reference_t, git_reference_type, (const git_reference *ref), (ref)) \
	X(int, git_remote_connect, (git_remote *remote, git_direction direction, \
	    const git_remote_callbacks *callbacks, const git_proxy_options *proxy_opts, \
	    const git_strarray *custom_headers), \
	    (remote, direction, callbacks, proxy_opts, custom_headers)) \
	X(int, git_remote_create_anonymous, (git_remote **out, git_repository *repo, \
	    const char *url), (out, repo, url)) \
	X(int, git_remote_create_with_fetchspec, (git_remote **out, git_repository *repo, \
	    const char *name, const char *url, const char *fetch), \
	    (out, repo, name, url, fetch)) \
	X(int, git_remote_default_branch, (git_buf *out, git_remote *remote), \
	    (out, remote)) \
	X(int, git_remote_disconnect, (git_remote *remote), (remote)) \
	X(int, git_remote_fetch, (git_remote *remote, const git_strarray *refspecs, \
	    const git_fetch_options *opts, const char *reflog_message), \
	    (remote, refspecs, opts, reflog_message)) \
	V(git_remote_free, (git_remote *remote), (remote)) \
	X(int, git_remote_init_callbacks, (git_remote_callbacks *opts, \
	    unsigned int version), (opts, version)) \
	X(int, git_remote_lookup, (git_remote **out, git_repository *repo, \
	    const char *name), (out, repo, name)) \
	X(int, git_remote_ls, (const git_remote_head ***out, size_t *size, \
	    git_remote *remote), (out, size, remote)) \
	X(int, git_remote_push, (git_remote *remote, const git_strarray *refspecs, \
	    const git_push_options *opts), (remote, refspecs, opts)) \
	X(const char *, git_remote_pushurl, (const git_remote *remote), (remote)) \
	X(const char *, git_remote_url, (const git_remote *remote), (remote)) \
	V(git_repository_free, (git_repository *repo), (repo)) \
	X(int, git_repository_head, (git_reference **out, git_repository *repo), \
	    (out, repo)) \
	X(int, git_repository_index, (git_index **out, git_repository *repo), \
	    (out, repo)) \
	X(int, git_repository_init, (git_repository **out, const char *path, \
	    unsigned is_bare), (out, path, is_bare)) \
	X(int, git_repository_is_bare, (const git_repository *repo), (repo)) \
	X(int, git_repository_open_bare, (git_repository **out, const char *bare_path), \
	    (out, bare_path)) \
	X(int, git_repository_open_ext, (git_repository **out, const char *path, \
	    unsigned int flags, const char *ceiling_dirs), \
	    (out, path, flags, ceiling_dirs)) \
	X(const char *, git_repository_path, (const git_repository *repo), (repo)) \
	X(int, git_repository_set_head_detached, (git_repository *repo, \
	    const git_oid *committish), (repo, committish)) \
	X(const char *, git_repository_workdir, (const git_repository *repo), (repo)) \
	X(int, git_revparse_single, (git_object **out, git_repository *repo, \
	    const char *spec), (out, repo, spec)) \
	V(git_revwalk_free, (git_revwalk *walk), (walk)) \
	X(int, git_revwalk_hide, (git_revwalk *walk, const git_oid *commit_id), \
	    (walk, commit_id)) \
	X(int, git_revwalk_new, (git_revwalk **out, git_repository *repo), (out, repo)) \
	X(int, git_revwalk_next, (git_oid *out, git_revwalk *walk), (out, walk)) \
	X(int, git_revwalk_push, (git_revwalk *walk, const git_oid *id), (walk, id)) \
	X(int, git_revwalk_sorting, (git_revwalk *walk, unsigned int sort_mode), \
	    (walk, sort_mode)) \
	V(git_signature_free, (git_signature *sig), (sig)) \
	X(int, git_signature_now, (git_signature **out, const char *name, \
	    const char *email), (out, name, email)) \
	X(int, git_tree_create_updated, (git_oid *out, git_repository *repo, \
	    git_tree *baseline, size_t nupdates, const git_tree_update *updates), \
	    (out, repo, baseline, nupdates, updates)) \
	X(const git_tree_entry *, git_tree_entry_byname, (const git_tree *tree, \
	    const char *filename), (tree, filename)) \
	X(const git_oid *, git_tree_entry_id, (const git_tree_entry *entry), (entry)) \
	X(git_object_t, git_tree_entry_type, (const git_tree_entry *entry), (entry)) \
	V(git_tree_free, (git_tree *tree), (tree)) \
	X(int, git_tree_lookup, (git_tree **out, git_repository *repo, \
	    const git_oid *id), (out, repo, id)) \
	V(git_treebuilder_free, (git_treebuilder *bld), (bld)) \
	X(int, git_treebuilder_new, (git_treebuilder **out, git_repository *repo, \
	    const git_tree *source), (out, repo, source)) \
	X(int, git_treebuilder_write, (git_oid *id, git_treebuilder *bld), (id, bld))

/* The variadic ones: in the table, their stubs written out below. */
#define GIT_VARIADIC(X, V) \
	X(int, git_libgit2_opts, (int option, ...), ())

static struct {
	GIT_FUNCS(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
	GIT_VARIADIC(LAZYLIB_FIELD_X, LAZYLIB_FIELD_V)
} fn;

static void
resolve(struct lazylib *lib, void *h)
{
	GIT_FUNCS(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
	GIT_VARIADIC(LAZYLIB_SYM_X, LAZYLIB_SYM_V)
}

/* libgit2's SONAME carries its minor version: 1.5 is what Debian 12 ships. */
struct lazylib lazylib__git = LAZYLIB_INIT("libgit2.so.1.5", "libgit2-1.5", resolve);

GIT_FUNCS(LAZYLIB_STUB_X, LAZYLIB_STUB_V)

/*
 * A variadic function cannot pass its own "..." on: each stub reads the
 * arguments the call takes, with their own types, and passes them on, which
 * holds on every ABI (x86-64 and aarch64 included).
 *
 * git_commit_create_v: its parents, as git_commit_create takes them (what
 * libgit2's own git_commit_create_v does).
 */
int
git_commit_create_v(git_oid *id, git_repository *repo, const char *update_ref,
    const git_signature *author, const git_signature *committer,
    const char *message_encoding, const char *message, const git_tree *tree,
    size_t parent_count, ...)
{
	const git_commit **parents;
	va_list ap;
	int rc;

	LAZYLIB_NEED(&lazylib__git);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	parents = calloc(parent_count ? parent_count : 1, sizeof(*parents));
	if (!parents) {
		fn.git_error_set_str(GIT_ERROR_NOMEMORY, "out of memory");
		return -1;
	}
	va_start(ap, parent_count);
	for (size_t i = 0; i < parent_count; i++)
		parents[i] = va_arg(ap, const git_commit *);
	va_end(ap);
	rc = fn.git_commit_create(id, repo, update_ref, author, committer,
	    message_encoding, message, tree, parent_count, parents);
	free(parents);
	return rc;
}

/*
 * git_libgit2_opts: what each option of libgit2 1.5 takes (git2/common.h).
 * A pointer is read as void * whatever it points to, as libgit2 reads some
 * of them; size_t, ssize_t and unsigned long are read as themselves.
 */
enum opt_args { A_NONE, A_INT, A_SIZE, A_SSIZE, A_ULONG, A_PTR, A_INT_PTR,
	A_INT_SIZE, A_PTR_PTR, A_PTR_SIZE };

static enum opt_args
opt_args(int option)
{
	switch (option) {
	case GIT_OPT_ENABLE_CACHING:
	case GIT_OPT_ENABLE_STRICT_OBJECT_CREATION:
	case GIT_OPT_ENABLE_STRICT_SYMBOLIC_REF_CREATION:
	case GIT_OPT_ENABLE_OFS_DELTA:
	case GIT_OPT_ENABLE_FSYNC_GITDIR:
	case GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION:
	case GIT_OPT_ENABLE_UNSAVED_INDEX_SAFETY:
	case GIT_OPT_DISABLE_PACK_KEEP_FILE_CHECKS:
	case GIT_OPT_ENABLE_HTTP_EXPECT_CONTINUE:
	case GIT_OPT_SET_ODB_PACKED_PRIORITY:
	case GIT_OPT_SET_ODB_LOOSE_PRIORITY:
	case GIT_OPT_SET_OWNER_VALIDATION:
		return A_INT;
	case GIT_OPT_SET_MWINDOW_SIZE:
	case GIT_OPT_SET_MWINDOW_MAPPED_LIMIT:
	case GIT_OPT_SET_MWINDOW_FILE_LIMIT:
	case GIT_OPT_SET_PACK_MAX_OBJECTS:
	case GIT_OPT_SET_PACK_MAX_OBJECT_SIZE:
		return A_SIZE;
	case GIT_OPT_SET_CACHE_MAX_SIZE:
		return A_SSIZE;
	case GIT_OPT_SET_WINDOWS_SHAREMODE:
		return A_ULONG;
	case GIT_OPT_GET_MWINDOW_SIZE:
	case GIT_OPT_GET_MWINDOW_MAPPED_LIMIT:
	case GIT_OPT_GET_MWINDOW_FILE_LIMIT:
	case GIT_OPT_GET_TEMPLATE_PATH:
	case GIT_OPT_SET_TEMPLATE_PATH:
	case GIT_OPT_SET_USER_AGENT:
	case GIT_OPT_GET_WINDOWS_SHAREMODE:
	case GIT_OPT_SET_SSL_CIPHERS:
	case GIT_OPT_GET_USER_AGENT:
	case GIT_OPT_SET_ALLOCATOR:
	case GIT_OPT_GET_PACK_MAX_OBJECTS:
	case GIT_OPT_GET_EXTENSIONS:
	case GIT_OPT_GET_OWNER_VALIDATION:
	case GIT_OPT_GET_PACK_MAX_OBJECT_SIZE:
		return A_PTR;
	case GIT_OPT_GET_SEARCH_PATH:
	case GIT_OPT_SET_SEARCH_PATH:
		return A_INT_PTR;
	case GIT_OPT_SET_CACHE_OBJECT_LIMIT:	/* git_object_t, promoted to int */
		return A_INT_SIZE;
	case GIT_OPT_GET_CACHED_MEMORY:
	case GIT_OPT_SET_SSL_CERT_LOCATIONS:
		return A_PTR_PTR;
	case GIT_OPT_SET_EXTENSIONS:
		return A_PTR_SIZE;
	default:
		return A_NONE;
	}
}

int
git_libgit2_opts(int option, ...)
{
	va_list ap;
	int rc;

	LAZYLIB_NEED(&lazylib__git);
	va_start(ap, option);
	switch (opt_args(option)) {
	case A_INT: {
		int a = va_arg(ap, int);

		rc = fn.git_libgit2_opts(option, a);
		break;
	}
	case A_SIZE: {
		size_t a = va_arg(ap, size_t);

		rc = fn.git_libgit2_opts(option, a);
		break;
	}
	case A_SSIZE: {
		ssize_t a = va_arg(ap, ssize_t);

		rc = fn.git_libgit2_opts(option, a);
		break;
	}
	case A_ULONG: {
		unsigned long a = va_arg(ap, unsigned long);

		rc = fn.git_libgit2_opts(option, a);
		break;
	}
	case A_PTR: {
		void *a = va_arg(ap, void *);

		rc = fn.git_libgit2_opts(option, a);
		break;
	}
	case A_INT_PTR: {
		int a = va_arg(ap, int);

		rc = fn.git_libgit2_opts(option, a, va_arg(ap, void *));
		break;
	}
	case A_INT_SIZE: {
		int a = va_arg(ap, int);

		rc = fn.git_libgit2_opts(option, a, va_arg(ap, size_t));
		break;
	}
	case A_PTR_PTR: {
		void *a = va_arg(ap, void *);

		rc = fn.git_libgit2_opts(option, a, va_arg(ap, void *));
		break;
	}
	case A_PTR_SIZE: {
		void *a = va_arg(ap, void *);

		rc = fn.git_libgit2_opts(option, a, va_arg(ap, size_t));
		break;
	}
	default:
		/* an option newer than this list: its arguments are unknown */
		fn.git_error_set_str(GIT_ERROR_INVALID, "option not known to this program's "
		    "libgit2 loader (lazy_git.c)");
		rc = -1;
		break;
	}
	va_end(ap);
	return rc;
}
