/*
 * tz: see tz.h. Only what a schedule needs: the UT offset at an instant. The
 * version 2+ data block (64-bit times) is read when present, else version 1;
 * leap seconds are ignored (zoneinfo "right/" zones are not meant for this).
 */
#include "tz.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRANSITIONS 20000
#define MAX_TYPES 256

/* A date of a POSIX TZ rule: Jn (1-365, no Feb 29), n (0-365) or Mm.w.d. */
struct rule_date {
	char kind;		/* 'J', 'N' or 'M' */
	int n, m, w, d;
	long secs;		/* local time of day of the change; may be <0 or >24h */
};

struct rule {
	long std_off, dst_off;	/* seconds east of UTC */
	int has_dst;
	struct rule_date start, end;
};

struct tz {
	char *name;
	int64_t *trans;		/* transition instants, ascending */
	unsigned char *idx;	/* type index per transition */
	size_t ntrans;
	long *off;		/* per type */
	size_t ntypes;
	int has_rule;
	struct rule rule;
};

static int64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* --- the POSIX TZ string of the footer ----------------------------------- */

static int
parse_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		const char *e = strchr(s, '>');

		if (!e || e - s < 4)
			return -1;
		*p = e + 1;
		return 0;
	}
	while (isalpha((unsigned char)*s))
		s++;
	if (s - *p < 3)
		return -1;
	*p = s;
	return 0;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (the RFC 8536 extension) */
static int
parse_hms(const char **p, long *out)
{
	const char *s = *p;
	long sign = 1, h = 0, m = 0, sec = 0;
	int n = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	while (isdigit((unsigned char)*s) && n < 3)
		h = h * 10 + (*s++ - '0'), n++;
	if (n == 0 || h > 167)
		return -1;
	for (int part = 0; part < 2 && *s == ':'; part++) {
		long v = 0;

		s++;
		if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
			return -1;
		v = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
		if (v > 59)
			return -1;
		if (part == 0)
			m = v;
		else
			sec = v;
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	*p = s;
	return 0;
}

static int
parse_num(const char **p, int lo, int hi, int *out)
{
	const char *s = *p;
	int v = 0, n = 0;

	while (isdigit((unsigned char)*s) && n < 3)
		v = v * 10 + (*s++ - '0'), n++;
	if (n == 0 || v < lo || v > hi)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

static int
parse_date(const char **p, struct rule_date *d)
{
	const char *s = *p;

	memset(d, 0, sizeof(*d));
	d->secs = 7200;
	if (*s == 'J') {
		s++;
		d->kind = 'J';
		if (parse_num(&s, 1, 365, &d->n) < 0)
			return -1;
	} else if (*s == 'M') {
		s++;
		d->kind = 'M';
		if (parse_num(&s, 1, 12, &d->m) < 0 || *s++ != '.' ||
		    parse_num(&s, 1, 5, &d->w) < 0 || *s++ != '.' || parse_num(&s, 0, 6, &d->d) < 0)
			return -1;
	} else {
		d->kind = 'N';
		if (parse_num(&s, 0, 365, &d->n) < 0)
			return -1;
	}
	if (*s == '/') {
		s++;
		if (parse_hms(&s, &d->secs) < 0)
			return -1;
	}
	*p = s;
	return 0;
}

static int
parse_rule(const char *s, struct rule *r)
{
	long off;

	memset(r, 0, sizeof(*r));
	if (parse_name(&s) < 0 || parse_hms(&s, &off) < 0)
		return -1;
	r->std_off = -off;	/* POSIX counts west of UTC */
	if (*s == '\0')
		return 0;
	if (parse_name(&s) < 0)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*s && *s != ',') {
		if (parse_hms(&s, &off) < 0)
			return -1;
		r->dst_off = -off;
	}
	if (*s != ',') {
		/* no rule: POSIX leaves it to the implementation; the US rule is
		 * what glibc uses, but a zone file always states it */
		return -1;
	}
	s++;
	if (parse_date(&s, &r->start) < 0 || *s++ != ',' || parse_date(&s, &r->end) < 0)
		return -1;
	return *s == '\0' ? 0 : -1;
}

/* The instant, as local seconds of the year's wall clock, of a rule date. */
static int64_t
rule_local(int64_t year, const struct rule_date *d)
{
	int64_t day;

	switch (d->kind) {
	case 'J':
		day = days_from_civil(year, 1, 1) + d->n - 1 + (is_leap(year) && d->n >= 60);
		break;
	case 'N':
		day = days_from_civil(year, 1, 1) + d->n;
		break;
	default: {
		int64_t first = days_from_civil(year, d->m, 1);
		int wd = (int)(((first % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
		int md = 1 + (d->d - wd + 7) % 7 + (d->w - 1) * 7;

		while (md > month_days(year, d->m))
			md -= 7;
		day = first + md - 1;
		break;
	}
	}
	return day * 86400 + d->secs;
}

static long
rule_offset(const struct rule *r, int64_t t)
{
	int64_t year, start, end;
	time_t tt;
	struct tm tm;

	if (!r->has_dst)
		return r->std_off;
	tt = (time_t)(t + r->std_off);
	if (!gmtime_r(&tt, &tm))
		return r->std_off;
	year = (int64_t)tm.tm_year + 1900;
	/* the start is given in standard time, the end in daylight time */
	start = rule_local(year, &r->start) - r->std_off;
	end = rule_local(year, &r->end) - r->dst_off;
	if (start < end)
		return t >= start && t < end ? r->dst_off : r->std_off;
	/* southern hemisphere: daylight time spans the new year */
	return t >= end && t < start ? r->std_off : r->dst_off;
}

/* --- the file ------------------------------------------------------------- */

struct counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int
read_header(const unsigned char *p, size_t len, struct counts *c, int *version)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	*version = p[4] ? p[4] - '0' : 1;
	c->isut = (uint32_t)be(p + 20, 4);
	c->isstd = (uint32_t)be(p + 24, 4);
	c->leap = (uint32_t)be(p + 28, 4);
	c->time = (uint32_t)be(p + 32, 4);
	c->type = (uint32_t)be(p + 36, 4);
	c->chars = (uint32_t)be(p + 40, 4);
	if (c->time > MAX_TRANSITIONS || c->type == 0 || c->type > MAX_TYPES ||
	    c->leap > 10000 || c->chars > 10000 || (c->isut && c->isut != c->type) ||
	    (c->isstd && c->isstd != c->type))
		return -1;
	return 0;
}

static size_t
block_len(const struct counts *c, int tsize)
{
	return (size_t)c->time * (size_t)tsize + c->time + (size_t)c->type * 6 + c->chars +
	    (size_t)c->leap * (size_t)(tsize + 4) + c->isstd + c->isut;
}

int
tz_parse(struct tz **out, const char *name, const unsigned char *data, size_t len, char *err)
{
	struct counts c;
	const unsigned char *p = data, *end = data + len;
	struct tz *z;
	int version, tsize = 4;

	*out = NULL;
	if (read_header(p, len, &c, &version) < 0)
		return errf(err, "time zone '%s': not a valid TZif file", name);
	p += 44;
	if (version >= 2) {
		size_t skip = block_len(&c, 4);

		if ((size_t)(end - p) < skip)
			return errf(err, "time zone '%s': truncated TZif file", name);
		p += skip;
		if (read_header(p, (size_t)(end - p), &c, &version) < 0)
			return errf(err, "time zone '%s': not a valid TZif file", name);
		p += 44;
		tsize = 8;
	}
	if ((size_t)(end - p) < block_len(&c, tsize))
		return errf(err, "time zone '%s': truncated TZif file", name);
	z = xcalloc(1, sizeof(*z));
	z->name = xstrdup(name);
	z->ntrans = c.time;
	z->ntypes = c.type;
	z->trans = xcalloc(c.time + 1, sizeof(*z->trans));
	z->idx = xcalloc(c.time + 1, 1);
	z->off = xcalloc(c.type, sizeof(*z->off));
	for (size_t i = 0; i < c.time; i++) {
		z->trans[i] = be(p, tsize);
		p += tsize;
		if (i && z->trans[i] <= z->trans[i - 1])
			goto bad;
	}
	for (size_t i = 0; i < c.time; i++) {
		if ((z->idx[i] = *p++) >= c.type)
			goto bad;
	}
	for (size_t i = 0; i < c.type; i++, p += 6) {
		long o = (long)be(p, 4);

		if (o < -89999 || o > 93599)	/* within ±25 hours */
			goto bad;
		z->off[i] = o;
	}
	p += c.chars + (size_t)c.leap * (size_t)(tsize + 4) + c.isstd + c.isut;
	/* the footer: "\n" TZ "\n", used past the last transition */
	if (version >= 2 && p < end && *p == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));

		if (nl && nl - p - 1 > 0 && nl - p - 1 < 128) {
			char rule[128];

			memcpy(rule, p + 1, (size_t)(nl - p - 1));
			rule[nl - p - 1] = '\0';
			if (parse_rule(rule, &z->rule) < 0) {
				tz_free(z);
				return errf(err, "time zone '%s': cannot read its rule '%s'", name,
				    rule);
			}
			z->has_rule = 1;
		}
	}
	*out = z;
	return 0;
bad:
	tz_free(z);
	return errf(err, "time zone '%s': inconsistent TZif data", name);
}

int
tz_load(struct tz **out, const char *name, char *err)
{
	const char *dir = getenv("TZDIR");
	char *path, *data = NULL, e[ERR_LEN];
	size_t len;
	int rc;

	*out = NULL;
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
		*out = xcalloc(1, sizeof(**out));
		(*out)->name = xstrdup(name);
		return 0;
	}
	if (!*name || name[0] == '/' || strstr(name, ".."))
		return errf(err, "time zone '%s': expected an IANA name such as Europe/Paris", name);
	path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	if (file_read(path, TZ_FILE_MAX, &data, &len, e) < 0) {
		errf(err, "time zone '%s': %s (is it an IANA name such as Europe/Paris, and is "
		    "tzdata installed?)", name, e);
		free(path);
		return -1;
	}
	rc = tz_parse(out, name, (const unsigned char *)data, len, err);
	free(data);
	free(path);
	return rc;
}

void
tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->trans);
	free(z->idx);
	free(z->off);
	free(z);
}

const char *
tz_name(const struct tz *z)
{
	return z ? z->name : "UTC";
}

long
tz_offset(const struct tz *z, time_t t)
{
	size_t lo, hi;

	if (!z || (!z->ntypes && !z->has_rule))
		return 0;
	if (z->ntrans == 0)
		return z->has_rule ? rule_offset(&z->rule, t) : z->off[0];
	if (t < z->trans[0])
		return z->off[0];
	if (t >= z->trans[z->ntrans - 1])
		return z->has_rule ? rule_offset(&z->rule, t) : z->off[z->idx[z->ntrans - 1]];
	/* the last transition at or before t */
	lo = 0;
	hi = z->ntrans - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[z->idx[lo]];
}
