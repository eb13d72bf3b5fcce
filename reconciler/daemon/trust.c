/*
 * trust: the signature check a revision passes before it is applied
 * (reconcilerd's `signatures:`). The verdict is kept per head, base and trust
 * files, so a head that does not move is judged once, not every poll, and
 * a changed allowed signers file or keyring is read again. A refused head
 * is told in the status, /metrics, the journal and, once per commit, a
 * notification.
 */
#include "daemon_int.h"
#include "gitverify.h"
#include "journal.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define RANGE_MAX 1000		/* commits checked one by one in `verify: all` */

/* What makes a verdict stale: the mode, the base, the head, and the trust
 * files as they are now (size and time: a rotated key is read at once). */
static void
memo_key(const struct daemon *dm, const char *base, const char *head, char *key, size_t len)
{
	const char *files[2] = { dm->cfg->allowed_signers, dm->cfg->gpg_keyring };
	long long stamp[4] = { 0, 0, 0, 0 };

	for (size_t i = 0; i < 2; i++) {
		struct stat sb;

		if (files[i] && stat(files[i], &sb) == 0) {
			stamp[2 * i] = (long long)sb.st_size;
			stamp[2 * i + 1] = (long long)sb.st_mtim.tv_sec * 1000000000LL +
			    sb.st_mtim.tv_nsec;
		}
	}
	snprintf(key, len, "%s|%s|%s|%s|%s|%lld.%lld|%lld.%lld", config_verify_name(dm->cfg->verify),
	    base, head, files[0] ? files[0] : "", files[1] ? files[1] : "", stamp[0], stamp[1],
	    stamp[2], stamp[3]);
}

static json_t *
result_json(const struct daemon *dm, const struct gitverify_result *r, size_t checked)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "mode", config_verify_name(dm->cfg->verify),
	    "commit", r->commit, "verdict", gitverify_verdict_name(r->verdict), "checked",
	    (json_int_t)checked);

	if (*r->format)
		json_object_set_new(o, "format", json_string(r->format));
	if (*r->key)
		json_object_set_new(o, "key", json_string(r->key));
	if (*r->signer)
		json_object_set_new(o, "signer", json_string(r->signer));
	if (*r->why)
		json_object_set_new(o, "reason", json_string(r->why));
	return o;
}

/* The refusal on one line: which commit, which key, why. */
static void
refusal(const struct gitverify_result *r, const char *head, char *out, size_t len)
{
	char at[96] = "";

	if (strcmp(r->commit, head) != 0)
		snprintf(at, sizeof(at), " (commit %.12s, between the revision applied last and "
		    "the head)", r->commit);
	snprintf(out, len, "revision %.12s is not trusted: %s%s%s%s%s%s", head,
	    gitverify_verdict_name(r->verdict), at, *r->key ? ", key " : "", r->key,
	    *r->why ? ": " : "", r->why);
}

static void
metrics_set(struct daemon *dm, const char *head, const struct gitverify_result *r, int fresh)
{
	struct trust_metrics *t = &dm->shared.m.trust;

	pthread_mutex_lock(&dm->shared.mu);
	t->on = 1;
	snprintf(t->head, sizeof(t->head), "%s", head);
	snprintf(t->verdict, sizeof(t->verdict), "%s", gitverify_verdict_name(r->verdict));
	snprintf(t->key, sizeof(t->key), "%s", r->key);
	if (fresh && r->verdict != GITVERIFY_GOOD)
		t->refused++;
	pthread_mutex_unlock(&dm->shared.mu);
}

int
daemon__verify(struct daemon *dm, const char *head, struct status *st, int *notify)
{
	struct gitverify_trust t = { dm->cfg->allowed_signers, dm->cfg->gpg_keyring };
	struct trust_memo *mm = &dm->cycle.trust;
	const char *base = dm->cfg->verify == CONFIG_VERIFY_ALL ? dm->cycle.good : "";
	char key[sizeof(mm->key)], line[1024];
	int fresh = 0;

	*notify = 0;
	if (dm->cfg->verify == CONFIG_VERIFY_OFF)
		return 0;
	memo_key(dm, base, head, key, sizeof(key));
	if (strcmp(key, mm->key) != 0) {
		if (dm->cfg->verify == CONFIG_VERIFY_ALL)
			mm->rc = gitverify_range(dm->cycle.git, base, head, &t, RANGE_MAX,
			    &mm->checked, &mm->r);
		else
			mm->checked = (mm->rc = gitverify_commit(dm->cycle.git, head, &t,
			    &mm->r)) == 0;
		snprintf(mm->key, sizeof(mm->key), "%s", key);
		fresh = 1;
		if (mm->rc == 0)
			log_info("trust", "revision=%.12s signed by %s (%s key %s); %zu commit%s "
			    "checked", head, mm->r.signer, mm->r.format, mm->r.key, mm->checked,
			    mm->checked == 1 ? "" : "s");
	}
	json_object_set_new(st->o, "signature", result_json(dm, &mm->r, mm->checked));
	metrics_set(dm, head, &mm->r, fresh);
	if (mm->rc == 0)
		return 0;
	refusal(&mm->r, head, line, sizeof(line));
	daemon__status_error(st, "%s", line);
	if (fresh) {
		log_error("trust", "%s", line);
		journal_revision_status(dm->cycle.journal, head, "unverified", line);
	}
	/* on the commit too (commit_status:), once: its words after "is " */
	daemon__commit_status(dm, head, "error", strstr(line, " is ") ? strstr(line, " is ") + 4 :
	    line);
	/* once per commit, as manifest_invalid */
	if (strcmp(dm->cycle.notified_unverified, head) != 0) {
		snprintf(dm->cycle.notified_unverified, sizeof(dm->cycle.notified_unverified), "%s",
		    head);
		*notify = 1;
	}
	return -1;
}

int
daemon__verify_check(struct daemon *dm, const char *head, char *line, size_t len)
{
	struct gitverify_trust t = { dm->cfg->allowed_signers, dm->cfg->gpg_keyring };
	struct gitverify_result r;

	*line = '\0';
	if (dm->cfg->verify == CONFIG_VERIFY_OFF)
		return 0;
	if (gitverify_commit(dm->cycle.git, head, &t, &r) < 0) {
		refusal(&r, head, line, len);
		return -1;
	}
	snprintf(line, len, "; signed by %s (%s key %s)", r.signer, r.format, r.key);
	return 0;
}

void
daemon__metrics_trust(const struct daemon *dm, struct buf *b)
{
	const struct trust_metrics *t = &dm->shared.m.trust;

	if (!t->on)
		return;
	buf_addf(b, "# HELP reconciler_head_signature The branch head's signature check "
	    "(signatures.verify): its verdict and key.\n# TYPE reconciler_head_signature gauge\n"
	    "reconciler_head_signature{revision=\"%s\",verdict=\"%s\",key=\"%s\"} 1\n"
	    "# HELP reconciler_unverified_revisions_total Heads refused for their signature.\n"
	    "# TYPE reconciler_unverified_revisions_total counter\n"
	    "reconciler_unverified_revisions_total %lu\n", t->head, t->verdict, t->key,
	    t->refused);
}
