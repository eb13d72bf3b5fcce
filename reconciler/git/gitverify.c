/*
 * gitverify: see gitverify.h. Each judgement runs the tools on the commit's
 * exact signed bytes (stdin) and its signature (a private temporary file, as
 * both tools read it by name).
 */
#include "gitverify.h"
#include "gitsrc_int.h"
#include "subproc.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOOL_TIMEOUT	30000		/* ms: one ssh-keygen or gpgv run */
#define TOOL_OUTPUT	65536
#define SIG_MAX		65536		/* a signature header longer than this is refused */

static const char ssh_armor[] = "-----BEGIN SSH SIGNATURE-----";
static const char pgp_armor[] = "-----BEGIN PGP SIGNATURE-----";

const char *
gitverify_verdict_name(enum gitverify_verdict v)
{
	static const char *const names[] = { "good", "unsigned", "bad", "untrusted", "error" };

	return v <= GITVERIFY_ERROR ? names[v] : "error";
}

static int
verdict(struct gitverify_result *r, enum gitverify_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
verdict(struct gitverify_result *r, enum gitverify_verdict v, const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return v == GITVERIFY_GOOD ? 0 : -1;
}

/* The signature into a private temporary file; its path in path. */
static int
sig_file(const char *sig, size_t len, char *path, size_t plen, char *err)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, plen, "%s/reconciler-sig.XXXXXX", dir && *dir == '/' ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return errf(err, "cannot create a temporary file in %s: %s", dir && *dir == '/' ?
		    dir : "/tmp", strerror(errno));
	if (write(fd, sig, len) != (ssize_t)len) {
		errf(err, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* The key's fingerprint as ssh-keygen prints it, read from the SSHSIG blob
 * itself (so a bad signature still names its key): "SHA256:" and the
 * unpadded base64 of the public key blob's SHA-256. "" when malformed. */
void
gitverify_ssh_fingerprint(const char *sig, char *out, size_t len)
{
	unsigned char raw[SIG_MAX], md[EVP_MAX_MD_SIZE], b64[4 * EVP_MAX_MD_SIZE];
	const char *p = strstr(sig, ssh_armor), *end;
	size_t n = 0, klen;
	unsigned int mdlen = 0;
	char *text;
	int dec;

	*out = '\0';
	if (!p)
		return;
	p += sizeof(ssh_armor) - 1;
	if (!(end = strstr(p, "-----END SSH SIGNATURE-----")))
		return;
	text = xmalloc((size_t)(end - p) + 1);
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ')
			text[n++] = *p;
	text[n] = '\0';
	dec = n % 4 == 0 && n / 4 * 3 <= sizeof(raw) ? EVP_DecodeBlock(raw, (unsigned char *)text,
	    (int)n) : -1;
	free(text);
	/* "SSHSIG", uint32 version, string publickey */
	if (dec < 14 || memcmp(raw, "SSHSIG", 6) != 0)
		return;
	klen = (size_t)raw[10] << 24 | (size_t)raw[11] << 16 | (size_t)raw[12] << 8 | raw[13];
	if (klen == 0 || klen > (size_t)dec - 14)
		return;
	EVP_Digest(raw + 14, klen, md, &mdlen, EVP_sha256(), NULL);
	dec = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (dec > 0 && b64[dec - 1] == '=')
		dec--;
	snprintf(out, len, "SHA256:%.*s", dec, (const char *)b64);
}

/* The text after `marker` on a line of out, up to the end of the line. */
static void
after(const char *out, const char *marker, char *dst, size_t len)
{
	const char *p = strstr(out, marker);

	*dst = '\0';
	if (p) {
		p += strlen(marker);
		snprintf(dst, len, "%.*s", (int)strcspn(p, "\r\n"), p);
	}
}

static int
run(const char *const argv[], const char *data, size_t len, struct subproc_result *sr,
    struct gitverify_result *r)
{
	char err[ERR_LEN];

	if (subproc_run(argv, data, len, TOOL_OUTPUT, TOOL_TIMEOUT, sr, err) < 0)
		return verdict(r, GITVERIFY_ERROR, "%s", err);
	return 0;
}

/* ssh: find the principal the allowed signers file gives the key, verify
 * with it at the commit's time (valid-after/valid-before hold then);
 * without one, check the signature alone to tell bad from untrusted. */
static int
judge_ssh(const char *sigpath, const char *sig, const char *data, size_t len, long long when,
    const struct gitverify_trust *t, struct gitverify_result *r)
{
	struct subproc_result sr;
	char principal[256] = "", at[64], line[512];
	struct tm tm;
	time_t tt = (time_t)when;
	int rc;

	snprintf(r->format, sizeof(r->format), "ssh");
	gitverify_ssh_fingerprint(sig, r->key, sizeof(r->key));
	if (t->allowed_signers) {
		const char *fp[] = { "ssh-keygen", "-Y", "find-principals", "-s", sigpath, "-f",
			t->allowed_signers, NULL };

		if (run(fp, NULL, 0, &sr, r) < 0)
			return subproc_result_release(&sr), -1;
		if (sr.status == 0)
			snprintf(principal, sizeof(principal), "%.*s", (int)strcspn(sr.out, "\r\n"),
			    sr.out);
		subproc_result_release(&sr);
	}
	if (*principal) {
		const char *v[] = { "ssh-keygen", "-Y", "verify", "-f", t->allowed_signers, "-I",
			principal, "-n", "git", "-s", sigpath, at, NULL };

		gmtime_r(&tt, &tm);
		strftime(at, sizeof(at), "-Overify-time=%Y%m%d%H%M%SZ", &tm);
		if (run(v, data, len, &sr, r) < 0)
			return subproc_result_release(&sr), -1;
		subproc_last_line(&sr, line, sizeof(line));
		if (sr.status == 0) {
			snprintf(r->signer, sizeof(r->signer), "%s", principal);
			rc = verdict(r, GITVERIFY_GOOD, "%s", "");
		} else if (strstr(line, "incorrect signature")) {
			rc = verdict(r, GITVERIFY_BAD, "the signature does not match the commit "
			    "(changed after it was signed?)");
		} else {
			rc = verdict(r, GITVERIFY_UNTRUSTED, "the key of %s is not trusted at the "
			    "commit's time: %s", principal, *line ? line : "ssh-keygen refused it");
		}
		subproc_result_release(&sr);
		return rc;
	}
	{
		const char *cn[] = { "ssh-keygen", "-Y", "check-novalidate", "-n", "git", "-s",
			sigpath, NULL };

		if (run(cn, data, len, &sr, r) < 0)
			return subproc_result_release(&sr), -1;
		subproc_last_line(&sr, line, sizeof(line));
		if (sr.status != 0)
			rc = verdict(r, GITVERIFY_BAD, "the signature does not match the commit "
			    "(changed after it was signed?)%s%s", *line ? ": " : "", line);
		else
			rc = verdict(r, GITVERIFY_UNTRUSTED, "signed by a key that is not in %s",
			    t->allowed_signers ? t->allowed_signers :
			    "the allowed signers (signatures.allowed_signers is not set)");
		subproc_result_release(&sr);
	}
	return rc;
}

/* OpenPGP: gpgv with the trusted keyring, read from its status lines. */
static int
judge_pgp(const char *sigpath, const char *data, size_t len, const struct gitverify_trust *t,
    struct gitverify_result *r)
{
	const char *argv[] = { "gpgv", "--status-fd", "1", "--keyring", t->gpg_keyring, sigpath,
		"-", NULL };
	struct subproc_result sr;
	char uid[256], line[512];
	int rc;

	snprintf(r->format, sizeof(r->format), "openpgp");
	if (!t->gpg_keyring)
		return verdict(r, GITVERIFY_UNTRUSTED, "an OpenPGP signature, and no OpenPGP key is "
		    "trusted (signatures.gpg_keyring is not set)");
	if (run(argv, data, len, &sr, r) < 0)
		return subproc_result_release(&sr), -1;
	after(sr.out, "[GNUPG:] VALIDSIG ", r->key, sizeof(r->key));
	r->key[strcspn(r->key, " ")] = '\0';
	if (!*r->key) {
		/* ERRSIG's last field is the fingerprint where gpgv gives it (a
		 * newer one does), else its first is the long key ID */
		const char *last;

		after(sr.out, "[GNUPG:] ERRSIG ", line, sizeof(line));
		last = strrchr(line, ' ') ? strrchr(line, ' ') + 1 : line;
		if (strlen(last) < 16)
			last = line;
		snprintf(r->key, sizeof(r->key), "%.*s", (int)strcspn(last, " "), last);
	}
	after(sr.out, "[GNUPG:] GOODSIG ", uid, sizeof(uid));
	subproc_last_line(&sr, line, sizeof(line));
	if (sr.status == 0 && *uid && strstr(sr.out, "[GNUPG:] VALIDSIG ")) {
		snprintf(r->signer, sizeof(r->signer), "%s", strchr(uid, ' ') ? strchr(uid, ' ') + 1 :
		    uid);
		rc = verdict(r, GITVERIFY_GOOD, "%s", "");
	} else if (strstr(sr.out, "[GNUPG:] BADSIG ")) {
		rc = verdict(r, GITVERIFY_BAD, "the signature does not match the commit (changed "
		    "after it was signed?)");
	} else if (strstr(sr.out, "[GNUPG:] NO_PUBKEY ")) {
		rc = verdict(r, GITVERIFY_UNTRUSTED, "signed by a key that is not in %s",
		    t->gpg_keyring);
	} else if (strstr(sr.out, "[GNUPG:] EXPKEYSIG ") || strstr(sr.out, "[GNUPG:] REVKEYSIG ") ||
	    strstr(sr.out, "[GNUPG:] EXPSIG ")) {
		rc = verdict(r, GITVERIFY_UNTRUSTED, "the key has expired or was revoked%s%s",
		    *line ? ": " : "", line);
	} else {
		rc = verdict(r, GITVERIFY_ERROR, "gpgv could not check it%s%s", *line ? ": " : "",
		    line);
	}
	subproc_result_release(&sr);
	return rc;
}

int
gitverify_commit(struct gitsrc *g, const char *commit, const struct gitverify_trust *t,
    struct gitverify_result *r)
{
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	git_commit *c = NULL;
	git_oid oid;
	char path[4096] = "", err[ERR_LEN];
	int rc, e;

	memset(r, 0, sizeof(*r));
	snprintf(r->commit, sizeof(r->commit), "%s", commit);
	if (git_oid_fromstr(&oid, commit) < 0 || git_commit_lookup(&c, gitsrc__repo(g), &oid) < 0) {
		gitsrc__giterr(err, commit);
		return verdict(r, GITVERIFY_ERROR, "cannot read commit %.12s: %s", commit, err);
	}
	e = git_commit_extract_signature(&sig, &data, gitsrc__repo(g), &oid, NULL);
	if (e == GIT_ENOTFOUND) {
		rc = verdict(r, GITVERIFY_UNSIGNED, "the commit is not signed");
	} else if (e < 0) {
		gitsrc__giterr(err, "its signature");
		rc = verdict(r, GITVERIFY_ERROR, "cannot read the signature: %s", err);
	} else if (sig.size > SIG_MAX || memchr(sig.ptr, '\0', sig.size)) {
		rc = verdict(r, GITVERIFY_BAD, "the signature header is malformed");
	} else if (strncmp(sig.ptr, ssh_armor, sizeof(ssh_armor) - 1) != 0 &&
	    strncmp(sig.ptr, pgp_armor, sizeof(pgp_armor) - 1) != 0) {
		rc = verdict(r, GITVERIFY_UNTRUSTED, "a signature of a kind this host does not check "
		    "(only ssh and OpenPGP are)");
	} else if (sig_file(sig.ptr, sig.size, path, sizeof(path), err) < 0) {
		*path = '\0';
		rc = verdict(r, GITVERIFY_ERROR, "%s", err);
	} else if (sig.ptr[11] == 'S') {	/* "-----BEGIN SSH" */
		rc = judge_ssh(path, sig.ptr, data.ptr, data.size, (long long)git_commit_time(c), t,
		    r);
	} else {
		rc = judge_pgp(path, data.ptr, data.size, t, r);
	}
	if (*path)
		unlink(path);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	git_commit_free(c);
	return rc;
}

int
gitverify_range(struct gitsrc *g, const char *base, const char *head,
    const struct gitverify_trust *t, size_t max, size_t *checked, struct gitverify_result *r)
{
	git_repository *repo = gitsrc__repo(g);
	git_revwalk *w = NULL;
	git_oid oid, *v = NULL;
	git_commit *bc = NULL;
	size_t n = 0;
	char err[ERR_LEN];
	int rc = -1;

	*checked = 0;
	/* no base, the head itself, or a base the clone no longer has (a
	 * force push dropped it): the head alone */
	if (!base || !*base || strcmp(base, head) == 0 || git_oid_fromstr(&oid, base) < 0 ||
	    git_commit_lookup(&bc, repo, &oid) < 0) {
		if ((rc = gitverify_commit(g, head, t, r)) == 0)
			*checked = 1;
		return rc;
	}
	memset(r, 0, sizeof(*r));
	snprintf(r->commit, sizeof(r->commit), "%s", head);
	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_hide(w, &oid) < 0 ||
	    git_oid_fromstr(&oid, head) < 0 || git_revwalk_push(w, &oid) < 0) {
		gitsrc__giterr(err, head);
		verdict(r, GITVERIFY_ERROR, "cannot walk the history of %.12s: %s", head, err);
		goto out;
	}
	git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	while (git_revwalk_next(&oid, w) == 0) {
		if (n == max) {
			verdict(r, GITVERIFY_ERROR, "more than %zu commits since %.12s: too many to "
			    "check one by one (signatures.verify: head checks the head alone)", max,
			    base);
			goto out;
		}
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = oid;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[41];

		git_oid_tostr(hex, sizeof(hex), &v[i]);
		if (gitverify_commit(g, hex, t, r) < 0)
			goto out;
		(*checked)++;
	}
	rc = 0;
out:
	free(v);
	git_commit_free(bc);
	git_revwalk_free(w);
	return rc;
}

int
gitverify_sign_ssh(const char *key_path, const char *data, size_t len, char **sig, char *err)
{
	const char *argv[] = { "ssh-keygen", "-q", "-Y", "sign", "-f", key_path, "-n", "git", NULL };
	struct subproc_result sr;
	char line[512];
	int rc = -1;

	*sig = NULL;
	if (subproc_run(argv, data, len, TOOL_OUTPUT, TOOL_TIMEOUT, &sr, err) < 0)
		goto out;
	subproc_last_line(&sr, line, sizeof(line));
	if (sr.status != 0 || strncmp(sr.out, ssh_armor, sizeof(ssh_armor) - 1) != 0) {
		errf(err, "cannot sign with %s: %s", key_path, *line ? line :
		    "ssh-keygen gave no signature");
		goto out;
	}
	*sig = xstrdup(sr.out);
	rc = 0;
out:
	subproc_result_release(&sr);
	return rc;
}
