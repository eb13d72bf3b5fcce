/*
 * Where a command's manifest and engine come from: the options diff, apply,
 * status and backup share (-f, --repo, -H, --state-dir…), loading the
 * manifest, its secrets and the engine's state into a plan (struct cli_world).
 */
#ifndef RECONCILER_CLI_SOURCE_H
#define RECONCILER_CLI_SOURCE_H

#include <getopt.h>

#include "manifest.h"
#include "secrets.h"
#include "state.h"
#include "world.h"

struct docker;
struct plan;

struct cli_source {
	const char *file;
	const char *repo, *ref, *path;
	const char *secrets_dir, *state_dir, *host;
	const char *socket;
	/* Git credentials for --repo: these, else reconcilerd's (git.* of its
	 * config) when the config's repo is --repo */
	const char *config, *token_file, *ssh_key, *known_hosts;
	const char *backend;	/* --backend; NULL: containers */
	/* --age-identity: decrypts the manifest's secrets kept in Git; NULL:
	 * the age_identity of reconcilerd's config */
	const char *age_identity;
	/* --host-name, --host-label: this host in a fleet; when neither is
	 * given, the host and host_labels of reconcilerd's config */
	const char *host_name;
	const char *host_labels[32];
	size_t nhost_labels;	/* over 32: cli_source_host refuses */
};

/* getopt values of the long options without a short letter; a command's
 * own start at 300. */
enum { OPT_REPO = 256, OPT_REF, OPT_PATH, OPT_SECRETS, OPT_STATE, OPT_SOCKET, OPT_CONFIG,
	OPT_TOKEN_FILE, OPT_SSH_KEY, OPT_KNOWN_HOSTS, OPT_BACKEND, OPT_HOST_NAME, OPT_HOST_LABEL,
	OPT_AGE_IDENTITY };

#define CLI_SOURCE_OPTIONS \
	{ "file", required_argument, NULL, 'f' }, \
	{ "repo", required_argument, NULL, OPT_REPO }, \
	{ "ref", required_argument, NULL, OPT_REF }, \
	{ "path", required_argument, NULL, OPT_PATH }, \
	{ "secrets-dir", required_argument, NULL, OPT_SECRETS }, \
	{ "state-dir", required_argument, NULL, OPT_STATE }, \
	{ "host", required_argument, NULL, 'H' }, \
	{ "socket", required_argument, NULL, OPT_SOCKET }, \
	{ "config", required_argument, NULL, OPT_CONFIG }, \
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE }, \
	{ "ssh-key", required_argument, NULL, OPT_SSH_KEY }, \
	{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS }, \
	{ "backend", required_argument, NULL, OPT_BACKEND }, \
	{ "host-name", required_argument, NULL, OPT_HOST_NAME }, \
	{ "host-label", required_argument, NULL, OPT_HOST_LABEL }, \
	{ "age-identity", required_argument, NULL, OPT_AGE_IDENTITY }

/* 1 when getopt's c (with optarg) was one of CLI_SOURCE_OPTIONS, else 0. */
int cli_source_option(struct cli_source *src, int c);
/* Loads and validates the manifest; errors are printed. 0 or -1. */
int cli_source_load(const struct cli_source *src, const char *cmd, struct manifest **m,
    char *revision);
/* The same, text_cb told the manifest's text before it is parsed. */
int cli_source_load_text(const struct cli_source *src, const char *cmd, struct manifest **m,
    char *revision, void (*text_cb)(const char *text, size_t len, void *payload),
    void *payload);
int cli_source_secrets(const struct cli_source *src, struct secrets *sec, char *err);
/* The manifest's secrets kept in Git, decrypted into g: with -f from the
 * work tree holding the file (its top; the file's own directory when it is
 * in none), with --repo at `revision`; the identity of --age-identity, else
 * of reconcilerd's config. Errors are printed. 0 or -1. */
int cli_source_git_secrets(const struct cli_source *src, const char *cmd,
    const struct manifest *m, const char *revision, struct secrets_git *g);
/* The top of the Git work tree holding file (caller frees), else NULL. */
char *cli_worktree_top(const char *file);
/* The backend --backend names (containers when not given); NULL with the
 * error printed when there is no such backend. */
const struct backend_ops *cli_source_backend(const struct cli_source *src, const char *cmd);
/* Opens the engine at -H (else the default); errors are printed. 0 or -1. */
int cli_open_docker(const struct cli_source *src, struct docker **d, const char *cmd);

/* Everything a plan needs (deploy/world.h: the one pipeline) and where it
 * came from. Errors are printed. */
struct cli_world {
	struct manifest *m;
	struct secrets sec;
	struct secrets_git git;		/* m's secrets kept in Git; sec.git */
	struct world w;
	struct docker *d;		/* w's engine, when the list went ahead */
	struct fleet_host host;		/* this host in a fleet (cli_source_host) */
	char revision[41];
	/* microseconds reading and parsing the manifest, and reading the
	 * config and the secrets (diff --stats; w has the rest) */
	long long parse_us, secrets_us;
};

int cli_world_load(struct cli_world *w, const struct cli_source *src, const char *cmd);
/* This host in a fleet, as --host-name and --host-label say, else as
 * reconcilerd's config does (--config, or the default file when it exists),
 * else the system's host name with no labels. -1 with the error printed. */
int cli_source_host(const struct cli_source *src, const char *cmd, struct fleet_host *h);
void cli_world_release(struct cli_world *w);

#endif
