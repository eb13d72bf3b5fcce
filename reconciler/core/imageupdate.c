/*
 * imageupdate: see imageupdate.h.
 */
#include "imageupdate.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
imageupdate_item_init(struct iu_item *it, const struct mf_service *s, char *err)
{
	memset(it, 0, sizeof(*it));
	if (!s->track.set || !s->track.tag || !s->image)
		return errf(err, "service '%s' tracks no tag", s->name);
	if (manifest_image_split(s->image, &it->name, &it->written_tag, &it->old_digest) < 0)
		return errf(err, "service '%s': cannot read image '%s'", s->name, s->image);
	it->service = s->name;
	it->tag = xstrdup(s->track.tag);
	it->cooldown_ms = s->track.cooldown;
	return 0;
}

void
imageupdate_item_release(struct iu_item *it)
{
	free(it->name);
	free(it->written_tag);
	free(it->tag);
	free(it->old_digest);
	free(it->new_digest);
	free(it->created);
	memset(it, 0, sizeof(*it));
}

char *
imageupdate_ref(const struct iu_item *it)
{
	return xasprintf("%s:%s", it->name, it->tag);
}

char *
imageupdate_image(const struct iu_item *it)
{
	return xasprintf("%s%s%s@%s", it->name, *it->written_tag ? ":" : "", it->written_tag,
	    it->new_digest ? it->new_digest : it->old_digest);
}

static int
digits(const char **p, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*out = *out * 10 + (**p - '0');
	}
	return 0;
}

int
imageupdate_parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;
	time_t t;

	if (!s || digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 ||
		    om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1 && y != 1969)
		return -1;
	*out = (int64_t)t - (int64_t)sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	return 0;
}

static void
format_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, len, "@%lld", (long long)t);
}

/* 3d, 1d12h, 72h30m: days when there are whole ones, then a duration. */
static void
format_cooldown(int64_t ms, char *out, size_t len)
{
	int64_t day = 24LL * 3600 * 1000, days = ms / day;
	char rest[32] = "";

	if (ms % day || !days)
		duration_format(ms % day, rest, sizeof(rest));
	if (days)
		snprintf(out, len, "%lldd%s", (long long)days, ms % day ? rest : "");
	else
		snprintf(out, len, "%s", rest);
}

int
imageupdate_judge(struct iu_item *it, const char *digest, const char *created, int64_t now,
    char *err)
{
	int64_t born;

	free(it->new_digest);
	free(it->created);
	it->new_digest = xstrdup(digest);
	it->created = created ? xstrdup(created) : NULL;
	if (strcmp(digest, it->old_digest) == 0) {
		it->state = IU_UP_TO_DATE;
		return 0;
	}
	it->state = IU_BUMP;
	if (!it->cooldown_ms)
		return 0;
	if (!created || imageupdate_parse_time(created, &born) < 0)
		return errf(err, "%s: %s:%s: the new image %s has %s creation date%s%s%s: its cooldown "
		    "cannot be judged", it->service, it->name, it->tag, digest, created ? "a bad" :
		    "no", created ? " '" : "", created ? created : "", created ? "'" : "");
	it->until = born + it->cooldown_ms / 1000;
	if (now < it->until)
		it->state = IU_HELD;
	return 0;
}

char *
imageupdate_line(const struct iu_item *it)
{
	char until[40], cd[64];

	switch (it->state) {
	case IU_UP_TO_DATE:
		return xasprintf("%s: up to date (%s:%s %s)", it->service, it->name, it->tag,
		    it->old_digest);
	case IU_HELD:
		format_time(it->until, until, sizeof(until));
		format_cooldown(it->cooldown_ms, cd, sizeof(cd));
		return xasprintf("%s: held back until %s (cooldown %s): %s:%s %s created %s",
		    it->service, until, cd, it->name, it->tag, it->new_digest, it->created);
	case IU_BUMP:
	default:
		return xasprintf("%s: %s:%s %s -> %s (created %s)", it->service, it->name, it->tag,
		    it->old_digest, it->new_digest, it->created ? it->created : "unknown");
	}
}

/* The name as Docker reads it: docker.io/library/postgres for postgres. */
static char *
full_name(const char *name)
{
	const char *slash = strchr(name, '/');

	if (slash && (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':',
	    (size_t)(slash - name)) || strncmp(name, "localhost/", 10) == 0))
		return xstrdup(name);
	return xasprintf("docker.io/%s%s", slash ? "" : "library/", name);
}

char *
imageupdate_message(const struct iu_item *items, size_t n)
{
	const struct iu_item *one = NULL;
	size_t count = 0;
	struct buf b;

	for (size_t i = 0; i < n; i++)
		if (items[i].state == IU_BUMP)
			count++, one = &items[i];
	if (!count)
		return NULL;
	buf_init(&b, 0);
	if (count == 1)
		buf_addf(&b, "deps: update %s to %s@%.15s…\n\n", one->service, one->tag,
		    one->new_digest);
	else
		buf_addf(&b, "deps: update %zu images\n\n", count);
	for (size_t i = 0; i < n; i++) {
		char *full;

		if (items[i].state != IU_BUMP)
			continue;
		full = full_name(items[i].name);
		buf_addf(&b, "%s: %s:%s %s -> %s (created %s)\n", items[i].service, full,
		    items[i].tag, items[i].old_digest, items[i].new_digest,
		    items[i].created ? items[i].created : "unknown");
		free(full);
	}
	return buf_detach(&b, NULL);
}
