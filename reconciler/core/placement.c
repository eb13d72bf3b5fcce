/*
 * placement: see placement.h.
 */
#include "placement.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A constraint cut into its attribute, operator and value. */
struct cons {
	char attr[256], value[256];
	int eq;
};

static int
cons_split(const char *s, struct cons *c)
{
	return manifest_constraint_split(s, c->attr, sizeof(c->attr), c->value, sizeof(c->value),
	    &c->eq);
}

int
placement_attr_ok(const char *constraint)
{
	struct cons c;

	if (cons_split(constraint, &c) < 0)
		return 0;
	return strcasecmp(c.attr, "node.hostname") == 0 ||
	    (strncasecmp(c.attr, "node.labels.", 12) == 0 && c.attr[12] != '\0');
}

/* The host's value of attr, or NULL (a label it does not have). */
static const char *
host_value(const struct fleet_host *h, const char *attr)
{
	if (strcasecmp(attr, "node.hostname") == 0)
		return h->name;
	for (size_t i = 0; i < h->nlabels; i++)
		if (strcmp(h->labels[i].key, attr + 12) == 0)
			return h->labels[i].value;
	return NULL;
}

char *
placement_elsewhere(const struct mf_service *s, const struct fleet_host *h)
{
	if (!h)
		return NULL;
	for (size_t i = 0; i < s->deploy.nconstraints; i++) {
		struct cons c;
		const char *have;
		int match;

		if (cons_split(s->deploy.constraints[i], &c) < 0 ||
		    !placement_attr_ok(s->deploy.constraints[i]))
			return xasprintf("%s (not read on backend containers)",
			    s->deploy.constraints[i]);
		have = host_value(h, c.attr);
		/* Swarm: == needs the attribute; != holds when it is absent */
		match = have && strcasecmp(have, c.value) == 0;
		if (match == c.eq)
			continue;
		if (strcasecmp(c.attr, "node.hostname") == 0)
			return xasprintf("%s %s %s (this host is %s)", c.attr, c.eq ? "==" : "!=",
			    c.value, h->name);
		if (have)
			return xasprintf("%s %s %s (this host's label %s is %s)", c.attr,
			    c.eq ? "==" : "!=", c.value, c.attr + 12, have);
		return xasprintf("%s %s %s (this host has no label %s)", c.attr,
		    c.eq ? "==" : "!=", c.value, c.attr + 12);
	}
	return NULL;
}

int
fleet_host_add_label(struct fleet_host *h, const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv || strpbrk(kv, " \t\r\n"))
		return -1;
	for (const char *p = kv; p < eq; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return -1;
	h->labels = xrealloc(h->labels, (h->nlabels + 1) * sizeof(*h->labels));
	h->labels[h->nlabels].key = xstrndup(kv, (size_t)(eq - kv));
	h->labels[h->nlabels++].value = xstrdup(eq + 1);
	return 0;
}

json_t *
fleet_host_json(const struct fleet_host *h)
{
	json_t *labels = json_object();

	for (size_t i = 0; i < h->nlabels; i++)
		json_object_set_new(labels, h->labels[i].key, json_string(h->labels[i].value));
	return json_pack("{s:s?,s:o}", "name", h->name, "labels", labels);
}

void
fleet_host_copy(struct fleet_host *dst, const struct fleet_host *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = src->name ? xstrdup(src->name) : NULL;
	dst->labels = xcalloc(src->nlabels + 1, sizeof(*dst->labels));
	for (size_t i = 0; i < src->nlabels; i++) {
		dst->labels[i].key = xstrdup(src->labels[i].key);
		dst->labels[i].value = xstrdup(src->labels[i].value);
	}
	dst->nlabels = src->nlabels;
}

void
fleet_host_release(struct fleet_host *h)
{
	for (size_t i = 0; i < h->nlabels; i++) {
		free(h->labels[i].key);
		free(h->labels[i].value);
	}
	free(h->labels);
	free(h->name);
	memset(h, 0, sizeof(*h));
}
