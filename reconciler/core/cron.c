/*
 * cron: see cron.h. Day-of-month and day-of-week follow Vixie cron: when both
 * are restricted, a day matching either runs. Stricter than Vixie cron where a
 * typo would run a backup at the wrong time: a step needs * or a range before
 * it and is at most the field's largest value; names are lowercase.
 */
#include "cron.h"
#include "tz.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const struct field {
	const char *name;
	int lo, hi;
	const char *const *names;
	int nnames, name_base;
} fields[5] = {
	{ "minute", 0, 59, NULL, 0, 0 },
	{ "hour", 0, 23, NULL, 0, 0 },
	{ "day of month", 1, 31, NULL, 0, 0 },
	{ "month", 1, 12, month_names, 12, 1 },
	{ "day of week", 0, 7, day_names, 7, 0 },
};

/* One value: at most two digits (05 is fine), or a lowercase name where the
 * field has names. */
static int
parse_value(const struct field *f, const char **p, int *out)
{
	const char *s = *p;

	if (f->names && s[0] >= 'a' && s[0] <= 'z') {
		for (int i = 0; i < f->nnames; i++) {
			if (strncmp(s, f->names[i], 3) == 0) {
				*out = i + f->name_base;
				*p = s + 3;
				return 0;
			}
		}
		return -1;
	}
	if (*s < '0' || *s > '9')
		return -1;
	*out = 0;
	for (int n = 0; *s >= '0' && *s <= '9'; n++) {
		if (n == 2)
			return -1;
		*out = *out * 10 + (*s++ - '0');
	}
	*p = s;
	return 0;
}

static int
parse_field(const struct field *f, const char *text, uint64_t *bits, int *star, char *err)
{
	const char *p = text;

	*bits = 0;
	*star = strcmp(text, "*") == 0 || strncmp(text, "*/", 2) == 0;
	for (;;) {
		int lo, hi, step = 1, spread = 1;

		if (*p == '*') {
			lo = f->lo;
			hi = f->hi;
			p++;
		} else {
			if (parse_value(f, &p, &lo) < 0)
				goto bad;
			hi = lo;
			spread = 0;
			if (*p == '-') {
				p++;
				if (parse_value(f, &p, &hi) < 0)
					goto bad;
				spread = 1;
			}
		}
		if (*p == '/') {
			/* Vixie cron reads 5/15 as 5-59/15; it is more often a typo for
			 * 5,15 or for a step of all values, so a step needs * or a range. */
			if (!spread)
				return errf(err, "%s field '%s': a step needs * or a range before it "
				    "(*/S or N-M/S)", f->name, text);
			p++;
			if (parse_value(&fields[0], &p, &step) < 0)
				goto bad;
			/* a step of 60 minutes would only ever match the first value */
			if (step < 1 || step > f->hi)
				return errf(err, "%s field '%s': the step must be 1-%d", f->name, text,
				    f->hi);
		}
		if (lo < f->lo || hi > f->hi)
			return errf(err, "%s field '%s': values must be %d-%d", f->name, text, f->lo,
			    f->hi);
		if (lo > hi)
			return errf(err, "%s field '%s': the range %d-%d runs backwards", f->name,
			    text, lo, hi);
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ull << v;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto bad;
		p++;
	}
bad:
	return errf(err, "%s field '%s' is not valid (expected *, N, N-M, */S, N-M/S or lists%s%s)",
	    f->name, text, f->names ? "; names in lowercase, such as " : "",
	    f->names ? f->names[1] : "");
}

int
cron_parse(struct cron *c, const char *expr, char *err)
{
	static const struct { const char *macro, *expansion; } macros[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	char copy[256], *f[5], *t;
	uint64_t bits;
	int n = 0, star;

	memset(c, 0, sizeof(*c));
	if (expr[0] == '@') {
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (strcmp(expr, macros[i].macro) == 0)
				return cron_parse(c, macros[i].expansion, err);
		return errf(err, "unknown schedule '%s' (expected 5 fields or @yearly, @monthly, "
		    "@weekly, @daily, @hourly)", expr);
	}
	if (strlen(expr) >= sizeof(copy))
		return errf(err, "schedule is too long");
	/* Fields are separated by spaces, as the schema's pattern has it: no tabs,
	 * nothing before the first or after the last. */
	if (expr[0] == ' ' || (*expr && expr[strlen(expr) - 1] == ' ') || strchr(expr, '\t'))
		return errf(err, "schedule '%s' must be fields separated by spaces, with none "
		    "around them", expr);
	snprintf(copy, sizeof(copy), "%s", expr);
	for (t = copy; *t; n++) {
		if (n < 5)
			f[n] = t;
		t += strcspn(t, " ");
		while (*t == ' ')
			*t++ = '\0';
	}
	if (n != 5)
		return errf(err, "schedule '%s' has %d field%s, expected 5 (minute hour day-of-month "
		    "month day-of-week)", expr, n, n == 1 ? "" : "s");
	if (parse_field(&fields[0], f[0], &bits, &star, err) < 0)
		return -1;
	c->minute = bits;
	if (parse_field(&fields[1], f[1], &bits, &star, err) < 0)
		return -1;
	c->hour = (uint32_t)bits;
	if (parse_field(&fields[2], f[2], &bits, &star, err) < 0)
		return -1;
	c->mday = (uint32_t)bits;
	c->mday_star = star;
	if (parse_field(&fields[3], f[3], &bits, &star, err) < 0)
		return -1;
	c->month = (uint16_t)bits;
	if (parse_field(&fields[4], f[4], &bits, &star, err) < 0)
		return -1;
	if (bits & (1u << 7))
		bits |= 1;	/* 7 is Sunday too */
	c->wday = (uint8_t)(bits & 0x7f);
	c->wday_star = star;
	return 0;
}

static int
day_matches(const struct cron *c, const struct tm *tm)
{
	int md = (c->mday >> tm->tm_mday) & 1, wd = (c->wday >> tm->tm_wday) & 1;

	if (c->mday_star || c->wday_star)
		return md && wd;
	return md || wd;
}

time_t
cron_next_utc(const struct cron *c, time_t after)
{
	time_t t = after - (after % 60) + 60, limit = after + (time_t)5 * 366 * 86400;
	struct tm tm;

	while (t <= limit) {
		gmtime_r(&t, &tm);
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			/* jump to the first minute of the next month */
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = timegm(&tm);
			continue;
		}
		if (!day_matches(c, &tm)) {
			t += 86400 - tm.tm_hour * 3600 - tm.tm_min * 60;
			continue;
		}
		if (!((c->hour >> tm.tm_hour) & 1)) {
			t += 3600 - tm.tm_min * 60;
			continue;
		}
		if ((c->minute >> tm.tm_min) & 1)
			return t;
		t += 60;
	}
	return -1;
}

/* The wall-clock reading of instant t in zone z, as seconds since the epoch
 * of a clock that shows local time (what gmtime_r then breaks down). */
static time_t
wall(const struct tz *z, time_t t)
{
	return t + tz_offset(z, t);
}

/*
 * The first instant whose wall clock reads w, or the end of the gap when the
 * clocks skip w. The offsets in effect a day either side bracket any change
 * near w (no zone changes its offset twice within two days).
 */
static time_t
first_instant(const struct tz *z, time_t w)
{
	long before = tz_offset(z, w - 86400), after = tz_offset(z, w + 86400);
	time_t a = w - before, b = w - after, lo, hi;
	int ok_a = wall(z, a) == w, ok_b = wall(z, b) == w;

	if (ok_a && ok_b)
		return a < b ? a : b;
	if (ok_a)
		return a;
	if (ok_b)
		return b;
	/* w is skipped: the first instant whose wall clock is past w */
	lo = a < b ? a : b;
	hi = a < b ? b : a;
	if (wall(z, hi) < w)
		return hi;	/* not a plain gap (inconsistent data): move on */
	while (hi - lo > 1) {
		time_t mid = lo + (hi - lo) / 2;

		if (wall(z, mid) >= w)
			hi = mid;
		else
			lo = mid;
	}
	return hi % 60 ? hi - hi % 60 + 60 : hi;
}

time_t
cron_next_tz(const struct cron *c, const struct tz *z, time_t after)
{
	time_t w = wall(z, after);

	/* Each step moves w on by at least a minute; a repeated hour skips at
	 * most 60 × the hours repeated, so the bound is never reached in use. */
	for (int i = 0; i < 4096; i++) {
		time_t t;

		if ((w = cron_next_utc(c, w)) < 0)
			return -1;
		t = first_instant(z, w);
		if (t > after)
			return t;
	}
	return -1;
}
