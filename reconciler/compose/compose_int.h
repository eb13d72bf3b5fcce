/*
 * compose_int: what the files of the Compose converter share (compose.h is
 * the public side). It owns the conversion's state: the services being
 * converted, their rendered sections, the secret files and host ports taken.
 * Types are c-prefixed (cctx, csvc…); shared functions are compose__.
 */
#ifndef RECONCILER_COMPOSE_INT_H
#define RECONCILER_COMPOSE_INT_H

#include <stddef.h>

#include "compose.h"
#include "util.h"
#include "yamltree.h"

/* A report's level; compose.h says what each one means. */
enum clevel { L_NOTE, L_SECRET, L_UNMAPPED, L_UNPINNED, L_ERROR };

/* A file the operator must create in the secrets directory. */
struct csecret {
	char *name;
	char *what;		/* what the file holds, for the list at the end */
};

/* A host port already published, to keep a second service off it. */
struct cport {
	char *ip;
	int port;
	char proto[4];
	const char *service;
	int line;
};

/* A service's rendered sections, in the order the manifest lists them. */
enum csection {
	S_IMAGE, S_COMMAND, S_ENTRYPOINT, S_USER, S_WORKDIR, S_ENV, S_ENVFILES, S_SECRETS,
	S_PORTS, S_VOLUMES, S_NETWORKS, S_DEPENDS, S_RESTART, S_LOGGING, S_LABELS, S_HEALTH,
	S_GRACE, S_UPDATE, S_DEPLOY, S_NSECTIONS
};

struct cmount {			/* a secret mounted in the service */
	char *source, *target, *mode;
};

/* A depends_on entry; dropped when the manifest would refuse it. */
struct cdep {
	char *name;
	const struct yt_node *node;
	char *path;
	int dropped;
};

/* A service being converted. */
struct csvc {
	const char *name;
	const struct yt_node *key, *node;
	char *path;
	struct buf sec[S_NSECTIONS];
	struct cmount *mounts;
	size_t nmounts;
	struct cdep *deps;
	size_t ndeps;
	int has_ports;
};

/* One conversion: what its passes share. */
struct cctx {
	struct diag *d;
	const struct compose_options *o;
	const struct yt_node *root, *top_volumes, *top_networks, *top_secrets;
	char *project;
	struct csecret *secrets;
	size_t nsecrets;
	struct cport *ports;
	size_t nports;
	struct csvc *svcs;
	size_t nsvcs;
	size_t unmapped;
	int failed;
	char **volumes, **networks;	/* keys written under the top-level sections */
	size_t nvolumes, nnetworks;
};

/* --- compose.c: the passes, the top level, reading the tree --------------- */

/* The text of a scalar that is a string in Compose's eyes (numbers and
 * booleans taken as written); NULL for null, collections and text with NUL. */
const char *compose__text_of(const struct yt_node *n);
const char *compose__str_of(const struct yt_node *n);
int compose__strv_has(char *const *v, size_t n, const char *s);

/* --- compose_report.c: reports, keys without an equivalent ---------------- */

void compose__report(struct cctx *c, const struct yt_node *n, const char *path, enum clevel lv,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void compose__check_service_keys(struct cctx *c, struct csvc *s);
void compose__check_top_keys(struct cctx *c);

/* --- compose_yaml.c: the manifest text ------------------------------------ */

void compose__put_quoted(struct buf *b, const char *s);
void compose__put_scalar(struct buf *b, const char *s);
void compose__put_flow_item(struct buf *b, const char *s);
/* "  # text" with the text kept on one line. */
void compose__put_comment(struct buf *b, const char *text);
void compose__put_flow_list(struct buf *b, char *const *v, size_t n, int always_quote);
/* The manifest: the header, each service's sections in the manifest's
 * order, the top-level networks and volumes, the secret files to create. */
void compose__write_manifest(struct cctx *c, struct buf *b, const char *file,
    const struct buf *nets, const struct buf *vols);

/* --- compose_interp.c: $VAR, ${VAR}, ${VAR:-default}, $$ ------------------ */

struct cseg {
	char *text;		/* literal text ($$ already made $), or NULL */
	char *var;		/* variable name, or NULL */
	int alt;		/* ${VAR:+alt} / ${VAR+alt}: not the variable's value */
	int has_default;
};

struct cinterp {
	struct cseg *v;
	size_t n;
	size_t nvars;
};

void compose__interp_release(struct cinterp *in);
/* Splits s into literal text and variable references as Compose reads them.
 * -1 with why filled on a malformed reference. */
int compose__interp_parse(const char *s, struct cinterp *out, char *why);
/* The value as a reader should see it: literal text and ${NAME}, with every
 * default left out (a default may be the secret itself). */
char *compose__interp_show(const struct cinterp *in);
/* The literal text when s has no variable; NULL (why filled) otherwise. */
char *compose__literal(const char *s, char *why);

/* --- compose_secrets.c: secret files, mounts, secrets: -------------------- */

/* The secret file for a variable: its name lowercased (DB_PASSWORD ->
 * db_password). NULL when that is not a usable file name. */
char *compose__var_secret_name(const char *var);
/* Registers the secret file `want` holding `what` and returns the name to
 * use (borrowed): the same name for the same content; another one (prefixed
 * with the service) when the name is taken by something else. */
const char *compose__secret_add(struct cctx *c, const char *want, const char *what,
    const char *service);
const char *compose__var_secret(struct cctx *c, const char *var, const char *service);
/* Mounts a secret file in the service (once per target). */
void compose__mount_add(struct csvc *s, const char *source, const char *target, const char *mode);
/* The service's secrets: section, from the files mounted in it. */
void compose__put_mounts(struct csvc *s);
void compose__conv_secrets(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);

/* --- compose_service.c: a service, key by key; the small keys ------------- */

void compose__conv_service(struct cctx *c, struct csvc *s);
/* A map or KEY=VALUE list of text values (labels, log options). */
void compose__conv_kv(struct cctx *c, struct buf *b, const char *indent, const struct yt_node *n,
    const char *path, int labels);
/* Writes "key: duration" for a Compose duration node of at most max ms (the
 * manifest's limit, durations.h); returns the ms written, or -1 after
 * reporting what it cannot write. */
int64_t compose__put_duration(struct cctx *c, struct buf *b, const char *indent, const char *key,
    const struct yt_node *n, const char *path, int64_t max);

/* --- compose_image.c: image ----------------------------------------------- */

void compose__conv_image(struct cctx *c, struct csvc *s);

/* --- compose_command.c: command, entrypoint, healthcheck ------------------ */

enum ccmd_kind { K_COMMAND, K_ENTRYPOINT, K_TEST };

void compose__conv_command(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path, enum ccmd_kind kind);
void compose__conv_healthcheck(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);

/* --- compose_env.c: environment, env_file --------------------------------- */

void compose__conv_environment(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);
void compose__conv_env_file(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);

/* --- compose_network.c: ports, networks ----------------------------------- */

void compose__conv_ports(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);
void compose__conv_networks(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);

/* --- compose_volumes.c: volumes ------------------------------------------- */

void compose__conv_volumes(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);

/* --- compose_deploy.c: deploy ------------------------------------------- */

/* deploy: (key k, value n) into the manifest's deploy: and its update_config
 * into update:; called once the service's ports are known (start-first
 * needs none). */
void compose__conv_deploy(struct cctx *c, struct csvc *s, const struct yt_node *k,
    const struct yt_node *n, const char *path);

/* --- compose_depends.c: depends_on ---------------------------------------- */

void compose__conv_depends(struct cctx *c, struct csvc *s, const struct yt_node *n,
    const char *path);
/* Drops the dependencies the manifest would refuse (unknown, itself, twice,
 * cycles) and writes each service's depends_on. */
void compose__check_depends(struct cctx *c);

#endif
