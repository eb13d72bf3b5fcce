/*
 * manifest_int: what the files of the manifest module share and nothing else
 * uses: the parse context, errors at a node, the typed value readers, the name
 * checks, and each section's parser. Callers outside the module use manifest.h.
 */
#ifndef RECONCILER_MANIFEST_INT_H
#define RECONCILER_MANIFEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "yamltree.h"

/* One parse: where errors go and the model being filled. */
struct mf__ctx {
	struct diag *d;
	struct manifest *m;
};

/* Appends a zeroed element to arr (n elements) and yields a pointer to it.
 * The array doubles when n reaches a power of two (its capacity), so that a
 * list of tens of thousands of entries is not copied once per entry: arr must
 * be built by MF__GROW alone, from NULL and 0. */
#define MF__GROW(arr, n) (((n) & ((n) - 1)) == 0 ? \
	(void)((arr) = xrealloc((arr), ((n) ? 2 * (n) : 1) * sizeof(*(arr)))) : (void)0, \
	memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* Calls fn for each present key of map, with the value node and its path. */
/* NOLINTBEGIN(bugprone-macro-parentheses): kname, vnode and kpath are declared
 * names, which cannot be parenthesised */
#define MF__FOR_KEYS(map, path, kname, vnode, kpath) \
	for (size_t kname##_i = 0; (map) && (map)->type == YT_MAP && kname##_i < (map)->n; \
	    kname##_i++) \
		for (const char *kname = (map)->keys[kname##_i]->value; kname; kname = NULL) \
			for (struct yt_node *vnode = (map)->items[kname##_i]; vnode; vnode = NULL) \
				for (char *kpath = yt_path_key((path), kname); kpath; \
				    free(kpath), kpath = NULL)
/* NOLINTEND(bugprone-macro-parentheses) */

/* --- manifest_values.c: errors, typed readers, key checks ---------------- */

/* An error at node n (position) under the key path `path`; one line always. */
void __attribute__((format(printf, 4, 5)))
mf__err_at(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *fmt, ...);

/* 1 when n is a mapping (a list); otherwise reports it and returns 0. */
int mf__is_map(struct mf__ctx *c, const struct yt_node *n, const char *path);
int mf__is_seq(struct mf__ctx *c, const struct yt_node *n, const char *path);
/* Each returns the value (owned) or NULL / -1 after reporting the error. */
char *mf__get_str(struct mf__ctx *c, const struct yt_node *n, const char *path);
char *mf__get_name_str(struct mf__ctx *c, const struct yt_node *n, const char *path);
char *mf__get_text(struct mf__ctx *c, const struct yt_node *n, const char *path, int null_ok);
int mf__get_bool(struct mf__ctx *c, const struct yt_node *n, const char *path, int *out);
int mf__get_int(struct mf__ctx *c, const struct yt_node *n, const char *path, long lo, long hi,
    int *out);
/* A duration in ms, at most max (durations.h has the limits). */
int mf__get_duration(struct mf__ctx *c, const struct yt_node *n, const char *path,
    int64_t max, int64_t *out);
int mf__get_mode(struct mf__ctx *c, const struct yt_node *n, const char *path, int *out);
char **mf__get_str_list(struct mf__ctx *c, const struct yt_node *n, const char *path,
    size_t *count, struct yt_node ***nodes);
int mf__get_cmd(struct mf__ctx *c, const struct yt_node *n, const char *path,
    struct mf_cmd *cmd);

enum { MF__KV_LIST = 1, MF__KV_LABELS = 2 };
struct mf_kv *mf__get_kv(struct mf__ctx *c, const struct yt_node *n, const char *path,
    size_t *count, int flags);

void mf__cmd_release(struct mf_cmd *cmd);
void mf__kv_free(struct mf_kv *kv, size_t n);

/* The choice a typo most likely meant, or NULL. */
const char *mf__closest(const char *word, const char *const *choices);
void mf__check_keys(struct mf__ctx *c, const struct yt_node *map, const char *path,
    const char *const *allowed);
void mf__missing(struct mf__ctx *c, const struct yt_node *map, const char *path,
    const char *key);
void mf__check_dups(struct mf__ctx *c, const struct yt_node *seq, const char *path,
    char *const *v, size_t n, const char *what);
/* The key node (not the value) of key in map, or NULL. */
const struct yt_node *mf__key_node(const struct yt_node *map, const char *key);
void mf__both_or_neither(struct mf__ctx *c, const struct yt_node *map, const char *path,
    const char *a, const char *b);

/* --- manifest_names.c: name rules and the checks that report them -------- */

int mf__name_ok(const char *s);
int mf__env_name_ok(const char *s);
int mf__alias_ok(const char *s);
int mf__user_ok(const char *s);
int mf__timezone_ok(const char *s);

enum { MF__IMAGE_SERVICE, MF__IMAGE_SERVICE_TAGS_OK, MF__IMAGE_HOOK };
void mf__check_image(struct mf__ctx *c, const struct yt_node *n, const char *path,
    const char *img, int kind);
void mf__check_name(struct mf__ctx *c, const struct yt_node *k, const char *path,
    const char *what);
void mf__check_secret_name(struct mf__ctx *c, const struct yt_node *n, const char *path,
    const char *name, const char *what);

/* --- a service's fields: manifest_service.c and the files it calls ------- */

void mf__parse_service(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path, const struct yt_node *root);
/* manifest_env.c */
void mf__parse_env(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
void mf__parse_env_files(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v,
    const char *p);
void mf__parse_secrets(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
/* manifest_networks.c */
void mf__parse_ports(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v,
    const char *p);
void mf__parse_networks(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path, const struct yt_node *top_networks);
/* manifest_volumes.c */
void mf__parse_mounts(struct mf__ctx *c, struct mf_service *s, const struct yt_node *v,
    const char *p, const struct yt_node *top_volumes);
/* manifest_rollout.c */
void mf__parse_healthcheck(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
void mf__parse_probe(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
/* The health gate a healthcheck implies, once the service is read. */
void mf__check_gate(struct mf__ctx *c, const struct mf_service *s, const struct yt_node *n,
    const char *path);
void mf__parse_update(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
void mf__parse_hooks(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
void mf__parse_on_dep(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
/* manifest_deploy.c */
void mf__parse_deploy(struct mf__ctx *c, struct mf_service *s, const struct yt_node *n,
    const char *path);
void mf__deploy_release(struct mf_deploy *d);

/* --- top-level sections, read after the services ------------------------- */

void mf__parse_volumes(struct mf__ctx *c, const struct yt_node *n);		/* _volumes.c */
void mf__parse_networks_top(struct mf__ctx *c, const struct yt_node *n);	/* _networks.c */
void mf__parse_backups(struct mf__ctx *c, const struct yt_node *n);		/* _backups.c */
void mf__parse_notifications(struct mf__ctx *c, const struct yt_node *n);	/* _notify.c */

/* --- manifest_checks.c: checks across sections, once all are read -------- */

void mf__check_depends(struct mf__ctx *c);
void mf__check_cycles(struct mf__ctx *c);
void mf__check_ports(struct mf__ctx *c);

/* --- manifest_secrets.c: the secrets section (secrets kept in Git) ------- */
void mf__parse_git_secrets(struct mf__ctx *c, const struct yt_node *n);
void mf__git_secrets_release(struct manifest *m);

/* --- manifest_fleet.c ----------------------------------------------------- */
void mf__parse_fleet(struct mf__ctx *c, const struct yt_node *n);
void mf__fleet_release(struct manifest *m);

#endif
