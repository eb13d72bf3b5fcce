/*
 * gitsrc: the callbacks every remote of the module uses (gitsrc_int.h):
 * credentials, offered once per operation, and the ssh host key, checked
 * against the known_hosts file for the URL's host and port.
 */
#include "gitsrc_int.h"
#include "knownhosts.h"
#include "util.h"

#include <git2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A refused credential is not offered again: libgit2 asks as long as the
 * callback answers (a wrong token once made 15,401 requests in one poll). */
static int
refused(const struct gitsrc_auth *a, int ssh)
{
	char msg[ERR_LEN];

	if (ssh)
		snprintf(msg, sizeof(msg), "the ssh server refused the key '%s': is it a deploy "
		    "key of this repository?", a->ssh_key);
	else
		snprintf(msg, sizeof(msg), "the remote refused the token in '%s' (user '%s'): "
		    "check that it is valid and may read (or push to) this repository",
		    a->token_file, a->token_user ? a->token_user : "x-access-token");
	git_error_set_str(GIT_ERROR_NET, msg);
	return GIT_EAUTH;
}

static int
cred_cb(git_credential **out, const char *url, const char *user_from_url,
    unsigned int allowed, void *payload)
{
	struct gitsrc__cbdata *data = payload;
	const struct gitsrc_auth *a = data->auth;
	char err[ERR_LEN], *token = NULL;
	size_t len;
	int rc;

	(void)url;
	if (!a)
		return GIT_PASSTHROUGH;
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && a->ssh_key) {
		if (data->offered++)
			return refused(a, 1);
		/* libssh2 reads the key; the mode is checked here, as ssh does */
		if (file_check_private(a->ssh_key, err) < 0) {
			git_error_set_str(GIT_ERROR_SSH, err);
			return GIT_EAUTH;
		}
		return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", NULL,
		    a->ssh_key, NULL);
	}
	/* ssh asks for the user first when the URL names none: no secret */
	if ((allowed & GIT_CREDENTIAL_USERNAME) && a->ssh_key)
		return git_credential_username_new(out, user_from_url ? user_from_url : "git");
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && a->token_file) {
		if (data->offered++)
			return refused(a, 0);
		if (file_read_secret(a->token_file, 4096, 1, &token, &len, err) < 0) {
			git_error_set_str(GIT_ERROR_NET, err);
			return GIT_EAUTH;
		}
		while (len && (token[len - 1] == '\n' || token[len - 1] == '\r'))
			token[--len] = '\0';
		rc = git_credential_userpass_plaintext_new(out, a->token_user ? a->token_user :
		    "x-access-token", token);
		secret_free(token, len);
		return rc;
	}
	return GIT_PASSTHROUGH;
}

static int
hostkey_refuse(const char *fmt, const char *name, const char *file)
{
	char msg[ERR_LEN];

	snprintf(msg, sizeof(msg), fmt, name, file);
	git_error_set_str(GIT_ERROR_SSH, msg);
	return GIT_ECERTIFICATE;
}

/* The server's raw host key must be pinned for the URL's host and port in
 * the known_hosts file, and not revoked there (knownhosts.h). */
static int
hostkey_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	const struct gitsrc__cbdata *data = payload;
	const struct gitsrc_auth *a = data->auth;
	git_cert_hostkey *hk = (git_cert_hostkey *)cert;
	int port = data->url ? knownhosts_url_port(data->url) : 22;
	char *text = NULL, *name, err[ERR_LEN];
	unsigned char *b64 = NULL;
	enum knownhosts_result res;
	size_t len;
	int rc = 0;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return valid ? 0 : GIT_PASSTHROUGH;
	if (!a || !a->known_hosts) {
		git_error_set_str(GIT_ERROR_SSH, "ssh remotes need a known_hosts file "
		    "(git.known_hosts in reconcilerd's config, --known-hosts or --config for "
		    "reconcilerctl)");
		return GIT_ECERTIFICATE;
	}
	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		git_error_set_str(GIT_ERROR_SSH, "the ssh server sent no raw host key");
		return GIT_ECERTIFICATE;
	}
	if (file_read(a->known_hosts, 1 << 20, &text, &len, err) < 0) {
		git_error_set_str(GIT_ERROR_SSH, err);
		return GIT_ECERTIFICATE;
	}
	b64 = xmalloc(4 * ((hk->hostkey_len + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)hk->hostkey, (int)hk->hostkey_len);
	res = knownhosts_check(text, len, host, port, (const char *)b64);
	name = port == 22 ? xstrdup(host) : xasprintf("[%s]:%d", host, port);
	if (res == KNOWNHOSTS_REVOKED)
		rc = hostkey_refuse("the ssh host key of %s is marked @revoked in the known_hosts "
		    "file '%s'", name, a->known_hosts);
	else if (res != KNOWNHOSTS_PINNED)
		rc = hostkey_refuse("the ssh host key is not in the known_hosts file for %s "
		    "(file '%s'; a port other than 22 takes a [host]:port entry)", name,
		    a->known_hosts);
	free(name);
	free(b64);
	free(text);
	return rc;
}

void
gitsrc__callbacks(git_remote_callbacks *cb, struct gitsrc__cbdata *data)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = cred_cb;
	cb->certificate_check = hostkey_cb;
	cb->payload = data;
}
