/*
 * compose_yaml: writes the manifest text. A scalar is written plain only
 * where YAML cannot read it as anything else (a boolean, a number, a key),
 * quoted otherwise; the services are assembled from their rendered sections.
 */
#include "compose_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int
plain_ok(const char *s, int flow)
{
	static const char *const words[] = {
		"true", "false", "null", "yes", "no", "on", "off", "y", "n", NULL,
	};
	size_t n = strlen(s);

	if (n == 0 || n > 200 || !(isalpha((unsigned char)s[0]) || s[0] == '/' || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(isalnum(ch) || strchr(flow ? "_./-" : "_./@:+=-", ch)))
			return 0;
	}
	if (s[n - 1] == ':')
		return 0;
	for (size_t i = 0; words[i]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return 0;
	return 1;
}

void
compose__put_quoted(struct buf *b, const char *s)
{
	buf_adds(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else if (*p == '\t')
			buf_adds(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_addf(b, "\\x%02x", *p);
		else if (p[0] == 0xc2 && p[1] == 0x85)		/* NEL: a line break to YAML */
			buf_adds(b, "\\N"), p++;
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			buf_adds(b, p[2] == 0xa8 ? "\\L" : "\\P"), p += 2;
		else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
			buf_adds(b, "\\uFEFF"), p += 2;
		else
			buf_add(b, p, 1);
	}
	buf_adds(b, "\"");
}

void
compose__put_scalar(struct buf *b, const char *s)
{
	if (plain_ok(s, 0))
		buf_adds(b, s);
	else
		compose__put_quoted(b, s);
}

void
compose__put_flow_item(struct buf *b, const char *s)
{
	if (plain_ok(s, 1))
		buf_adds(b, s);
	else
		compose__put_quoted(b, s);
}

/* "  # text" with the text kept on one line. */
void
compose__put_comment(struct buf *b, const char *text)
{
	char *e = yt_escape(text);

	buf_addf(b, "   # %s", e);
	free(e);
}

void
compose__put_flow_list(struct buf *b, char *const *v, size_t n, int always_quote)
{
	buf_adds(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(b, ", ");
		if (always_quote)
			compose__put_quoted(b, v[i]);
		else
			compose__put_flow_item(b, v[i]);
	}
	buf_adds(b, "]");
}

/* --- the manifest --------------------------------------------------------- */

static void
emit_header(struct cctx *c, struct buf *b, const char *file)
{
	char *e = yt_escape(file);

	buf_addf(b, "# Converted from the Compose file %s by reconcilerctl import-compose.\n"
	    "# Review it before committing: keys that could not be mapped were reported\n"
	    "# on the standard error, and the secret files to create are listed at the end.\n"
	    "version: 1\nproject: %s\n", e, c->project);
	free(e);
}

static void
emit_secrets(struct cctx *c, struct buf *b)
{
	size_t w = 0;

	if (!c->nsecrets)
		return;
	for (size_t i = 0; i < c->nsecrets; i++)
		if (strlen(c->secrets[i].name) > w)
			w = strlen(c->secrets[i].name);
	buf_adds(b, "\n# Secret files to create in the secrets directory (reconcilerd's\n"
	    "# --secrets-dir, default /etc/reconciler/secrets), each holding only the value:\n");
	for (size_t i = 0; i < c->nsecrets; i++) {
		char *e = yt_escape(c->secrets[i].what);

		buf_addf(b, "#   %-*s  %s\n", (int)w, c->secrets[i].name, e);
		free(e);
	}
}

/* The manifest: the header, each service's sections in the manifest's
 * order, the top-level networks and volumes, the secret files to create. */
void
compose__write_manifest(struct cctx *c, struct buf *b, const char *file,
    const struct buf *nets, const struct buf *vols)
{
	emit_header(c, b, file);
	buf_adds(b, c->nsvcs ? "\nservices:\n" : "\nservices: {}\n");
	for (size_t i = 0; i < c->nsvcs; i++) {
		struct csvc *s = &c->svcs[i];

		buf_adds(b, i ? "\n  " : "  ");
		compose__put_scalar(b, s->name);
		buf_adds(b, ":\n");
		for (int k = 0; k < S_NSECTIONS; k++)
			if (s->sec[k].len)
				buf_add(b, s->sec[k].data, s->sec[k].len);
	}
	if (nets->len)
		buf_addf(b, "\nnetworks:\n%s", nets->data);
	if (vols->len)
		buf_addf(b, "\nvolumes:\n%s", vols->data);
	emit_secrets(c, b);
}
