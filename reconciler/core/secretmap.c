/*
 * secretmap: see secretmap.h.
 */
#include "secretmap.h"
#include "digest.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void
secretmap_init(struct secretmap *sm, const char *dir, const unsigned char key[32])
{
	memset(sm, 0, sizeof(*sm));
	sm->dir = xstrdup(dir);
	memcpy(sm->key, key, sizeof(sm->key));
}

void
secretmap_release(struct secretmap *sm)
{
	for (size_t i = 0; i < sm->n; i++) {
		if (sm->v[i].data)
			explicit_bzero(sm->v[i].data, sm->v[i].len);
		free(sm->v[i].data);
		free(sm->v[i].name);
		free(sm->v[i].error);
	}
	free(sm->v);
	free(sm->dir);
	explicit_bzero(sm->key, sizeof(sm->key));
	memset(sm, 0, sizeof(*sm));
}

static const struct secretmap_entry *
find(const struct secretmap *sm, const char *name)
{
	for (size_t i = 0; i < sm->n; i++)
		if (strcmp(sm->v[i].name, name) == 0)
			return &sm->v[i];
	return NULL;
}

int
secretmap_has(const struct secretmap *sm, const char *name)
{
	return find(sm, name) != NULL;
}

void
secretmap_put(struct secretmap *sm, const char *name, const char *data, size_t len,
    const char *error)
{
	struct secretmap_entry *e;

	sm->v = xrealloc(sm->v, (sm->n + 1) * sizeof(*sm->v));
	e = &sm->v[sm->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	if (data) {
		e->data = xmalloc(len + 1);
		memcpy(e->data, data, len);
		e->data[len] = '\0';
		e->len = len;
	} else {
		e->error = xstrdup(error ? error : "not read");
	}
}

int
secretmap_get(const struct secretmap *sm, const char *name, int trim, const char **value,
    size_t *len, char *err)
{
	const struct secretmap_entry *e = find(sm, name);
	size_t n;

	*value = NULL;
	*len = 0;
	if (!e)
		return errf(err, "secret '%s': not resolved before the spec was built", name);
	if (!e->data)
		return errf(err, "%s", e->error);
	n = e->len;
	if (trim && n && e->data[n - 1] == '\n')
		n--;
	if (trim && n && e->data[n - 1] == '\r')
		n--;
	*value = e->data;
	*len = n;
	return 0;
}

void
secretmap_digest(const struct secretmap *sm, const void *data, size_t len, char *out)
{
	unsigned char mac[DIGEST_SHA256_LEN];

	digest_hmac_sha256(sm->key, sizeof(sm->key), data, len, mac);
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): hex_encode ends the string */
	memcpy(out, "hmac-sha256:", 12);
	hex_encode(mac, sizeof(mac), out + 12);
}

char *
secretmap_path(const struct secretmap *sm, const char *name)
{
	return xasprintf("%s/%s", sm->dir, name);
}
