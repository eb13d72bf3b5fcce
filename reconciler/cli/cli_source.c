/*
 * Where a command's manifest and engine come from (cli_source.h): -f or
 * --repo (with the daemon's Git credentials and host-key pinning), the
 * secrets and the daemon's HMAC key, the engine at -H, and the plan they make
 * together.
 */
#include "cli.h"
#include "cli_source.h"
#include "config.h"
#include "diag.h"
#include "diff.h"
#include "docker.h"
#include "gitsrc.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
cli_source_option(struct cli_source *src, int c)
{
	switch (c) {
	case 'f': src->file = optarg; return 1;
	case OPT_REPO: src->repo = optarg; return 1;
	case OPT_REF: src->ref = optarg; return 1;
	case OPT_PATH: src->path = optarg; return 1;
	case OPT_SECRETS: src->secrets_dir = optarg; return 1;
	case OPT_STATE: src->state_dir = optarg; return 1;
	case 'H': src->host = optarg; return 1;
	case OPT_SOCKET: src->socket = optarg; return 1;
	case OPT_CONFIG: src->config = optarg; return 1;
	case OPT_BACKEND: src->backend = optarg; return 1;
	case OPT_TOKEN_FILE: src->token_file = optarg; return 1;
	case OPT_SSH_KEY: src->ssh_key = optarg; return 1;
	case OPT_KNOWN_HOSTS: src->known_hosts = optarg; return 1;
	case OPT_HOST_NAME: src->host_name = optarg; return 1;
	case OPT_AGE_IDENTITY: src->age_identity = optarg; return 1;
	case OPT_HOST_LABEL:
		if (src->nhost_labels < sizeof(src->host_labels) / sizeof(src->host_labels[0]))
			src->host_labels[src->nhost_labels] = optarg;
		src->nhost_labels++;
		return 1;
	}
	return 0;
}

/* The credentials --repo is read with, as reconcilerd reads it: the options
 * given, else the git.* keys of reconcilerd's config (--config, or the
 * default file when it exists) if that config watches this very URL; a
 * token is never sent to another host. cfg holds what *a points into. */
static int
source_auth(const struct cli_source *src, const char *cmd, struct config *cfg,
    struct gitsrc_auth *a)
{
	const char *path = src->config ? src->config : CONFIG_PATH_DEFAULT;
	struct diag d;
	int rc;

	memset(a, 0, sizeof(*a));
	config_defaults(cfg);
	if (src->token_file || src->ssh_key || src->known_hosts) {
		a->token_file = src->token_file;
		a->ssh_key = src->ssh_key;
		a->known_hosts = src->known_hosts;
		return 0;
	}
	diag_init(&d, path);
	rc = config_load(cfg, path, src->config != NULL, &d);
	if (rc < 0 && src->config) {
		diag_print(&d, stderr);
		diag_release(&d);
		fprintf(stderr, "reconcilerctl %s: cannot read reconcilerd's config '%s'\n", cmd,
		    path);
		return -1;
	}
	diag_release(&d);
	if (rc < 0 || !cfg->repo)
		return 0;
	if (strcmp(cfg->repo, src->repo) == 0) {
		*a = config_auth(cfg);
		return 0;
	}
	if (src->config) {
		char *want = url_redact(cfg->repo), *got = url_redact(src->repo);

		fprintf(stderr, "reconcilerctl %s: --repo %s is not the repository of '%s' (%s): "
		    "its git credentials are for that one; give --token-file, or --ssh-key and "
		    "--known-hosts\n", cmd, got, path, want);
		free(want);
		free(got);
		return -1;
	}
	return 0;
}

/* Loads and validates the manifest; errors are printed. 0 or -1. */
int
cli_source_load(const struct cli_source *src, const char *cmd, struct manifest **m, char *revision)
{
	return cli_source_load_text(src, cmd, m, revision, NULL, NULL);
}

int
cli_source_load_text(const struct cli_source *src, const char *cmd, struct manifest **m,
    char *revision, void (*text_cb)(const char *text, size_t len, void *payload),
    void *payload)
{
	char err[ERR_LEN], *text = NULL, *label = NULL, *shown;
	struct diag d;
	size_t len;
	int rc;

	*m = NULL;
	revision[0] = '\0';
	if (src->repo) {
		const char *path = src->path ? src->path : DEFAULT_MANIFEST;
		struct gitsrc_auth auth;
		struct config cfg;

		rc = source_auth(src, cmd, &cfg, &auth);
		if (rc == 0 && gitsrc_read_auth(src->repo, src->ref, path, &auth, YT_MAX_SIZE, &text,
		    &len, revision, err) < 0) {
			fprintf(stderr, "reconcilerctl %s: %s\n", cmd, err);
			rc = -1;
		}
		config_release(&cfg);
		if (rc < 0)
			return -1;
		shown = url_redact(src->repo);
		label = xasprintf("%s@%.12s:%s", shown, revision, path);
		free(shown);
	} else {
		const char *file = src->file ? src->file : DEFAULT_MANIFEST;

		if (file_read(file, YT_MAX_SIZE, &text, &len, err) < 0) {
			fprintf(stderr, "reconcilerctl %s: %s\n", cmd, err);
			return -1;
		}
		label = xstrdup(file);
	}
	if (text_cb)
		text_cb(text, len, payload);
	diag_init(&d, label);
	rc = manifest_parse(m, label, text, len, &d);
	diag_print(&d, stderr);
	diag_release(&d);
	free(label);
	free(text);
	return rc;
}

int
cli_source_secrets(const struct cli_source *src, struct secrets *sec, char *err)
{
	const char *state = src->state_dir ? src->state_dir : STATE_DIR_DEFAULT;
	char *key = xasprintf("%s/hmac.key", state);
	int rc;

	/* The key is the daemon's; standalone tools create it the way the daemon
	 * would, so the digests they compute match what it will deploy. */
	rc = secrets_open(sec, src->secrets_dir, key, access(state, W_OK) == 0, err);
	free(key);
	return rc;
}

int
cli_open_docker(const struct cli_source *src, struct docker **d, const char *cmd)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	char err[ERR_LEN];

	o.host = src->host;
	if (docker_open(d, &o, err) < 0) {
		fprintf(stderr, "reconcilerctl %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

const struct backend_ops *
cli_source_backend(const struct cli_source *src, const char *cmd)
{
	const struct backend_ops *b = backend_find(src->backend ? src->backend : "containers");

	if (!b)
		fprintf(stderr, "reconcilerctl %s: --backend '%s': expected containers or swarm\n",
		    cmd, src->backend);
	return b;
}

int
cli_source_host(const struct cli_source *src, const char *cmd, struct fleet_host *h)
{
	const char *path = src->config ? src->config : CONFIG_PATH_DEFAULT;
	struct config cfg;
	struct diag d;
	char name[256];
	int rc;

	memset(h, 0, sizeof(*h));
	if (src->nhost_labels > sizeof(src->host_labels) / sizeof(src->host_labels[0])) {
		fprintf(stderr, "reconcilerctl %s: more than %zu --host-label\n", cmd,
		    sizeof(src->host_labels) / sizeof(src->host_labels[0]));
		return -1;
	}
	if (src->host_name || src->nhost_labels) {
		config_default_host(name, sizeof(name));
		if (src->host_name && !manifest_host_name_ok(src->host_name)) {
			fprintf(stderr, "reconcilerctl %s: --host-name '%s': expected 1-63 letters, "
			    "digits, '.', '_', '-', starting with a letter or digit\n", cmd,
			    src->host_name);
			return -1;
		}
		h->name = xstrdup(src->host_name ? src->host_name : name);
		for (size_t i = 0; i < src->nhost_labels; i++)
			if (fleet_host_add_label(h, src->host_labels[i]) < 0) {
				fprintf(stderr, "reconcilerctl %s: --host-label '%s': expected "
				    "NAME=VALUE (e.g. role=web)\n", cmd, src->host_labels[i]);
				fleet_host_release(h);
				return -1;
			}
		return 0;
	}
	config_defaults(&cfg);
	diag_init(&d, path);
	rc = config_load(&cfg, path, src->config != NULL, &d);
	if (rc < 0 && src->config) {
		diag_print(&d, stderr);
		fprintf(stderr, "reconcilerctl %s: cannot read reconcilerd's config '%s'\n", cmd,
		    path);
	}
	diag_release(&d);
	if (rc == 0)
		fleet_host_copy(h, &cfg.host);
	else if (!src->config) {
		config_default_host(name, sizeof(name));
		h->name = xstrdup(name);
		rc = 0;
	}
	config_release(&cfg);
	return rc;
}

/* A monotonic clock in microseconds, for diff --stats. */
static long long
clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The project a manifest's text names at its top level ("project: x" on a
 * line of its own), before it is parsed: a guess, "" when there is none. */
static void
project_guess(const char *text, size_t len, char *out, size_t outlen)
{
	const char *p = text, *end = text + len;

	out[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;

		if (e - p > 8 && strncmp(p, "project:", 8) == 0) {
			size_t k = 0;

			for (p += 8; p < e && (*p == ' ' || *p == '\'' || *p == '"'); p++)
				;
			while (p + k < e && k + 1 < outlen && (islower((unsigned char)p[k]) ||
			    isdigit((unsigned char)p[k]) || p[k] == '-' || p[k] == '_'))
				k++;
			memcpy(out, p, k);
			out[k] = '\0';
			return;
		}
		p = nl ? nl + 1 : end;
	}
}

struct ahead {
	const struct cli_source *src;
	const struct backend_ops *b;
	struct docker **d;
};

/* The engine's list, sent from the manifest's text while it is parsed and
 * the desired state built; the list that follows takes the answers when the
 * project was guessed right, and asks again when not. */
static void
send_ahead(const char *text, size_t len, void *payload)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	struct ahead *a = payload;
	char project[64], err[ERR_LEN];

	project_guess(text, len, project, sizeof(project));
	o.host = a->src->host;
	if (project[0] && a->b->list_ahead && docker_open(a->d, &o, err) == 0)
		a->b->list_ahead(*a->d, project);
}

int
cli_world_load(struct cli_world *w, const struct cli_source *src, const char *cmd)
{
	struct docker_options o = DOCKER_OPTIONS_INIT;
	const struct backend_ops *b;
	struct ahead ahead;
	char err[ERR_LEN];
	int rc;

	long long t0 = clock_us();

	memset(w, 0, sizeof(*w));
	if (!(b = cli_source_backend(src, cmd)))
		return -1;
	ahead.src = src;
	ahead.b = b;
	ahead.d = &w->d;
	if (cli_source_load_text(src, cmd, &w->m, w->revision, send_ahead, &ahead) < 0)
		return -1;
	w->parse_us = clock_us() - t0;
	t0 = clock_us();
	if (cli_source_host(src, cmd, &w->host) < 0)
		return -1;
	o.host = src->host;
	if (cli_source_git_secrets(src, cmd, w->m, w->revision, &w->git) < 0)
		return -1;
	if (cli_source_secrets(src, &w->sec, err) < 0) {
		fprintf(stderr, "reconcilerctl %s: %s\n", cmd, err);
		return -1;
	}
	w->sec.git = &w->git;
	w->secrets_us = clock_us() - t0;
	rc = w->d ? world_load_on(&w->w, w->m, &w->sec, b, &w->host, w->d, NULL, err) :
	    world_load(&w->w, w->m, &w->sec, b, &w->host, &o, NULL, err);
	if (rc < 0) {
		fprintf(stderr, "reconcilerctl %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

void
cli_world_release(struct cli_world *w)
{
	world_release(&w->w);
	docker_free(w->d);
	fleet_host_release(&w->host);
	secrets_release(&w->sec);
	secrets_git_release(&w->git);
	manifest_free(w->m);
	memset(w, 0, sizeof(*w));
}

/* The absolute directory holding file (caller frees), NULL if it is not. */
static char *
realpath_dir(const char *file)
{
	char *abs = realpath(file, NULL), *slash;

	if (!abs)
		return NULL;
	if ((slash = strrchr(abs, '/')))
		*(slash == abs ? slash + 1 : slash) = '\0';
	return abs;
}

char *
cli_worktree_top(const char *file)
{
	char *dir = realpath_dir(file), *slash;

	while (dir && *dir) {
		char *dotgit = xasprintf("%s/.git", dir);
		int found = access(dotgit, F_OK) == 0;

		free(dotgit);
		if (found)
			return dir;
		if (!(slash = strrchr(dir, '/')) || slash == dir)
			break;
		*slash = '\0';
	}
	free(dir);
	return NULL;
}

struct git_reader {
	const struct cli_source *src;
	const char *revision;
	char *top;			/* -f: where paths start */
	struct gitsrc_auth auth;	/* --repo */
};

static int
read_secret_file(const char *path, size_t max, char **data, size_t *len, char *err,
    void *payload)
{
	const struct git_reader *r = payload;
	char commit[41], *full;
	int rc;

	if (r->src->repo)
		return gitsrc_read_auth(r->src->repo, r->revision, path, &r->auth, max, data, len,
		    commit, err);
	full = xasprintf("%s/%s", r->top, path);
	rc = file_read(full, max, data, len, err);
	free(full);
	return rc;
}

int
cli_source_git_secrets(const struct cli_source *src, const char *cmd, const struct manifest *m,
    const char *revision, struct secrets_git *g)
{
	const char *path = src->config ? src->config : CONFIG_PATH_DEFAULT;
	struct git_reader r = { src, revision, NULL, { 0 } };
	struct config cfg, acfg;
	char err[ERR_LEN];
	struct diag d;
	int rc = -1;

	memset(g, 0, sizeof(*g));
	if (!m->ngit_secrets)
		return 0;
	config_defaults(&cfg);
	config_defaults(&acfg);
	if (!src->age_identity) {
		diag_init(&d, path);
		config_load(&cfg, path, 0, &d);
		diag_release(&d);
	}
	if (src->repo) {
		if (source_auth(src, cmd, &acfg, &r.auth) < 0)
			goto out;
	} else {
		const char *file = src->file ? src->file : DEFAULT_MANIFEST;

		if (!(r.top = cli_worktree_top(file)))
			r.top = realpath_dir(file);
	}
	if (secrets_git_load(g, m, src->age_identity ? src->age_identity : cfg.age_identity,
	    read_secret_file, &r, err) < 0) {
		fprintf(stderr, "reconcilerctl %s: %s%s\n", cmd, err, !src->age_identity &&
		    !cfg.age_identity ? " (give --age-identity FILE)" : "");
		goto out;
	}
	rc = 0;
out:
	free(r.top);
	config_release(&cfg);
	config_release(&acfg);
	return rc;
}
