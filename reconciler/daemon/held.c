/*
 * held: what the journal could not record, and the journal's health. A
 * (revision, service) whose failure could not be written (a full disk, an
 * I/O error) is held here and quarantined all the same, so that a broken
 * image is not tried again every cycle (for a stop-first service, each try
 * stops the live container); each cycle writes it again until it is recorded,
 * and `sync --retry` lets it go. The journal's write errors are logged once
 * per change, counted in /metrics and shown in the status.
 */
#include "daemon_int.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HELD_MAX	256	/* past that the oldest goes: it is tried once more */

void
daemon__held_add(struct daemon *dm, const char *revision, const char *service,
    const char *reason)
{
	struct dm_cycle *cy = &dm->cycle;
	struct held_failure *h = NULL;

	for (size_t i = 0; i < cy->nheld && !h; i++)
		if (strcmp(cy->held[i].revision, revision) == 0 &&
		    strcmp(cy->held[i].service, service) == 0)
			h = &cy->held[i];
	if (!h) {
		if (cy->nheld == HELD_MAX) {
			free(cy->held[0].reason);
			memmove(&cy->held[0], &cy->held[1], --cy->nheld * sizeof(*cy->held));
		}
		cy->held = xrealloc(cy->held, (cy->nheld + 1) * sizeof(*cy->held));
		h = &cy->held[cy->nheld++];
		memset(h, 0, sizeof(*h));
		snprintf(h->revision, sizeof(h->revision), "%s", revision);
		snprintf(h->service, sizeof(h->service), "%s", service);
	}
	free(h->reason);
	h->reason = xstrdup(reason ? reason : "");
	log_warn("journal", "revision=%.12s service=%s failed and the journal cannot record it: "
	    "held in memory as quarantined, not tried again until it is recorded or "
	    "`reconcilerctl sync --retry`", revision, service);
}

int
daemon__held_find(struct daemon *dm, const char *revision, const char *service, char **reason)
{
	*reason = NULL;
	for (size_t i = 0; i < dm->cycle.nheld; i++) {
		const struct held_failure *h = &dm->cycle.held[i];

		if (strcmp(h->revision, revision) == 0 && strcmp(h->service, service) == 0) {
			*reason = xstrdup(h->reason);
			return 1;
		}
	}
	return 0;
}

/* Once the journal takes writes again, what it missed is written; the first
 * refusal ends the attempt (the disk is still full). */
void
daemon__held_flush(struct daemon *dm)
{
	struct dm_cycle *cy = &dm->cycle;

	while (cy->nheld) {
		struct held_failure *h = &cy->held[0];

		if (journal_fail(cy->journal, h->revision, h->service, h->reason) < 0)
			return;
		log_info("journal", "revision=%.12s service=%s: the failure held in memory is "
		    "recorded now", h->revision, h->service);
		free(h->reason);
		memmove(&cy->held[0], &cy->held[1], --cy->nheld * sizeof(*cy->held));
	}
}

int
daemon__held_clear(struct daemon *dm)
{
	int n = (int)dm->cycle.nheld;

	for (size_t i = 0; i < dm->cycle.nheld; i++)
		free(dm->cycle.held[i].reason);
	free(dm->cycle.held);
	dm->cycle.held = NULL;
	dm->cycle.nheld = 0;
	return n;
}

/* At the end of a cycle: the journal's health, logged when it changes (not
 * every poll), counted, and put in the status. */
void
daemon__journal_watch(struct daemon *dm, struct status *st)
{
	struct dm_cycle *cy = &dm->cycle;
	unsigned long n;
	char err[ERR_LEN];
	int failing = journal_health(cy->journal, &n, err);

	/* a counter never goes back, even when SIGHUP opens another journal */
	if (n < cy->journal_errors_seen)
		cy->journal_errors_seen = 0;
	pthread_mutex_lock(&dm->shared.mu);
	dm->shared.m.journal_write_errors += n - cy->journal_errors_seen;
	pthread_mutex_unlock(&dm->shared.mu);
	cy->journal_errors_seen = n;
	if (failing && (!cy->journal_failing || strcmp(err, cy->journal_err) != 0)) {
		log_error("journal", "%s: writes fail (%lu so far): nothing of what the daemon does "
		    "is recorded, and a failed rollout is held in memory as quarantined until it "
		    "is; free space in the state directory '%s'", err, n, dm->cfg->state_dir);
		snprintf(cy->journal_err, sizeof(cy->journal_err), "%s", err);
		cy->journal_failing = 1;
	} else if (!failing && cy->journal_failing) {
		log_info("journal", "written again (%lu writes had failed)", n);
		cy->journal_err[0] = '\0';
		cy->journal_failing = 0;
	}
	json_object_set_new(st->o, "journal", json_pack("{s:o,s:I,s:I}", "error", failing ?
	    json_string(err) : json_null(), "write_errors", (json_int_t)n, "held",
	    (json_int_t)cy->nheld));
}
