/*
 * config: see config.h.
 */
#include "config.h"
#include "backend.h"
#include "util.h"
#include "yamltree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
config_default_host(char *buf, size_t len)
{
	if (len == 0)
		return;
	if (gethostname(buf, len) < 0 || !*buf) {
		snprintf(buf, len, "localhost");
		return;
	}
	buf[len - 1] = '\0';
	buf[strcspn(buf, ".")] = '\0';
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->branch = xstrdup("main");
	c->manifest = xstrdup("manifests/prod.yaml");
	c->poll_interval = 30000;
	c->state_dir = xstrdup("/var/lib/reconciler");
	c->secrets_dir = xstrdup("/etc/reconciler/secrets");
	c->concurrency = CONVERGE_CONCURRENCY;
	c->engine_timeout = 30000;
	c->shutdown_timeout = 60000;
	c->log_format = xstrdup("text");
	c->backend = xstrdup("containers");
	c->listener_user = xstrdup("nobody");
	{
		char h[256];

		config_default_host(h, sizeof(h));
		c->host.name = xstrdup(h);
	}
}

void
config_release(struct config *c)
{
	free(c->repo);
	free(c->branch);
	free(c->manifest);
	free(c->state_dir);
	free(c->secrets_dir);
	free(c->docker_host);
	free(c->backend);
	free(c->log_format);
	free(c->token_file);
	free(c->token_user);
	free(c->ssh_key);
	free(c->known_hosts);
	free(c->control_socket);
	free(c->control_group);
	free(c->listen);
	free(c->listener_user);
	free(c->hook_github_file);
	free(c->hook_gitea_file);
	free(c->hook_generic_file);
	fleet_host_release(&c->host);
	strv_free(c->wait_for, c->nwait_for);
	free(c->allowed_signers);
	free(c->gpg_keyring);
	free(c->age_identity);
	free(c->status.provider);
	free(c->status.url);
	free(c->status.repository);
	free(c->status.token_file);
	free(c->status.context);
	free(c->status.target_url);
	memset(c, 0, sizeof(*c));
}

static void
set_str(char **dst, const struct yt_node *v, const char *key, struct diag *d)
{
	if (v->type != YT_SCALAR || yt_is_null(v)) {
		diag_add(d, v->line, v->col, key, "expected a string");
		return;
	}
	free(*dst);
	*dst = xstrdup(v->value);
}

static void
replace_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void
set_duration(int64_t *dst, const struct yt_node *v, const char *key, struct diag *d)
{
	if (v->type != YT_SCALAR || duration_parse(v->value, dst) < 0)
		diag_add(d, v->line, v->col, key, "invalid duration (expected e.g. 30s, 2m)");
}

static const char *const keys[] = {
	"repo", "branch", "manifest", "poll_interval", "state_dir", "secrets_dir", "docker_host",
	"backend", "concurrency", "engine_timeout", "shutdown_timeout", "log_format", "git", "control_socket",
	"control_group", "listen", "listener_user", "webhooks", "host", "host_labels", "wait_for",
	"signatures", "age_identity", "commit_status", NULL,
};

static int
known(const char *k, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(k, list[i]) == 0)
			return 1;
	return 0;
}

/* One key of a mapping of strings (git:, webhooks:, signatures:…) and where
 * its value goes; a NULL dst is read by the caller. */
struct strkey {
	const char *key;
	char **dst;
};

/* A mapping of string keys into their fields; an unknown key is named with
 * its section. The key `verify` of signatures: is the one non-string. */
static void
load_section(const struct yt_node *v, const char *section, const struct strkey *tab,
    enum config_verify *verify, struct diag *d)
{
	if (yt_is_null(v))
		return;
	if (v->type != YT_MAP) {
		diag_add(d, v->line, v->col, section, "expected a mapping");
		return;
	}
	for (size_t j = 0; j < v->n; j++) {
		const char *k = v->keys[j]->value;
		const struct yt_node *val = v->items[j];
		char *p = xasprintf("%s.%s", section, k);
		size_t i;

		for (i = 0; tab[i].key && strcmp(tab[i].key, k) != 0; i++)
			;
		if (!tab[i].key)
			diag_add(d, v->keys[j]->line, v->keys[j]->col, p, "unknown key '%s'", k);
		else if (tab[i].dst)
			set_str(tab[i].dst, val, p, d);
		else if (val->type != YT_SCALAR || (strcmp(val->value, "off") != 0 &&
		    strcmp(val->value, "head") != 0 && strcmp(val->value, "all") != 0))
			diag_add(d, val->line, val->col, p, "expected off, head or all");
		else if (verify)
			*verify = strcmp(val->value, "head") == 0 ? CONFIG_VERIFY_HEAD :
			    strcmp(val->value, "all") == 0 ? CONFIG_VERIFY_ALL : CONFIG_VERIFY_OFF;
		free(p);
	}
}

const char *
config_verify_name(enum config_verify v)
{
	return v == CONFIG_VERIFY_HEAD ? "head" : v == CONFIG_VERIFY_ALL ? "all" : "off";
}

/* The sections of string keys: git:, webhooks:, signatures:, commit_status: */
static int
load_sections(struct config *c, const char *k, const struct yt_node *v, struct diag *d)
{
	const struct strkey git[] = {
		{ "token_file", &c->token_file }, { "token_user", &c->token_user },
		{ "ssh_key", &c->ssh_key }, { "known_hosts", &c->known_hosts }, { NULL, NULL },
	};
	const struct strkey hooks[] = {
		{ "github_secret_file", &c->hook_github_file },
		{ "gitea_secret_file", &c->hook_gitea_file },
		{ "generic_token_file", &c->hook_generic_file }, { NULL, NULL },
	};
	const struct strkey sigs[] = {
		{ "verify", NULL }, { "allowed_signers", &c->allowed_signers },
		{ "gpg_keyring", &c->gpg_keyring }, { NULL, NULL },
	};
	const struct strkey status[] = {
		{ "provider", &c->status.provider }, { "url", &c->status.url },
		{ "repository", &c->status.repository }, { "token_file", &c->status.token_file },
		{ "context", &c->status.context }, { "target_url", &c->status.target_url },
		{ NULL, NULL },
	};
	const struct {
		const char *name;
		const struct strkey *tab;
	} sections[] = {
		{ "git", git }, { "webhooks", hooks }, { "signatures", sigs },
		{ "commit_status", status },
	};

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(k, sections[i].name) == 0) {
			load_section(v, k, sections[i].tab, &c->verify, d);
			return 1;
		}
	return 0;
}

static void
load_host_labels(struct config *c, const struct yt_node *v, struct diag *d)
{
	if (yt_is_null(v))
		return;
	if (v->type != YT_MAP) {
		diag_add(d, v->line, v->col, "host_labels", "expected a mapping of NAME: VALUE "
		    "(e.g. role: web)");
		return;
	}
	for (size_t j = 0; j < v->n; j++) {
		const struct yt_node *val = v->items[j];
		char *p = xasprintf("host_labels.%s", v->keys[j]->value), *kv;

		if (val->type != YT_SCALAR || yt_is_null(val)) {
			diag_add(d, val->line, val->col, p, "expected a string");
		} else {
			kv = xasprintf("%s=%s", v->keys[j]->value, val->value);
			if (fleet_host_add_label(&c->host, kv) < 0)
				diag_add(d, v->keys[j]->line, v->keys[j]->col, p, "invalid label name "
				    "'%s' (letters, digits, '.', '_', '-'; no blanks in the value)",
				    v->keys[j]->value);
			free(kv);
		}
		free(p);
	}
}

static void
load_wait_for(struct config *c, const struct yt_node *v, struct diag *d)
{
	if (yt_is_null(v))
		return;
	if (v->type != YT_SEQ) {
		diag_add(d, v->line, v->col, "wait_for", "expected a list of host names of the "
		    "manifest's fleet section (e.g. [canary1])");
		return;
	}
	for (size_t j = 0; j < v->n; j++) {
		const struct yt_node *it = v->items[j];
		char *p = xasprintf("wait_for[%zu]", j);

		if (it->type != YT_SCALAR || yt_is_null(it) || !manifest_host_name_ok(it->value))
			diag_add(d, it->line, it->col, p, "expected a host name (1-63 letters, digits, "
			    "'.', '_', '-', starting with a letter or digit)");
		else {
			c->wait_for = xrealloc(c->wait_for, (c->nwait_for + 1) * sizeof(*c->wait_for));
			c->wait_for[c->nwait_for++] = xstrdup(it->value);
		}
		free(p);
	}
}

int
config_load(struct config *c, const char *path, int required, struct diag *d)
{
	struct yt_doc *doc = NULL;
	char err[ERR_LEN], *src = NULL;
	const struct yt_node *root;
	size_t len, before = d->n;

	if (file_read(path, 1 << 20, &src, &len, err) < 0) {
		if (!required && errno == ENOENT)
			return 0;
		diag_add(d, 0, 0, "", "%s", err);
		return -1;
	}
	if (yt_parse(&doc, src, len, d) < 0)
		goto out;
	root = doc->root;
	if (!root || yt_is_null(root))
		goto out;
	if (root->type != YT_MAP) {
		diag_add(d, root->line, root->col, "", "the config must be a mapping");
		goto out;
	}
	for (size_t i = 0; i < root->n; i++) {
		const char *k = root->keys[i]->value;
		const struct yt_node *v = root->items[i];

		if (!known(k, keys)) {
			diag_add(d, root->keys[i]->line, root->keys[i]->col, k, "unknown key '%s'", k);
		} else if (load_sections(c, k, v, d)) {
			continue;
		} else if (strcmp(k, "repo") == 0) {
			set_str(&c->repo, v, k, d);
		} else if (strcmp(k, "branch") == 0) {
			set_str(&c->branch, v, k, d);
		} else if (strcmp(k, "manifest") == 0) {
			set_str(&c->manifest, v, k, d);
		} else if (strcmp(k, "state_dir") == 0) {
			set_str(&c->state_dir, v, k, d);
		} else if (strcmp(k, "secrets_dir") == 0) {
			set_str(&c->secrets_dir, v, k, d);
		} else if (strcmp(k, "docker_host") == 0) {
			set_str(&c->docker_host, v, k, d);
		} else if (strcmp(k, "backend") == 0) {
			set_str(&c->backend, v, k, d);
		} else if (strcmp(k, "log_format") == 0) {
			set_str(&c->log_format, v, k, d);
		} else if (strcmp(k, "age_identity") == 0) {
			set_str(&c->age_identity, v, k, d);
		} else if (strcmp(k, "control_socket") == 0) {
			if (yt_is_null(v))
				replace_str(&c->control_socket, "");
			else
				set_str(&c->control_socket, v, k, d);
		} else if (strcmp(k, "control_group") == 0) {
			set_str(&c->control_group, v, k, d);
		} else if (strcmp(k, "listen") == 0) {
			set_str(&c->listen, v, k, d);
		} else if (strcmp(k, "listener_user") == 0) {
			set_str(&c->listener_user, v, k, d);
		} else if (strcmp(k, "poll_interval") == 0) {
			set_duration(&c->poll_interval, v, k, d);
		} else if (strcmp(k, "engine_timeout") == 0) {
			set_duration(&c->engine_timeout, v, k, d);
		} else if (strcmp(k, "shutdown_timeout") == 0) {
			set_duration(&c->shutdown_timeout, v, k, d);
		} else if (strcmp(k, "concurrency") == 0) {
			long n;

			if (v->type != YT_SCALAR || int_parse(v->value, 1, 64, &n) < 0)
				diag_add(d, v->line, v->col, k, "expected an integer from 1 to 64");
			else
				c->concurrency = (int)n;
		} else if (strcmp(k, "host") == 0) {
			set_str(&c->host.name, v, k, d);
			if (c->host.name && !manifest_host_name_ok(c->host.name))
				diag_add(d, v->line, v->col, k, "invalid host name '%s' (1-63 letters, "
				    "digits, '.', '_', '-', starting with a letter or digit)",
				    c->host.name);
		} else if (strcmp(k, "host_labels") == 0) {
			load_host_labels(c, v, d);
		} else if (strcmp(k, "wait_for") == 0) {
			strv_free(c->wait_for, c->nwait_for);
			c->wait_for = NULL;
			c->nwait_for = 0;
			load_wait_for(c, v, d);
		}
	}
out:
	yt_free(doc);
	free(src);
	return d->n == before ? 0 : -1;
}

/* signatures:, age_identity and commit_status: complete and absolute. */
static int
check_trust(const struct config *c, char *err)
{
	const struct config_commit_status *cs = &c->status;
	const char *const files[][2] = {
		{ "signatures.allowed_signers", c->allowed_signers },
		{ "signatures.gpg_keyring", c->gpg_keyring },
		{ "age_identity", c->age_identity },
		{ "commit_status.token_file", cs->token_file },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][1] && files[i][1][0] != '/')
			return errf(err, "%s '%s' must be an absolute path", files[i][0], files[i][1]);
	if (c->verify != CONFIG_VERIFY_OFF && !c->allowed_signers && !c->gpg_keyring)
		return errf(err, "signatures.verify is %s but no signer is trusted: set "
		    "signatures.allowed_signers (ssh) or signatures.gpg_keyring (OpenPGP)",
		    config_verify_name(c->verify));
	if (!cs->provider && (cs->url || cs->repository || cs->token_file || cs->context ||
	    cs->target_url))
		return errf(err, "commit_status needs a provider (github or gitea)");
	if (!cs->provider)
		return 0;
	if (strcmp(cs->provider, "github") != 0 && strcmp(cs->provider, "gitea") != 0)
		return errf(err, "commit_status.provider '%s': expected github or gitea",
		    cs->provider);
	if (!cs->repository || !strchr(cs->repository, '/') || cs->repository[0] == '/')
		return errf(err, "commit_status.repository must be OWNER/NAME (e.g. acme/shop)");
	if (!cs->token_file)
		return errf(err, "commit_status needs token_file (a file holding the API token)");
	if (!cs->url && strcmp(cs->provider, "gitea") == 0)
		return errf(err, "commit_status.url is required for gitea (e.g. "
		    "https://gitea.example.com/api/v1)");
	if (cs->url && strncmp(cs->url, "https://", 8) != 0 && strncmp(cs->url, "http://", 7) != 0)
		return errf(err, "commit_status.url '%s' must start with https:// or http://",
		    cs->url);
	return 0;
}

int
config_check(const struct config *c, char *err)
{
	if (!c->repo || !*c->repo)
		return errf(err, "no repository: set 'repo' in the config or pass --repo URL");
	if (url_has_password(c->repo)) {
		char *shown = url_redact(c->repo);

		/* it would be in the config file, the clone's config and ps */
		errf(err, "repo '%s': the URL carries a password: remove it and put the token in "
		    "a file named by git.token_file (the user in git.token_user)", shown);
		free(shown);
		return -1;
	}
	if (c->state_dir[0] != '/')
		return errf(err, "state_dir '%s' must be an absolute path", c->state_dir);
	if (c->secrets_dir[0] != '/')
		return errf(err, "secrets_dir '%s' must be an absolute path", c->secrets_dir);
	if (!backend_find(c->backend))
		return errf(err, "backend '%s': expected containers or swarm", c->backend);
	if (c->poll_interval < 1000)
		return errf(err, "poll_interval must be at least 1s");
	if (strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "json") != 0)
		return errf(err, "log_format must be text or json, not '%s'", c->log_format);
	if (c->control_socket && *c->control_socket && c->control_socket[0] != '/')
		return errf(err, "control_socket '%s' must be an absolute path", c->control_socket);
	{
		const char *const hooks[][2] = {
			{ "webhooks.github_secret_file", c->hook_github_file },
			{ "webhooks.gitea_secret_file", c->hook_gitea_file },
			{ "webhooks.generic_token_file", c->hook_generic_file },
		};

		for (size_t i = 0; i < 3; i++)
			if (hooks[i][1] && hooks[i][1][0] != '/')
				return errf(err, "%s '%s' must be an absolute path", hooks[i][0],
				    hooks[i][1]);
	}
	if (c->ssh_key && !c->known_hosts)
		return errf(err, "git.ssh_key needs git.known_hosts (the server's host key must be "
		    "pinned)");
	return check_trust(c, err);
}

struct gitsrc_auth
config_auth(const struct config *c)
{
	struct gitsrc_auth a = { c->token_file, c->token_user, c->ssh_key, c->known_hosts };

	return a;
}

int
config_keep_restart_keys(struct config *fresh, const struct config *running, char *changed,
    size_t len)
{
	struct {
		const char *name;
		char **fresh;
		const char *running;
	} fixed[] = {
		{ "state_dir", &fresh->state_dir, running->state_dir },
		{ "listen", &fresh->listen, running->listen },
		{ "control_socket", &fresh->control_socket, running->control_socket },
		{ "control_group", &fresh->control_group, running->control_group },
		{ "docker_host", &fresh->docker_host, running->docker_host },
		{ "backend", &fresh->backend, running->backend },
	};
	struct buf b;
	int n = 0;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *now = *fixed[i].fresh, *was = fixed[i].running;

		if ((!now && !was) || (now && was && strcmp(now, was) == 0))
			continue;
		buf_addf(&b, "%s%s %s -> %s", n++ ? "; " : "", fixed[i].name,
		    was ? (*was ? was : "\"\"") : "(default)",
		    now ? (*now ? now : "\"\"") : "(default)");
		free(*fixed[i].fresh);
		*fixed[i].fresh = was ? xstrdup(was) : NULL;
	}
	snprintf(changed, len, "%s", b.data ? b.data : "");
	buf_release(&b);
	return n;
}
