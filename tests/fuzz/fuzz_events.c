/*
 * fuzz_events: the engine's event stream, hostile. The input is split into
 * lines, in chunks whose size the first byte picks and under a bound the
 * second one picks, and each line is decoded as an event: is it drift, and
 * where would the next stream resume. Every byte must be accounted for (in a
 * line, a newline or a skipped line) and no line may pass the bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "events.h"
#include "linesplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t bytes, bound;
	struct events_cursor cursor;
};

static int
on_line(char *line, size_t len, void *payload)
{
	struct seen *s = payload;
	char proj[128], svc[128], act[16], since[48];
	json_t *j;

	if (len > s->bound || line[len] != '\0' || memchr(line, '\n', len))
		__builtin_trap();
	s->bytes += len + 1;
	if (!(j = json_loadb(line, len, 0, NULL)))
		return 0;
	events_cursor_note(&s->cursor, j);
	events_cursor_open(&s->cursor, 1, since, sizeof(since));
	if (!memchr(since, '\0', sizeof(since)))
		__builtin_trap();
	if (events_relevant(j, proj, sizeof(proj), svc, sizeof(svc), act, sizeof(act)) &&
	    (!*proj || !*svc || strchr(proj, ' ') || strchr(svc, ' ') || strchr(svc, '\n')))
		__builtin_trap();
	json_decref(j);
	return 0;
}

static int
on_long(size_t len, void *payload)
{
	struct seen *s = payload;

	if (len <= s->bound)
		__builtin_trap();
	s->bytes += len + 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0, 0, EVENTS_CURSOR_INIT };
	struct linesplit ls;
	size_t chunk, off = 2, ends;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] + 1;
	s.bound = (size_t)data[1] * 16;
	linesplit_init(&ls, s.bound);
	while (off < size) {
		size_t k = size - off < chunk ? size - off : chunk;

		linesplit_feed(&ls, (const char *)data + off, k, on_line, on_long, &s);
		off += k;
	}
	/* the last line has no newline of its own: count it as if it had */
	ends = size > 2 && data[size - 1] != '\n' ? 1 : 0;
	linesplit_finish(&ls, on_line, on_long, &s);
	if (s.bytes != size - 2 + ends)
		__builtin_trap();
	linesplit_release(&ls);
	return 0;
}
