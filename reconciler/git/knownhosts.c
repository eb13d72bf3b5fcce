/*
 * knownhosts: see knownhosts.h. Follows sshd(8)'s SSH_KNOWN_HOSTS FILE
 * FORMAT: markers, comma-separated host patterns with `*`, `?` and `!`, the
 * `[host]:port` form for a port other than 22, and hashed `|1|salt|hash`
 * entries (HMAC-SHA1 of the name under the salt).
 */
#include "knownhosts.h"
#include "util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ssh's pattern match: `*` any run, `?` one character, case-insensitive.
 * Iterative with one backtrack point, so no pattern is exponential. */
static int
glob_match(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p && (*p == '?' ||
		    tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* base64 (no newlines) into out, at most max bytes; the decoded length or -1. */
static int
b64_decode(const char *in, size_t inlen, unsigned char *out, size_t max)
{
	int n;
	size_t pad = 0;

	if (inlen == 0 || inlen % 4 || inlen / 4 * 3 > max)
		return -1;
	while (pad < 2 && in[inlen - 1 - pad] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen)) < 0)
		return -1;
	return n - (int)pad;
}

/* |1|base64(salt)|base64(HMAC-SHA1(salt, name)) */
static int
hashed_match(const char *entry, const char *name)
{
	const char *salt = entry + 3, *bar = strchr(salt, '|');
	unsigned char key[64], want[64], got[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;
	int klen, wlen;

	if (!bar)
		return 0;
	klen = b64_decode(salt, (size_t)(bar - salt), key, sizeof(key));
	wlen = b64_decode(bar + 1, strlen(bar + 1), want, sizeof(want));
	if (klen <= 0 || wlen != 20 ||
	    !HMAC(EVP_sha1(), key, klen, (const unsigned char *)name, strlen(name), got, &glen))
		return 0;
	return glen == 20 && memcmp(got, want, 20) == 0;
}

/* sshd's match_hostname: 1 when a pattern of the list names `name` and no
 * negated one does. */
static int
hosts_match(char *list, const char *name)
{
	int got = 0;

	if (strncmp(list, "|1|", 3) == 0)
		return hashed_match(list, name);
	for (char *pat = list, *next; pat; pat = next) {
		int neg = pat[0] == '!';

		if ((next = strchr(pat, ',')))
			*next++ = '\0';
		if (!glob_match(pat + neg, name))
			continue;
		if (neg)
			return 0;
		got = 1;
	}
	return got;
}

/* Splits the next whitespace-separated field off *s; NULL at the end. */
static char *
field(char **s)
{
	char *f = *s, *end;

	while (*f == ' ' || *f == '\t')
		f++;
	if (!*f)
		return NULL;
	for (end = f; *end && *end != ' ' && *end != '\t'; end++)
		;
	if (*end)
		*end++ = '\0';
	*s = end;
	return f;
}

/* One line: -1 not about this host and key, else the line's verdict. */
static int
check_line(char *line, const char *name, const char *key_b64)
{
	char *marker = NULL, *hosts, *key;

	if (!(hosts = field(&line)) || hosts[0] == '#')
		return -1;
	if (hosts[0] == '@') {
		marker = hosts;
		if (!(hosts = field(&line)))
			return -1;
	}
	if (!field(&line) || !(key = field(&line)) || strcmp(key, key_b64) != 0)
		return -1;
	if (marker && strcmp(marker, "@revoked") != 0)
		return -1;	/* @cert-authority: a CA, not a host key */
	if (!hosts_match(hosts, name))
		return -1;
	return marker ? KNOWNHOSTS_REVOKED : KNOWNHOSTS_PINNED;
}

enum knownhosts_result
knownhosts_check(const char *text, size_t len, const char *host, int port, const char *key_b64)
{
	enum knownhosts_result res = KNOWNHOSTS_UNKNOWN;
	char *name = port == 22 ? xstrdup(host) : xasprintf("[%s]:%d", host, port);
	size_t at = 0;

	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char *line = xstrndup(text + at, n);
		int v;

		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		v = check_line(line, name, key_b64);
		free(line);
		at += n + 1;
		if (v == KNOWNHOSTS_REVOKED) {
			res = KNOWNHOSTS_REVOKED;
			break;
		}
		if (v == KNOWNHOSTS_PINNED)
			res = KNOWNHOSTS_PINNED;
	}
	free(name);
	return res;
}

int
knownhosts_url_port(const char *url)
{
	static const char *const schemes[] = { "ssh://", "ssh+git://", "git+ssh://", NULL };
	const char *auth = NULL, *end, *at, *p, *colon;
	long port;

	for (int i = 0; schemes[i] && !auth; i++)
		if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
			auth = url + strlen(schemes[i]);
	if (!auth)
		return 22;	/* scp-like user@host:path has no port */
	end = auth + strcspn(auth, "/");
	/* the host starts after the last '@' of the authority */
	for (at = auth; (p = memchr(at, '@', (size_t)(end - at))); at = p + 1)
		;
	if (*at == '[') {
		const char *rb = memchr(at, ']', (size_t)(end - at));

		colon = rb && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(at, ':', (size_t)(end - at));
	}
	if (!colon || colon + 1 >= end)
		return 22;
	{
		char digits[8];
		size_t n = (size_t)(end - colon - 1);

		if (n >= sizeof(digits))
			return 22;
		memcpy(digits, colon + 1, n);
		digits[n] = '\0';
		if (int_parse(digits, 1, 65535, &port) < 0)
			return 22;
	}
	return (int)port;
}
