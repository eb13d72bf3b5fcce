/*
 * manifest: the typed model of a manifest (format version 1, docs/manifest.md)
 * and its validation. Parsing never stops at the first error: every problem is
 * reported with file:line:col and a key path. The model keeps the YAML tree so
 * callers (set-image) can reach source spans.
 */
#ifndef RECONCILER_MANIFEST_H
#define RECONCILER_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "yamltree.h"

#define MANIFEST_VERSION 1

struct mf_kv {
	char *key;
	char *value;
};

/* A command: exec form (argv) or shell form (one string run by /bin/sh -c). */
struct mf_cmd {
	int set;
	int shell;
	char **argv;
	size_t argc;
};

struct mf_env {
	char *name;
	char *value;		/* plain value, or NULL */
	char *secret;		/* secret name, or NULL */
};

struct mf_secret {
	char *source;		/* file name under the secrets directory */
	char *target;		/* absolute path in the container */
	int mode;		/* file mode (informational; bind mounts keep the host's) */
};

struct mf_port {
	char *host_ip;		/* "0.0.0.0" by default */
	int host_port;
	int container_port;
	char proto[4];		/* "tcp" or "udp" */
	int line, col;
};

struct mf_mount {
	int bind;		/* 1: host path; 0: named volume */
	char *source;		/* volume key (named) or absolute host path (bind) */
	char *target;
	int ro;
};

struct mf_netref {
	char *name;		/* network key */
	char **aliases;
	size_t naliases;
};

enum mf_health_kind { MF_HEALTH_IMAGE, MF_HEALTH_CMD, MF_HEALTH_NONE };

struct mf_health {
	enum mf_health_kind kind;	/* IMAGE: not set in the manifest */
	struct mf_cmd test;
	int64_t interval, timeout, start_period;	/* ms */
	int retries;
};

struct mf_probe {
	int set;
	int port;
	char *path;
	int status;
	int64_t interval, timeout;
};

enum mf_strategy { MF_START_FIRST, MF_STOP_FIRST };

struct mf_update {
	enum mf_strategy strategy;
	int strategy_explicit;
	int64_t min_ready;
	int64_t timeout;	/* 0: derived */
	int parallelism;	/* swarm: tasks updated at once; 0: not set (1) */
	int64_t delay;		/* swarm: ms between batches; 0: not set */
};

/* deploy: what a cluster needs (backend swarm), close to Compose's deploy:.
 * Zero in a field means "not set in the manifest". */
enum mf_mode { MF_REPLICATED, MF_GLOBAL };

struct mf_resources {
	int64_t nano_cpus;	/* cpus: "0.5" -> 500000000 */
	int64_t memory;		/* bytes */
	int64_t pids;		/* limits only */
};

enum mf_failure_action { MF_FAIL_PAUSE, MF_FAIL_CONTINUE };

struct mf_rollback {
	int set;
	int parallelism;	/* 0: not set (1); Swarm's 0 (all at once) is not offered */
	int64_t delay;		/* ms */
	enum mf_strategy order;
	int order_explicit;
	int64_t monitor;	/* ms; 0: the update's gate time */
	enum mf_failure_action failure_action;	/* default pause */
};

struct mf_deploy {
	int set;			/* the service has a deploy: key */
	enum mf_mode mode;		/* default replicated */
	int dnsrr;			/* endpoint_mode dnsrr (default vip) */
	int replicas;			/* -1: not set (1 when replicated) */
	char **constraints;		/* placement.constraints, e.g. "node.role==worker" */
	size_t nconstraints;
	char **spread;			/* placement.preferences[].spread, in order */
	size_t nspread;
	int max_per_node;		/* placement.max_replicas_per_node; 0: not set */
	struct mf_resources limits, reservations;
	struct mf_rollback rollback;	/* deploy.rollback_config */
};

struct mf_hook {
	char *name;
	struct mf_cmd command;
	char *image;		/* NULL: the service's image */
	int64_t timeout;
};

struct mf_depaction {
	char *service;
	char *signal;		/* or NULL */
	struct mf_cmd exec;	/* or unset */
};

/* track: the tag update-images follows for this service and how old a new
 * digest must be before it is written (a setting of that command only: it
 * enters no spec, so changing it recreates nothing). */
struct mf_track {
	int set;
	char *tag;		/* track.tag, else the tag written in the image */
	int64_t cooldown;	/* ms, 0 by default */
	int line, col;		/* of the track mapping */
};

struct mf_service {
	char *name;
	int line, col;
	struct yt_node *node;		/* the service mapping */
	struct yt_node *image_node;	/* the image scalar, for in-place edits */
	char *image;
	int allow_tags;
	struct mf_cmd command, entrypoint;
	struct mf_env *env;
	size_t nenv;
	char **env_files;
	size_t nenv_files;
	struct mf_secret *secrets;
	size_t nsecrets;
	struct mf_port *ports;
	size_t nports;
	struct mf_mount *mounts;
	size_t nmounts;
	struct mf_netref *networks;
	size_t nnetworks;
	char **depends_on;
	struct yt_node **depends_on_nodes;
	size_t ndepends_on;
	char *restart;
	char *log_driver;
	struct mf_kv *log_opts;
	size_t nlog_opts;
	struct mf_kv *labels;
	size_t nlabels;
	char *user;
	char *working_dir;
	int64_t stop_grace;
	struct mf_health health;
	struct mf_probe probe;
	struct mf_update update;
	struct mf_deploy deploy;
	struct mf_hook *hooks;
	size_t nhooks;
	struct mf_depaction *on_dep;
	size_t non_dep;
	char *backup_before_deploy;
	struct mf_track track;
};

struct mf_volume {
	char *key;
	char *name;		/* engine name: <project>_<key> unless set */
	char *driver;
	struct mf_kv *opts;
	size_t nopts;
	int external;
};

struct mf_network {
	char *key;
	char *name;
	char *driver;
	int internal, external;
};

enum mf_compress { MF_GZIP, MF_NONE };

struct mf_backup {
	char *name;
	int line, col;
	char *service;
	char *schedule;
	char *timezone;
	struct mf_cmd command;
	enum mf_compress compress;
	char *destination;
	int keep_last;		/* 0: not set */
	int64_t max_age;	/* 0: not set */
	struct mf_cmd restore;
};

enum mf_notify_type { MF_NOTIFY_DISCORD, MF_NOTIFY_SLACK, MF_NOTIFY_WEBHOOK };

#define MF_EVENT_ALL 0x1ffu

struct mf_notify {
	char *name;
	enum mf_notify_type type;
	char *url_secret;
	char *hmac_secret;
	unsigned events;	/* bit per event name, see manifest_event_names */
};

/* An entry of the secrets section: a secret kept in the repository, encrypted
 * with age; the daemon decrypts it with its identity (docs/security.md). */
struct mf_git_secret {
	char *name;		/* the name references use ({secret: NAME}, env_files, ...) */
	char *file;		/* the encrypted file, relative to the repository's top */
	int line, col;
};

struct strtab;

/* A host of the fleet section: its daemon's host name and the address of its
 * read-only listener (http://HOST:PORT, no trailing slash). */
struct mf_fleet_host {
	char *name;
	char *url;
};

struct manifest {
	char *file;
	int version;
	char *project;
	struct mf_service *services;
	size_t nservices;
	struct mf_volume *volumes;
	size_t nvolumes;
	struct mf_network *networks;
	size_t nnetworks;
	struct mf_backup *backups;
	size_t nbackups;
	struct mf_notify *notifications;
	size_t nnotifications;
	struct mf_fleet_host *fleet;	/* the fleet section, in file order */
	size_t nfleet;
	struct mf_git_secret *git_secrets;	/* the secrets section, in file order */
	size_t ngit_secrets;
	struct yt_doc *doc;
	char *src;		/* owned copy of the source text */
	size_t srclen;
	struct strtab *service_index;	/* name -> index in services, for manifest_service */
};

extern const char *const manifest_event_names[];

/* Parses and validates src. Returns 0 with *out set when valid; -1 with every
 * error in d (and *out NULL) otherwise. `file` names the source in errors. */
int manifest_parse(struct manifest **out, const char *file, const char *src, size_t len,
    struct diag *d);
/* Reads path (capped at the size limit) and parses it. */
int manifest_load(struct manifest **out, const char *path, struct diag *d);
void manifest_free(struct manifest *m);

struct mf_service *manifest_service(const struct manifest *m, const char *name);
struct mf_volume *manifest_volume(const struct manifest *m, const char *key);
struct mf_network *manifest_network(const struct manifest *m, const char *key);
struct mf_backup *manifest_backup(const struct manifest *m, const char *name);
/* The secrets section's entry NAME (a secret kept encrypted in Git), or NULL. */
const struct mf_git_secret *manifest_git_secret(const struct manifest *m, const char *name);
/* A path inside the repository as the secrets section writes it: relative,
 * no empty, '.' or '..' component, no backslash or control character. */
int manifest_repo_path_ok(const char *path);

/* Image reference checks shared with set-image: 1 when ref ends in
 * @sha256:<64 lowercase hex>. */
int manifest_image_pinned(const char *ref);
/* The parts of NAME[:TAG][@sha256:…]: the name, the tag ("" when none) and the
 * digest ("" when none), each malloc'd. -1 when ref has no name. */
int manifest_image_split(const char *ref, char **name, char **tag, char **digest);
/* A tag as the registry takes it: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
int manifest_tag_ok(const char *tag);
/* Checks a secret or env-file name (a file name inside the secrets dir). */
int manifest_secret_name_ok(const char *name);
/* 1 when path has no '.' or '..' segment (a host path must name one place). */
int manifest_path_plain(const char *path);
/* The other name rules of docs/manifest.md, for tools that write manifests
 * (import-compose): project/service/volume/network names, network aliases,
 * environment variable names, `user`, and an image reference (Docker's
 * grammar, with or without a digest). 1 when valid. */
int manifest_name_ok(const char *s);
/* A host name as a daemon's config and the fleet section write it: 1-63
 * letters, digits, '.', '_', '-', starting with a letter or digit. */
int manifest_host_name_ok(const char *s);
int manifest_alias_ok(const char *s);
int manifest_env_name_ok(const char *s);
int manifest_user_ok(const char *s);
int manifest_image_ref_ok(const char *ref);
/* A restart policy: no, always, unless-stopped, on-failure[:1-99999]. */
int manifest_restart_ok(const char *r);

/* deploy.resources: the bounds of docs/manifest.md. Docker refuses a memory
 * limit or reservation under 6 MiB; 1 TiB and 1024 CPUs are far past any one
 * host and keep every product inside 64 bits. */
#define MANIFEST_CPUS_MAX	1024
#define MANIFEST_CPUS_DECIMALS	3
#define MANIFEST_MEMORY_MIN	(6LL << 20)
#define MANIFEST_MEMORY_MAX	(1LL << 40)
#define MANIFEST_PIDS_MAX	4194304		/* Linux's largest pid_max */
#define MANIFEST_REPLICAS_MAX	1000

enum { MANIFEST_VALUE_FORM = -1, MANIFEST_VALUE_RANGE = -2, MANIFEST_VALUE_PRECISION = -3 };
/* A number of CPUs as written ("0.5", "2", ".25"; at most 3 decimals) into
 * nanoCPUs. 0, or MANIFEST_VALUE_FORM (not such a number), _PRECISION (more
 * decimals), _RANGE (not more than 0 and at most MANIFEST_CPUS_MAX). */
int manifest_cpus_parse(const char *s, int64_t *nano);
/* A memory size: bytes, or a whole number with a unit b, k, kb, m, mb, g, gb
 * (any case; k = 1024), into bytes. 0, or MANIFEST_VALUE_FORM, or
 * MANIFEST_VALUE_RANGE (outside MANIFEST_MEMORY_MIN..MANIFEST_MEMORY_MAX). */
int manifest_memory_parse(const char *s, int64_t *bytes);
/* A placement constraint, ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE as Swarm
 * parses it; a spread preference, node.labels.NAME or engine.labels.NAME.
 * 1 when valid. */
int manifest_constraint_ok(const char *s);
/* A constraint (of the form manifest_constraint_ok takes) cut into its
 * attribute and value, blanks trimmed, each truncated to its buffer; *eq 1
 * for ==, 0 for != (== wins, as in Swarm). -1 when it has no operator. */
int manifest_constraint_split(const char *s, char *attr, size_t alen, char *value, size_t vlen,
    int *eq);
int manifest_spread_ok(const char *s);

/* The keys that only one backend honours ("containers" or "swarm"), refused
 * on the other: one error in d per key, at its position. 0 when nothing is
 * refused; -1 otherwise, or when backend is neither. Pure. */
int manifest_check_backend(const struct manifest *m, const char *backend, struct diag *d);

/* Services in dependency order (dependencies first, then by name). The array
 * holds indexes into m->services. */
size_t *manifest_topo_order(const struct manifest *m);

#endif
