/*
 * manifest: the backups section: which service, when (cron schedule and time
 * zone), the backup and restore commands, where the archives go and how many
 * are kept.
 */
#include "durations.h"
#include "manifest_int.h"
#include "cron.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* A directory on the host, named plainly: absolute, no '.' or '..'. */
static void
check_destination(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *dest)
{
	if (dest[0] != '/')
		mf__err_at(c, n, path, "destination must be an absolute path, found '%s'", dest);
	else if (!manifest_path_plain(dest))
		mf__err_at(c, n, path, "destination must not contain '.' or '..' segments, found '%s'",
		    dest);
}

void
mf__parse_backups(struct mf__ctx *c, const struct yt_node *n)
{
	static const char *const keys[] = {
		"service", "schedule", "timezone", "command", "compress", "destination",
		"retention", "restore", NULL,
	};
	static const char *const rkeys[] = { "keep_last", "max_age", NULL };
	struct manifest *m = c->m;

	if (!mf__is_map(c, n, "backups"))
		return;
	MF__FOR_KEYS(n, "backups", key, v, p) {
		struct mf_backup *b = MF__GROW(m->backups, m->nbackups);

		mf__check_name(c, n->keys[key_i], p, "backup");
		b->name = xstrdup(key);
		b->line = n->keys[key_i]->line;
		b->col = n->keys[key_i]->col;
		b->keep_last = 7;
		if (!mf__is_map(c, v, p))
			continue;
		mf__check_keys(c, v, p, keys);
		MF__FOR_KEYS(v, p, bk, bv, bp) {
			if (strcmp(bk, "service") == 0) {
				if ((b->service = mf__get_str(c, bv, bp)) && !manifest_service(m, b->service))
					mf__err_at(c, bv, bp, "unknown service '%s'", b->service);
			} else if (strcmp(bk, "schedule") == 0) {
				char err[ERR_LEN];
				struct cron cr;

				if ((b->schedule = mf__get_str(c, bv, bp)) &&
				    cron_parse(&cr, b->schedule, err) < 0)
					mf__err_at(c, bv, bp, "%s", err);
			} else if (strcmp(bk, "timezone") == 0) {
				if ((b->timezone = mf__get_str(c, bv, bp)) && !mf__timezone_ok(b->timezone))
					mf__err_at(c, bv, bp, "invalid time zone '%s' (expected an IANA name "
					    "such as Europe/Paris)", b->timezone);
			} else if (strcmp(bk, "command") == 0) {
				mf__get_cmd(c, bv, bp, &b->command);
			} else if (strcmp(bk, "restore") == 0) {
				mf__get_cmd(c, bv, bp, &b->restore);
			} else if (strcmp(bk, "compress") == 0) {
				if (bv->type == YT_SCALAR && strcmp(bv->value, "gzip") == 0)
					b->compress = MF_GZIP;
				else if (bv->type == YT_SCALAR && strcmp(bv->value, "none") == 0)
					b->compress = MF_NONE;
				else
					mf__err_at(c, bv, bp, "expected gzip or none");
			} else if (strcmp(bk, "destination") == 0) {
				if ((b->destination = mf__get_str(c, bv, bp)))
					check_destination(c, bv, bp, b->destination);
			} else if (strcmp(bk, "retention") == 0) {
				if (!mf__is_map(c, bv, bp))
					continue;
				mf__check_keys(c, bv, bp, rkeys);
				b->keep_last = 0;
				MF__FOR_KEYS(bv, bp, rk, rv, rp) {
					if (strcmp(rk, "keep_last") == 0)
						mf__get_int(c, rv, rp, 1, 100000, &b->keep_last);
					else if (strcmp(rk, "max_age") == 0)
						mf__get_duration(c, rv, rp, DURATIONS_MAX_RETENTION,
						    &b->max_age);
				}
				if (!yt_get(bv, "keep_last") && !yt_get(bv, "max_age"))
					mf__err_at(c, bv, bp, "retention needs keep_last, max_age or both");
			}
		}
		if (!yt_get(v, "service"))
			mf__missing(c, v, p, "service");
		if (!yt_get(v, "schedule"))
			mf__missing(c, v, p, "schedule");
		if (!yt_get(v, "command"))
			mf__missing(c, v, p, "command");
		if (!yt_get(v, "destination"))
			mf__missing(c, v, p, "destination");
		if (!b->timezone)
			b->timezone = xstrdup("UTC");
	}
}
