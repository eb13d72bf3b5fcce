/* libFuzzer target: the status page renders whatever the status and history
 * documents hold (commit subjects, reasons and error texts come from Git and
 * the engine) into HTML that is valid UTF-8 and carries no markup of theirs.
 * The input is escaped as is, then read as JSON: an object is the status
 * (its "history" key, if any, the history), an array the history. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statuspage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
among(const char *s, size_t n, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strlen(list[i]) == n && strncmp(s, list[i], n) == 0)
			return 1;
	return 0;
}

/* 1 when every tag of html is one the page writes, with only the page's
 * attributes, each value double-quoted: nothing from the documents became
 * markup. */
static int
own_markup(const char *html)
{
	static const char *const tags[] = { "!DOCTYPE", "html", "head", "meta", "title", "style",
	    "body", "main", "header", "h1", "h2", "p", "span", "code", "div", "ul", "li",
	    "section", "table", "thead", "tbody", "tr", "th", "td", "b", "a", "time", "footer",
	    NULL };
	static const char *const attrs[] = { "lang", "charset", "name", "content", "http-equiv",
	    "class", "title", "href", "id", "datetime", "data-l", "html", NULL };
	const char *s = html;

	while ((s = strchr(s, '<'))) {
		size_t n;

		s++;
		if (*s == '/')
			s++;
		n = strcspn(s, " >");
		if (!among(s, n, tags))
			return 0;
		s += n;
		while (*s == ' ') {
			s++;
			n = strcspn(s, "= >");
			if (!among(s, n, attrs))
				return 0;
			s += n;
			if (*s == '=') {
				if (s[1] != '"' || !(s = strchr(s + 2, '"')))
					return 0;
				s++;
			}
		}
		if (*s != '>')
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statuspage_options o = STATUSPAGE_OPTIONS_INIT;
	char *text = malloc(size + 1);
	json_t *doc, *st = NULL, *hist = NULL;
	struct buf b;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	buf_init(&b, 0);
	if (statuspage_escape(&b, text) < 0 || strpbrk(b.len ? b.data : "", "<>\"'") ||
	    utf8_invalid_at(b.data ? b.data : "", b.len) != (size_t)-1)
		abort();
	buf_release(&b);
	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (json_is_object(doc)) {
		st = doc;
		hist = json_object_get(doc, "history");
	} else if (json_is_array(doc)) {
		hist = doc;
	}
	o.now = 1700000000;
	buf_init(&b, 0);
	if (statuspage_render(&b, st, hist, &o) < 0 || utf8_invalid_at(b.data, b.len) !=
	    (size_t)-1 || !own_markup(b.data))
		abort();
	buf_release(&b);
	json_decref(doc);
	free(text);
	return 0;
}
