/*
 * docker_container: decodes a container from the engine's JSON (an item of
 * GET /containers/json or a GET /containers/{id}/json result) into struct
 * docker_container. Pure: no I/O, safe on hostile input (fuzz_docker_json).
 */
#include "docker.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
type_name(const json_t *j)
{
	if (!j)
		return "nothing";
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* Copies obj[key] when it is a string; a missing/null field is an error only if
 * required, a field of another type always is. */
static int
get_str(json_t *obj, const char *ctx, const char *key, int required, char **out, char *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		errf(err, "%s: field '%s' is missing", ctx, key);
		return -1;
	}
	if (!json_is_string(v)) {
		errf(err, "%s: field '%s' must be a string, not %s", ctx, key, type_name(v));
		return -1;
	}
	*out = xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

static int
get_labels(json_t *obj, const char *ctx, const char *field, json_t **out, char *err)
{
	json_t *v = json_object_get(obj, "Labels"), *val;
	const char *key;

	*out = NULL;
	if (!v || json_is_null(v)) {
		*out = json_object();
		return 0;
	}
	if (!json_is_object(v))
		return errf(err, "%s: field '%s' must be an object, not %s", ctx, field, type_name(v));
	json_object_foreach(v, key, val) {
		if (!json_is_string(val))
			return errf(err, "%s: label '%.64s' must be a string, not %s", ctx, key,
			    type_name(val));
	}
	*out = json_incref(v);
	return 0;
}

static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe, mp = m > 2 ? m - 3 : m + 9;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * mp + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int
two(const char *s, int *v)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* RFC 3339 as the engine writes it: 2024-05-01T10:20:30.123456789Z */
int
docker_parse_time_ms(const char *s, long long *out)
{
	int y1, y2, mo, d, h, mi, se, oh = 0, om = 0, sign = 0, ms = 0, digits = 0;
	size_t n = s ? strlen(s) : 0;
	const char *p;

	if (n < 20 || two(s, &y1) || two(s + 2, &y2) || s[4] != '-' || two(s + 5, &mo) ||
	    s[7] != '-' || two(s + 8, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    two(s + 11, &h) || s[13] != ':' || two(s + 14, &mi) || s[16] != ':' ||
	    two(s + 17, &se))
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++)
			if (digits++ < 3)
				ms = ms * 10 + (*p - '0');
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (two(p + 1, &oh) || p[3] != ':' || two(p + 4, &om))
			return -1;
		p += 6;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 ||
	    oh > 23 || om > 59)
		return -1;
	*out = (days_from_civil(y1 * 100 + y2, (unsigned)mo, (unsigned)d) * 86400 +
	    (long long)h * 3600 + (long long)mi * 60 + se - sign * (oh * 3600LL + om * 60LL)) *
	    1000 + ms;
	return 0;
}

static char *
health_from_status(const char *status)
{
	if (!status)
		return NULL;
	if (strstr(status, "(healthy)"))
		return xstrdup("healthy");
	if (strstr(status, "(unhealthy)"))
		return xstrdup("unhealthy");
	if (strstr(status, "(health: starting)"))
		return xstrdup("starting");
	return NULL;
}

static int
from_list_item(struct docker_container *c, json_t *item, const char *ctx, char *err)
{
	json_t *names = json_object_get(item, "Names"), *created, *v;
	const char *pick = NULL;
	size_t i;

	if (!names || json_is_null(names))
		return errf(err, "%s: field 'Names' is missing", ctx);
	if (!json_is_array(names) || json_array_size(names) == 0)
		return errf(err, "%s: field 'Names' must be a non-empty array of strings", ctx);
	json_array_foreach(names, i, v) {
		const char *s = json_string_value(v);

		if (!s)
			return errf(err, "%s: field 'Names' must be a non-empty array of strings",
			    ctx);
		if (*s == '/')
			s++;
		/* linked containers also list "/other/alias" names */
		if (*s && (!pick || (strchr(pick, '/') && !strchr(s, '/'))))
			pick = s;
	}
	if (!pick)
		return errf(err, "%s: field 'Names' holds no usable name", ctx);
	c->name = xstrdup(pick);
	if (get_str(item, ctx, "Image", 1, &c->image, err) < 0 ||
	    get_str(item, ctx, "ImageID", 0, &c->image_id, err) < 0 ||
	    get_str(item, ctx, "State", 1, &c->state, err) < 0 ||
	    get_str(item, ctx, "Status", 0, &c->status, err) < 0)
		return -1;
	created = json_object_get(item, "Created");
	if (!created)
		return errf(err, "%s: field 'Created' is missing", ctx);
	if (!json_is_integer(created))
		return errf(err, "%s: field 'Created' must be an integer, not %s", ctx,
		    type_name(created));
	c->created = (long long)json_integer_value(created);
	c->health = health_from_status(c->status);
	return get_labels(item, ctx, "Labels", &c->labels, err);
}

static int
from_inspect(struct docker_container *c, json_t *item, const char *ctx, char *err)
{
	json_t *config = json_object_get(item, "Config"), *state = json_object_get(item, "State");
	char *name = NULL, *created = NULL, *health = NULL;
	int rc = -1;

	if (get_str(item, ctx, "Name", 1, &name, err) < 0)
		goto out;
	if (!json_is_object(config)) {
		errf(err, "%s: field 'Config' must be an object", ctx);
		goto out;
	}
	c->name = xstrdup(name[0] == '/' ? name + 1 : name);
	if (!*c->name) {
		errf(err, "%s: field 'Name' is empty", ctx);
		goto out;
	}
	if (get_str(config, ctx, "Image", 1, &c->image, err) < 0 ||
	    get_str(item, ctx, "Image", 0, &c->image_id, err) < 0 ||
	    get_str(state, ctx, "Status", 1, &c->state, err) < 0 ||
	    get_str(item, ctx, "Created", 1, &created, err) < 0)
		goto out;
	if (docker_parse_time_ms(created, &c->created) < 0) {
		errf(err, "%s: field 'Created' is not an RFC 3339 time: '%.40s'", ctx, created);
		goto out;
	}
	c->created /= 1000;	/* seconds, as the list gives it */
	if (json_is_object(json_object_get(state, "Health")) &&
	    get_str(json_object_get(state, "Health"), ctx, "Status", 0, &health, err) < 0)
		goto out;
	if (health && (!strcmp(health, "healthy") || !strcmp(health, "unhealthy") ||
	    !strcmp(health, "starting"))) {
		c->health = health;
		health = NULL;
	}
	if (get_labels(config, ctx, "Config.Labels", &c->labels, err) < 0)
		goto out;
	rc = 0;
out:
	free(name);
	free(created);
	free(health);
	return rc;
}

int
docker_container_from_json(struct docker_container *out, json_t *item, char *err)
{
	char ctx[64];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(item))
		return errf(err, "container: expected an object, not %s", item ? type_name(item) :
		    "nothing");
	if (get_str(item, "container", "Id", 1, &out->id, err) < 0)
		return -1;
	if (!*out->id) {
		docker_container_release(out);
		return errf(err, "container: field 'Id' is empty");
	}
	snprintf(ctx, sizeof(ctx), "container %.12s", out->id);
	for (char *p = ctx; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* an inspect result has a State object; a list item a State string */
	if (json_is_object(json_object_get(item, "State")))
		rc = from_inspect(out, item, ctx, err);
	else
		rc = from_list_item(out, item, ctx, err);
	if (rc < 0)
		docker_container_release(out);
	return rc;
}

void
docker_container_release(struct docker_container *c)
{
	free(c->id);
	free(c->name);
	free(c->image);
	free(c->image_id);
	free(c->state);
	free(c->status);
	free(c->health);
	json_decref(c->labels);
	memset(c, 0, sizeof(*c));
}
