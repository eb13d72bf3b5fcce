/*
 * config: reconcilerd's settings from /etc/reconciler/reconciler.yaml, with
 * defaults; command-line flags override them field by field (reconcilerd.c).
 */
#ifndef RECONCILER_CONFIG_H
#define RECONCILER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "gitsrc.h"
#include "placement.h"

#define CONFIG_PATH_DEFAULT "/etc/reconciler/reconciler.yaml"

struct config {
	char *repo;		/* required */
	char *branch;		/* main */
	char *manifest;		/* manifests/prod.yaml */
	int64_t poll_interval;	/* ms, 30s */
	char *state_dir;	/* /var/lib/reconciler */
	char *secrets_dir;	/* /etc/reconciler/secrets */
	char *docker_host;	/* NULL: $DOCKER_HOST or the default socket */
	char *backend;		/* containers | swarm */
	int concurrency;	/* CONVERGE_CONCURRENCY */
	int64_t engine_timeout;	/* ms, 30s */
	int64_t shutdown_timeout;	/* ms, 60s */
	char *log_format;	/* text | json */
	char *token_file, *token_user, *ssh_key, *known_hosts;
	char *control_socket;	/* NULL: <state_dir>/reconcilerd.sock; "" disables */
	char *control_group;	/* group given the socket (mode 0660) */
	char *listen;		/* HOST:PORT for /healthz, /metrics; NULL: off */
	char *listener_user;	/* the listener child's user when started as root (nobody) */
	/* webhooks: files holding each source's secret; NULL: that hook is off */
	char *hook_github_file, *hook_gitea_file, *hook_generic_file;
	/* this daemon in a fleet (docs/fleet.md): `host` (default the system's
	 * host name) and `host_labels`, read by placement constraints */
	struct fleet_host host;
	/* staged rollout: the hosts of the fleet section that must serve a
	 * revision healthy before this one converges it (`wait_for`) */
	char **wait_for;
	size_t nwait_for;
	/* trust (docs/security.md): `signatures:` which commits must carry a good
	 * signature of a trusted signer before they are applied, and who is
	 * trusted (an ssh allowed-signers file, an OpenPGP keyring for gpgv) */
	enum config_verify { CONFIG_VERIFY_OFF, CONFIG_VERIFY_HEAD, CONFIG_VERIFY_ALL } verify;
	char *allowed_signers, *gpg_keyring;
	/* the age identity that decrypts the repository's encrypted secrets */
	char *age_identity;
	/* `commit_status:` the deploy's outcome posted on the commit; provider
	 * NULL: off */
	struct config_commit_status {
		char *provider;		/* github | gitea */
		char *url;		/* the API's base URL (GitHub: https://api.github.com) */
		char *repository;	/* owner/name */
		char *token_file;
		char *context;		/* default reconciler/<host> */
		char *target_url;	/* a link shown beside the status, NULL: none */
	} status;
};

/* "off", "head", "all" */
const char *config_verify_name(enum config_verify v);

void config_defaults(struct config *c);
/* The system's host name up to its first dot (as the config's `host`
 * defaults to), into buf; "localhost" when it cannot be read. */
void config_default_host(char *buf, size_t len);
/* Reads path into c (over the defaults); errors with file:line:col in d. A
 * missing file is an error only when `required`. */
int config_load(struct config *c, const char *path, int required, struct diag *d);
void config_release(struct config *c);
/* Checks the assembled config (after flags): repo set, paths absolute… */
int config_check(const struct config *c, char *err);
struct gitsrc_auth config_auth(const struct config *c);
/* SIGHUP: the keys a running daemon took at its start (the state dir and its
 * lock, the sockets it bound, the engine its events come from) cannot change
 * under it. Each one fresh changes gets running's value back and is told in
 * changed ("listen 127.0.0.1:9180 -> 127.0.0.1:9181; …"); returns how many. */
int config_keep_restart_keys(struct config *fresh, const struct config *running, char *changed,
    size_t len);

#endif
