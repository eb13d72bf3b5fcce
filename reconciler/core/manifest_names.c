/*
 * manifest: the name and reference rules of docs/manifest.md (project,
 * service and volume names, aliases, variables, users, time zones, secret
 * files, image references, restart policies), public for tools that write
 * manifests, and the checks that report a bad name or image at its node.
 */
#include "manifest_int.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int
mf__name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* ^[A-Za-z_][A-Za-z0-9_.-]*$: a shell name, plus the dots and dashes Docker
 * passes through (some images read such variables). */
int
mf__env_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("_.-", *s)))
			return 0;
	return 1;
}

/* A network alias: one or more names joined by dots (a DNS name). */
int
mf__alias_ok(const char *s)
{
	char *copy = xstrdup(s), *p = copy, *dot;
	int ok = 1;

	do {
		if ((dot = strchr(p, '.')))
			*dot++ = '\0';
		ok = mf__name_ok(p);
		p = dot;
	} while (ok && dot);
	free(copy);
	return ok;
}

/* uid, or a name ([A-Za-z_][A-Za-z0-9_.-]*), then optionally ':' and a gid or group. */
static int
user_part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	if (isdigit((unsigned char)s[0])) {
		for (i = 0; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return 0;
		return 1;
	}
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || strchr("_.-", s[i])))
			return 0;
	return 1;
}

int
mf__user_ok(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon)
		return user_part_ok(s, strlen(s));
	return user_part_ok(s, (size_t)(colon - s)) && user_part_ok(colon + 1, strlen(colon + 1));
}

/* An IANA zone name: Area[/Location…], each part letters, digits, '_', '+', '-'
 * and the first starting with a letter ("Europe/Paris", "Etc/GMT+5", "UTC"). */
int
mf__timezone_ok(const char *s)
{
	const char *part = s;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (;; s++) {
		if (*s == '/' || *s == '\0') {
			if (s == part)
				return 0;
			if (*s == '\0')
				return 1;
			part = s + 1;
		} else if (!(isalnum((unsigned char)*s) || strchr("_+-", *s))) {
			return 0;
		}
	}
}

/* A host path names one place: no '.' or '..' segment, which would make
 * "/var/backups/../../root" pass a check of its prefix. */
int
manifest_path_plain(const char *path)
{
	for (const char *seg = path;; seg++) {
		size_t n = strcspn(seg, "/");

		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		seg += n;
		if (!*seg)
			return 1;
	}
}

int
manifest_secret_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || !isalnum((unsigned char)s[0]) || strstr(s, ".."))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
manifest_image_pinned(const char *ref)
{
	const char *at = strstr(ref, "@sha256:");

	if (!at || at == ref || strchr(at + 1, '@'))
		return 0;
	at += 8;
	if (strlen(at) != 64)
		return 0;
	for (; *at; at++)
		if (!isdigit((unsigned char)*at) && !(*at >= 'a' && *at <= 'f'))
			return 0;
	return 1;
}

static int
lower_or_digit(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* One repository path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int
ref_component_ok(const char *s, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (i < n && lower_or_digit(s[i]))
			i++;
		if (i == start)
			return 0;
		if (i == n)
			return 1;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return 0;
		}
	}
}

/* A registry host: DNS labels joined by dots, then an optional :port. */
static int
ref_domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n, i = 0;

	if (colon && (n - hn < 2 || strspn(colon + 1, "0123456789") < n - hn - 1))
		return 0;
	while (i < hn) {
		size_t start = i;

		while (i < hn && (isalnum((unsigned char)s[i]) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;
		if (i < hn && (s[i] != '.' || ++i == hn))
			return 0;
	}
	return hn > 0;
}

/* Docker's reference grammar without the digest: [DOMAIN/]PATH[:TAG], PATH
 * lowercase components joined by '/'. What Docker would refuse at pull time
 * is refused here, before a rollout starts. */
static int
image_ref_ok(const char *ref, size_t n)
{
	const char *slash = NULL, *colon = NULL, *p, *first_end;
	size_t name_len;
	int all_paths = 1;

	for (p = ref; p < ref + n; p++) {
		if (*p == '/')
			slash = p;
		else if (*p == ':')
			colon = p;
	}
	if (colon && slash && colon < slash)
		colon = NULL;	/* a registry port, not a tag */
	if (colon) {
		size_t tlen = (size_t)(ref + n - colon - 1);

		if (tlen == 0 || tlen > 128 || !(isalnum((unsigned char)colon[1]) ||
		    colon[1] == '_'))
			return 0;
		for (p = colon + 1; p < ref + n; p++)
			if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
				return 0;
	}
	name_len = colon ? (size_t)(colon - ref) : n;
	if (name_len == 0)
		return 0;
	first_end = memchr(ref, '/', name_len);
	for (p = ref; p < ref + name_len;) {
		const char *e = memchr(p, '/', (size_t)(ref + name_len - p));

		if (!e)
			e = ref + name_len;
		if (!ref_component_ok(p, (size_t)(e - p))) {
			if (p != ref || !first_end)
				return 0;
			all_paths = 0;
		}
		p = e + 1;
		if (e < ref + name_len && p == ref + name_len)
			return 0;	/* a trailing '/' */
	}
	return all_paths || ref_domain_ok(ref, (size_t)(first_end - ref));
}

int
manifest_name_ok(const char *s)
{
	return mf__name_ok(s);
}

int
manifest_alias_ok(const char *s)
{
	return *s && mf__alias_ok(s);
}

int
manifest_env_name_ok(const char *s)
{
	return *s && mf__env_name_ok(s);
}

int
manifest_user_ok(const char *s)
{
	return mf__user_ok(s);
}

int
manifest_image_ref_ok(const char *ref)
{
	const char *at = strchr(ref, '@');

	if (at && !manifest_image_pinned(ref))
		return 0;
	return image_ref_ok(ref, at ? (size_t)(at - ref) : strlen(ref));
}

int
manifest_image_split(const char *ref, char **name, char **tag, char **digest)
{
	const char *at = strchr(ref, '@'), *end = at ? at : ref + strlen(ref);
	const char *colon = NULL;

	/* a ':' before the last '/' is a registry's port, not a tag */
	for (const char *p = ref; p < end; p++) {
		if (*p == '/')
			colon = NULL;
		else if (*p == ':')
			colon = p;
	}
	if ((colon ? colon : end) == ref)
		return -1;
	*name = xstrndup(ref, (size_t)((colon ? colon : end) - ref));
	*tag = colon ? xstrndup(colon + 1, (size_t)(end - colon - 1)) : xstrdup("");
	*digest = xstrdup(at ? at + 1 : "");
	return 0;
}

int
manifest_tag_ok(const char *tag)
{
	size_t n = strlen(tag);

	if (n < 1 || n > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
			return 0;
	return 1;
}

int
manifest_restart_ok(const char *r)
{
	if (strcmp(r, "no") == 0 || strcmp(r, "always") == 0 || strcmp(r, "unless-stopped") == 0 ||
	    strcmp(r, "on-failure") == 0)
		return 1;
	if (strncmp(r, "on-failure:", 11) == 0)	/* 1-99999 retries: 0 would mean never */
		return r[11] >= '1' && r[11] <= '9' && strspn(r + 11, "0123456789") ==
		    strlen(r + 11) && strlen(r + 11) < 6;
	return 0;
}

void
mf__check_image(struct mf__ctx *c, const struct yt_node *n, const char *path, const char *img,
    int kind)
{
	const char *at = strchr(img, '@');

	if (at && !manifest_image_pinned(img)) {
		mf__err_at(c, n, path, "invalid digest in image '%s' (expected @sha256: followed by 64 "
		    "lowercase hex digits)", img);
	} else if (!image_ref_ok(img, at ? (size_t)(at - img) : strlen(img))) {
		mf__err_at(c, n, path, "invalid image reference '%s' (expected [REGISTRY/]NAME[:TAG]"
		    "[@sha256:<64 hex>], NAME in lowercase)", img);
	} else if (kind == MF__IMAGE_SERVICE && !at) {
		mf__err_at(c, n, path, "image '%s' is not pinned by digest (expected repo@sha256:<64 hex>, "
		    "or set allow_tags: true)", img);
	} else if (kind == MF__IMAGE_HOOK && !at) {
		/* A hook runs once, before the rollout: nothing would show that a tag
		 * moved, so allow_tags does not reach it. */
		mf__err_at(c, n, path, "image '%s' is not pinned by digest (expected repo@sha256:<64 hex>; "
		    "allow_tags does not apply to hooks)", img);
	}
}

void
mf__check_name(struct mf__ctx *c, const struct yt_node *k, const char *path, const char *what)
{
	if (!mf__name_ok(k->value))
		mf__err_at(c, k, path, "invalid %s name '%s' (1-63 lowercase letters, digits, '_', '-'; "
		    "starting with a letter or digit)", what, k->value);
}

void
mf__check_secret_name(struct mf__ctx *c, const struct yt_node *n, const char *path,
    const char *name, const char *what)
{
	if (!manifest_secret_name_ok(name))
		mf__err_at(c, n, path, "%s name '%s' must be a plain file name in the secrets directory "
		    "(letters, digits, '.', '_', '-'; no '/' or '..')", what, name);
}
