/*
 * cron: five-field cron expressions (lists, ranges, steps, month and day names,
 * @daily-style macros) parsed into bit sets, and the next matching minute.
 */
#ifndef RECONCILER_CRON_H
#define RECONCILER_CRON_H

#include <stdint.h>
#include <time.h>

struct cron {
	uint64_t minute;	/* bits 0-59 */
	uint32_t hour;		/* bits 0-23 */
	uint32_t mday;		/* bits 1-31 */
	uint16_t month;		/* bits 1-12 */
	uint8_t wday;		/* bits 0-6, Sunday = 0 */
	unsigned mday_star:1, wday_star:1;
};

/* Parses expr; on error fills err (ERR_LEN) naming the field and returns -1. */
int cron_parse(struct cron *c, const char *expr, char *err);
/* The first minute strictly after `after` that matches, in UTC; -1 if none
 * within five years. */
time_t cron_next_utc(const struct cron *c, time_t after);

struct tz;
/* The first instant strictly after `after` at which the wall clock of zone z
 * (NULL: UTC) shows a matching minute. A minute the clocks skip (spring
 * forward) runs at the first instant after the gap; a minute they show twice
 * (fall back) runs once, at its first occurrence. -1 if none within five
 * years. Pure: reads z only, so any thread may call it. */
time_t cron_next_tz(const struct cron *c, const struct tz *z, time_t after);

#endif
