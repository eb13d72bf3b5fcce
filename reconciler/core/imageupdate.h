/*
 * imageupdate: the plan of `reconcilerctl update-images` for one tracked
 * service (up to date, held back by its cooldown, or bumped to a new digest)
 * and the commit message of a run. Pure: the registry's answer and the clock
 * come in, text goes out.
 */
#ifndef RECONCILER_IMAGEUPDATE_H
#define RECONCILER_IMAGEUPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

enum iu_state {
	IU_UP_TO_DATE,	/* the tag still points at the pinned digest */
	IU_HELD,	/* a new digest, younger than the cooldown */
	IU_BUMP,	/* a new digest, old enough: written */
};

struct iu_item {
	const char *service;	/* borrowed from the manifest */
	char *name;		/* the image without tag and digest, as written */
	char *written_tag;	/* the tag written in the image, "" when none */
	char *tag;		/* the tag followed */
	char *old_digest;	/* pinned */
	char *new_digest;	/* the tag's now */
	char *created;		/* the new image's creation date (RFC 3339), or NULL */
	int64_t cooldown_ms;
	int64_t until;		/* IU_HELD: when it may go (unix seconds) */
	enum iu_state state;
};

/* From a service with track: its image split. -1 when it has no track. */
int imageupdate_item_init(struct iu_item *it, const struct mf_service *s, char *err);
void imageupdate_item_release(struct iu_item *it);
/* The reference the registry is asked about: NAME:TAG (caller frees). */
char *imageupdate_ref(const struct iu_item *it);
/* Judges the registry's answer at now (unix seconds): the state, and -1 when
 * a cooldown cannot be judged (no or a bad creation date). created may be
 * NULL (the digest is the pinned one, or the config has none). */
int imageupdate_judge(struct iu_item *it, const char *digest, const char *created, int64_t now,
    char *err);
/* The image to write: NAME[:written tag]@new digest (caller frees). */
char *imageupdate_image(const struct iu_item *it);
/* One line of the plan, without newline (caller frees). */
char *imageupdate_line(const struct iu_item *it);
/* The run's commit message: the subject, a blank line, one line per bumped
 * item (caller frees). NULL when nothing is bumped. */
char *imageupdate_message(const struct iu_item *items, size_t n);
/* RFC 3339 (2026-11-28T10:00:00Z, fractions, ±hh:mm offsets) to unix seconds. */
int imageupdate_parse_time(const char *s, int64_t *out);

#endif
