/*
 * yamltree: libyaml events to a positioned node tree; see yamltree.h.
 */
#include "yamltree.h"
#include "strtab.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define NO_PAIR ((size_t)-1)

struct builder {
	struct yt_doc *doc;
	struct diag *d;
	struct strtab anchors;		/* anchor name -> its index in anodes */
	char **anames;			/* the names (owned), the table's keys */
	struct yt_node **anodes;	/* the node each anchor names now */
	size_t nanchors, capanchors;
	size_t aliased;			/* nodes repeated through aliases so far */
	size_t bom;		/* bytes of a leading BOM: libyaml does not count them */
	size_t last_char, last_byte;	/* cursor for char index -> byte offset */
	struct yt_node **stack;		/* open collections, outermost first */
	struct yt_node **pending_key;	/* per open mapping: the key awaiting its value */
	int depth;
	int docs;		/* documents started: a manifest is one */
	int failed;
};

/* The key path of the slot being filled in the innermost open collection, as
 * manifest errors spell it ("services.web.ports[0]"); when that collection is
 * a mapping waiting for a key, `key` is that key. */
static char *
slot_path(const struct builder *b, const char *key)
{
	struct buf p;

	buf_init(&p, 0);
	for (int i = 0; i < b->depth; i++) {
		const struct yt_node *c = b->stack[i];
		const char *k = b->pending_key[i] ? b->pending_key[i]->value :
		    i == b->depth - 1 ? key : NULL;

		if (c->type == YT_SEQ)
			buf_addf(&p, "[%zu]", c->n);
		else if (k)
			buf_addf(&p, "%s%s", p.len ? "." : "", k);
	}
	return buf_detach(&p, NULL);
}

/* An error about a node, with its key path (suffix is appended to it). */
static void __attribute__((format(printf, 6, 7)))
node_error(struct builder *b, int line, int col, const char *key, const char *suffix,
    const char *fmt, ...)
{
	char *path = slot_path(b, key), *full, *msg, *epath, *emsg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	full = xasprintf("%s%s%s", path, *path && suffix && *suffix != '[' ? "." : "",
	    suffix ? suffix : "");
	epath = yt_escape(full);
	emsg = yt_escape(msg ? msg : "out of memory");
	diag_add(b->d, line, col, epath, "%s", emsg);
	free(emsg);
	free(epath);
	free(full);
	free(msg);
	free(path);
	b->failed = 1;
}

static size_t
byte_offset(struct builder *b, size_t idx)
{
	const unsigned char *s = (const unsigned char *)b->doc->src;
	size_t c = b->last_char, o = b->last_byte;

	if (idx < c) {
		c = 0;
		o = b->bom;
	}
	while (c < idx && o < b->doc->len) {
		o++;
		while (o < b->doc->len && (s[o] & 0xc0) == 0x80)
			o++;
		c++;
	}
	b->last_char = c;
	b->last_byte = o;
	return o;
}

static struct yt_node *
new_node(struct builder *b, enum yt_type type, const yaml_mark_t *start)
{
	struct yt_doc *doc = b->doc;
	struct yt_node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (int)start->line + 1;
	n->col = (int)start->column + 1;
	n->start = byte_offset(b, start->index);
	n->weight = 1;
	if (doc->nall == doc->capall) {
		doc->capall = doc->capall ? doc->capall * 2 : 64;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		doc->all = xrealloc(doc->all, doc->capall * sizeof(*doc->all));
	}
	doc->all[doc->nall++] = n;
	return n;
}

static void
node_free(struct yt_node *n)
{
	free(n->value);
	free(n->tag);
	free(n->items);
	free(n->keys);
	if (n->index)
		strtab_release(n->index);
	free(n->index);
	free(n);
}

void
yt_free(struct yt_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->nall; i++)
		node_free(doc->all[i]);
	free(doc->all);
	free(doc);
}

/* The index of a mapping's keys, made once it has YT_INDEX_MIN of them; on a
 * duplicate (an error already reported) the first key stays, as a scan finds. */
static void
index_pair(struct yt_node *map, size_t i)
{
	if (map->index) {
		strtab_add(map->index, map->keys[i]->value, i, NULL);
		return;
	}
	if (map->n < YT_INDEX_MIN)
		return;
	map->index = xcalloc(1, sizeof(*map->index));
	strtab_init(map->index);
	for (size_t j = 0; j < map->n; j++)
		strtab_add(map->index, map->keys[j]->value, j, NULL);
}

static void
drop_index(struct yt_node *map)
{
	if (map->index)
		strtab_release(map->index);
	free(map->index);
	map->index = NULL;
}

static void
push_item(struct yt_node *parent, struct yt_node *key, struct yt_node *val)
{
	if ((parent->n & (parent->n - 1)) == 0) {	/* grow at powers of two */
		size_t cap = parent->n ? parent->n * 2 : 4;

		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		parent->items = xrealloc(parent->items, cap * sizeof(*parent->items));
		if (parent->type == YT_MAP)
			/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
			parent->keys = xrealloc(parent->keys, cap * sizeof(*parent->keys));
	}
	if (parent->type == YT_MAP)
		parent->keys[parent->n] = key;
	parent->items[parent->n++] = val;
	if (parent->type == YT_MAP)
		index_pair(parent, parent->n - 1);
}

/* The pair of key in map (keys are scalars: attach refuses others), or NO_PAIR. */
static size_t
find_pair(const struct yt_node *map, const char *key)
{
	size_t i;

	if (!map || map->type != YT_MAP)
		return NO_PAIR;
	if (map->index)
		return strtab_get(map->index, key, &i) ? i : NO_PAIR;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->value, key) == 0)
			return i;
	return NO_PAIR;
}

struct yt_node *
yt_get(const struct yt_node *map, const char *key)
{
	size_t i = find_pair(map, key);

	return i == NO_PAIR ? NULL : map->items[i];
}

struct yt_node *
yt_get_key(const struct yt_node *map, const char *key)
{
	size_t i = find_pair(map, key);

	return i == NO_PAIR ? NULL : map->keys[i];
}

static int
tagged(const struct yt_node *n, const char *name)
{
	static const char core[] = "tag:yaml.org,2002:";

	return n->tag && strncmp(n->tag, core, sizeof(core) - 1) == 0 &&
	    strcmp(n->tag + sizeof(core) - 1, name) == 0;
}

int
yt_is_null(const struct yt_node *n)
{
	if (!n)
		return 1;
	if (n->type != YT_SCALAR || tagged(n, "str"))
		return 0;
	if (tagged(n, "null"))
		return 1;
	if (n->style != YT_PLAIN || n->tag)
		return 0;
	return n->vlen == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	    strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

static int
all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

#define DIGITS "0123456789"

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, or .inf / .nan */
static int
is_float(const char *s)
{
	const char *p = s;
	size_t n;

	if (*p == '-' || *p == '+')
		p++;
	if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 || strcmp(p, ".INF") == 0)
		return 1;
	if (p == s && (strcmp(p, ".nan") == 0 || strcmp(p, ".NaN") == 0 || strcmp(p, ".NAN") == 0))
		return 1;
	n = strspn(p, DIGITS);
	p += n;
	if (*p == '.') {
		size_t frac = strspn(p + 1, DIGITS);

		if (n == 0 && frac == 0)
			return 0;
		p += 1 + frac;
	} else if (n == 0) {
		return 0;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		n = strspn(p, DIGITS);
		if (n == 0)
			return 0;
		p += n;
	}
	return *p == '\0';
}

static int
is_int(const char *s)
{
	if (strncmp(s, "0o", 2) == 0)
		return all_of(s + 2, "01234567");
	if (strncmp(s, "0x", 2) == 0)
		return all_of(s + 2, DIGITS "abcdefABCDEF");
	if (*s == '-' || *s == '+')
		s++;
	return all_of(s, DIGITS);
}

enum yt_kind
yt_kind(const struct yt_node *n)
{
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE" };

	if (!n || yt_is_null(n))
		return YT_KIND_NULL;
	if (n->type == YT_SEQ)
		return YT_KIND_SEQ;
	if (n->type == YT_MAP)
		return YT_KIND_MAP;
	if (tagged(n, "bool"))
		return YT_KIND_BOOL;
	if (tagged(n, "int"))
		return YT_KIND_INT;
	if (tagged(n, "float"))
		return YT_KIND_FLOAT;
	if (n->style != YT_PLAIN || n->tag)
		return YT_KIND_STR;
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (strcmp(n->value, bools[i]) == 0)
			return YT_KIND_BOOL;
	if (is_int(n->value))
		return YT_KIND_INT;
	if (is_float(n->value))
		return YT_KIND_FLOAT;
	return YT_KIND_STR;
}

const char *
yt_type_name(const struct yt_node *n)
{
	switch (yt_kind(n)) {
	case YT_KIND_NULL: return "null";
	case YT_KIND_BOOL: return "a boolean";
	case YT_KIND_INT: return "an integer";
	case YT_KIND_FLOAT: return "a number";
	case YT_KIND_STR: return "a string";
	case YT_KIND_SEQ: return "a list";
	case YT_KIND_MAP: return "a mapping";
	}
	return "?";
}

int
yt_int(const struct yt_node *n, long long *out)
{
	const char *s;
	char *end;
	int base = 10;

	if (yt_kind(n) != YT_KIND_INT || !is_int(n->value))
		return -1;
	s = n->value;
	if (strncmp(s, "0o", 2) == 0 || strncmp(s, "0x", 2) == 0) {
		base = s[1] == 'o' ? 8 : 16;
		s += 2;
	}
	errno = 0;
	*out = strtoll(s, &end, base);	/* base 10 reads 010 as ten, as YAML 1.2 does */
	return errno || *end ? -1 : 0;
}

char *
yt_path_key(const char *path, const char *key)
{
	return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

char *
yt_path_idx(const char *path, size_t i)
{
	return xasprintf("%s[%zu]", path, i);
}

char *
yt_escape(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			buf_adds(&b, "\\n");
		else if (c == '\t')
			buf_adds(&b, "\\t");
		else if (c == '\r')
			buf_adds(&b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_addf(&b, "\\x%02x", c);
		else
			buf_add(&b, s, 1);
	}
	return buf_detach(&b, NULL);
}

static int
is_merge_key(const struct yt_node *k)
{
	return k->type == YT_SCALAR && k->style == YT_PLAIN && strcmp(k->value, "<<") == 0;
}

/* Applies `<<` entries once the mapping is complete: keys written beside the
 * merge win, earlier merge sources win over later ones (YAML merge rules). */
static void
apply_merges(struct builder *b, struct yt_node *map)
{
	struct yt_node **keys = map->keys, **vals = map->items;
	size_t n = map->n, i;
	int any = 0;

	for (i = 0; i < n; i++)
		if (is_merge_key(keys[i]))
			any = 1;
	if (!any)
		return;
	map->keys = NULL;
	map->items = NULL;
	map->n = 0;
	drop_index(map);
	for (i = 0; i < n; i++)
		if (!is_merge_key(keys[i]))
			push_item(map, keys[i], vals[i]);
	for (i = 0; i < n; i++) {
		struct yt_node *src = vals[i], **srcs = &src;
		size_t nsrc = 1;

		if (!is_merge_key(keys[i]))
			continue;
		if (src->type == YT_SEQ) {
			srcs = src->items;
			nsrc = src->n;
		}
		for (size_t s = 0; s < nsrc; s++) {
			if (srcs[s]->type != YT_MAP) {
				char where[32] = "<<";

				if (src->type == YT_SEQ)
					snprintf(where, sizeof(where), "<<[%zu]", s);
				node_error(b, srcs[s]->line, srcs[s]->col, NULL, where,
				    "'<<' merges mappings only, found %s", yt_type_name(srcs[s]));
				continue;
			}
			for (size_t k = 0; k < srcs[s]->n; k++) {
				struct yt_node *key = srcs[s]->keys[k];

				if (find_pair(map, key->value) != NO_PAIR)
					continue;
				push_item(map, key, srcs[s]->items[k]);
			}
		}
	}
	free(keys);
	free(vals);
}

static void
add_anchor(struct builder *b, const yaml_char_t *name, struct yt_node *n)
{
	size_t i;

	if (!name)
		return;
	if (strtab_get(&b->anchors, (const char *)name, &i)) {
		b->anodes[i] = n;	/* a redefined anchor shadows the old one */
		return;
	}
	if (b->nanchors == b->capanchors) {
		b->capanchors = b->capanchors ? b->capanchors * 2 : 8;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		b->anames = xrealloc(b->anames, b->capanchors * sizeof(*b->anames));
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		b->anodes = xrealloc(b->anodes, b->capanchors * sizeof(*b->anodes));
	}
	b->anames[b->nanchors] = xstrdup((const char *)name);
	b->anodes[b->nanchors] = n;
	strtab_add(&b->anchors, b->anames[b->nanchors], b->nanchors, NULL);
	b->nanchors++;
}

static struct yt_node *
find_anchor(const struct builder *b, const yaml_char_t *name)
{
	size_t i;

	return strtab_get(&b->anchors, (const char *)name, &i) ? b->anodes[i] : NULL;
}

static const char *
yaml_problem(const yaml_parser_t *p)
{
	return p->problem ? p->problem : "syntax error";
}

/* Duplicate keys are an error: YAML forbids them and silently keeping one of
 * two image values is how a bad deploy happens. */
static void
check_duplicate(struct builder *b, const struct yt_node *map, const struct yt_node *key)
{
	size_t i;

	if (key->type != YT_SCALAR || is_merge_key(key))
		return;
	if ((i = find_pair(map, key->value)) != NO_PAIR)
		node_error(b, key->line, key->col, key->value, NULL,
		    "duplicate key '%s' (first at line %d)", key->value, map->keys[i]->line);
}

/* Refuses what libyaml must never see: an oversized document, invalid UTF-8
 * (reported at its line and column) and NUL bytes. */
static int
check_source(const char *src, size_t len, struct diag *d)
{
	size_t bad;

	if (len > YT_MAX_SIZE) {
		diag_add(d, 0, 0, "", "document is %zu bytes, more than the limit of %u bytes", len,
		    YT_MAX_SIZE);
		return -1;
	}
	if ((bad = utf8_invalid_at(src, len)) != (size_t)-1) {
		int line = 1, col = 1;

		for (size_t i = 0; i < bad; i++) {
			if (src[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)src[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		diag_add(d, line, col, "", "invalid UTF-8 (byte 0x%02x at offset %zu)",
		    (unsigned char)src[bad], bad);
		return -1;
	}
	if (memchr(src, '\0', len)) {
		diag_add(d, 0, 0, "", "document contains a NUL byte");
		return -1;
	}
	return 0;
}

static struct yt_node *
scalar_node(struct builder *b, const yaml_event_t *ev)
{
	struct yt_node *n = new_node(b, YT_SCALAR, &ev->start_mark);

	n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
	n->vlen = ev->data.scalar.length;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YT_SINGLE; break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YT_DOUBLE; break;
	case YAML_LITERAL_SCALAR_STYLE: n->style = YT_LITERAL; break;
	case YAML_FOLDED_SCALAR_STYLE: n->style = YT_FOLDED; break;
	default: n->style = YT_PLAIN; break;
	}
	if (ev->data.scalar.tag)
		n->tag = xstrdup((const char *)ev->data.scalar.tag);
	n->end = byte_offset(b, ev->end_mark.index);
	add_anchor(b, ev->data.scalar.anchor, n);
	return n;
}

/* The anchored node an alias stands for, into *out; -1 when there is none,
 * the alias sits inside it, or it would take the nodes aliases repeat past
 * YT_MAX_ALIAS_NODES. Errors about an alias are reported where it is written,
 * so *line and *col are set to that place. */
static int
alias_node(struct builder *b, const yaml_event_t *ev, struct yt_node **out, int *line, int *col)
{
	struct yt_node *n;

	*line = (int)ev->start_mark.line + 1;
	*col = (int)ev->start_mark.column + 1;
	n = find_anchor(b, ev->data.alias.anchor);
	if (!n) {
		node_error(b, *line, *col, NULL, NULL, "unknown alias '*%s'",
		    (const char *)ev->data.alias.anchor);
		return -1;
	}
	for (int i = 0; i < b->depth; i++) {
		if (b->stack[i] == n) {
			node_error(b, *line, *col, NULL, NULL,
			    "alias '*%s' refers to a node that contains it",
			    (const char *)ev->data.alias.anchor);
			return -1;
		}
	}
	/* Weights are bounded by the document's own nodes plus this limit, so
	 * neither the sum nor a weight can overflow. */
	if (n->weight > YT_MAX_ALIAS_NODES - b->aliased) {
		node_error(b, *line, *col, NULL, NULL, "alias '*%s' brings the nodes repeated "
		    "through aliases to %zu, more than the limit of %d (an alias bomb?)",
		    (const char *)ev->data.alias.anchor, b->aliased + n->weight, YT_MAX_ALIAS_NODES);
		return -1;
	}
	b->aliased += n->weight;
	*out = n;
	return 0;
}

/* A sequence or mapping starts: it becomes the innermost open collection. */
static int
open_collection(struct builder *b, const yaml_event_t *ev)
{
	int seq = ev->type == YAML_SEQUENCE_START_EVENT;
	const yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor :
	    ev->data.mapping_start.anchor;
	const yaml_char_t *tag = seq ? ev->data.sequence_start.tag :
	    ev->data.mapping_start.tag;
	int flow = seq ? ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE :
	    ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
	struct yt_node *n;

	if (b->depth >= YT_MAX_DEPTH) {
		node_error(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		    NULL, NULL, "nesting deeper than %d levels", YT_MAX_DEPTH);
		return -1;
	}
	n = new_node(b, seq ? YT_SEQ : YT_MAP, &ev->start_mark);
	n->style = flow ? YT_FLOW : YT_BLOCK;
	if (tag)
		n->tag = xstrdup((const char *)tag);
	add_anchor(b, anchor, n);
	b->stack[b->depth] = n;
	b->pending_key[b->depth] = NULL;
	b->depth++;
	return 0;
}

/* The innermost open collection ends: it is finished, into *out. */
static int
close_collection(struct builder *b, const yaml_event_t *ev, struct yt_node **out)
{
	struct yt_node *n;

	if (b->depth == 0) {	/* libyaml pairs them; never trust that blindly */
		node_error(b, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1, NULL, NULL,
		    "an end of collection without its start");
		return -1;
	}
	n = b->stack[--b->depth];
	n->end = byte_offset(b, ev->end_mark.index);
	if (n->type == YT_MAP)
		apply_merges(b, n);
	*out = n;
	return 0;
}

/* One parser event. *n is set to the node it finishes (a scalar, an alias
 * target or a closed collection), to be attached; *line and *col to where an
 * error about it goes when that is not the node's own place. Returns 1 at the
 * end of the stream, 0 to go on, -1 to stop (the error is reported). */
static int
on_event(struct builder *b, const yaml_event_t *ev, struct yt_node **n, int *line, int *col)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			diag_add(b->d, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "", "more than one YAML document; a manifest is one document");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		*n = scalar_node(b, ev);
		return 0;
	case YAML_ALIAS_EVENT:
		return alias_node(b, ev, n, line, col);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return open_collection(b, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(b, ev, n);
	default:
		return 0;
	}
}

/* Attaches a finished node (or alias target) to its parent: an item of a
 * sequence, or a mapping's key or value; at depth 0 it is the root. -1 when it
 * cannot be (a key that is not a scalar). */
static int
attach(struct builder *b, struct yt_node *n, int line, int col)
{
	struct yt_node *parent;

	if (!line) {
		line = n->line;
		col = n->col;
	}
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	parent->weight += n->weight;
	if (parent->type == YT_SEQ) {
		push_item(parent, NULL, n);
	} else if (!b->pending_key[b->depth - 1]) {
		if (n->type != YT_SCALAR) {
			node_error(b, line, col, NULL, NULL,
			    "mapping keys must be scalars, found %s", yt_type_name(n));
			return -1;
		}
		check_duplicate(b, parent, n);
		b->pending_key[b->depth - 1] = n;
	} else {
		push_item(parent, b->pending_key[b->depth - 1], n);
		b->pending_key[b->depth - 1] = NULL;
	}
	return 0;
}

int
yt_parse(struct yt_doc **out, const char *src, size_t len, struct diag *d)
{
	struct yt_node *stack[YT_MAX_DEPTH + 2];
	struct yt_node *pending_key[YT_MAX_DEPTH + 2];
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	struct yt_doc *doc;
	int st = 0, rc = -1;

	*out = NULL;
	if (check_source(src, len, d) < 0)
		return -1;

	doc = xcalloc(1, sizeof(*doc));
	doc->src = src;
	doc->len = len;
	memset(&b, 0, sizeof(b));
	strtab_init(&b.anchors);
	b.doc = doc;
	b.d = d;
	if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
		b.bom = 3;
	b.last_byte = b.bom;
	b.stack = stack;
	b.pending_key = pending_key;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)src, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (st == 0) {
		struct yt_node *n = NULL;
		int line = 0, col = 0;

		if (!yaml_parser_parse(&parser, &ev)) {
			diag_add(d, (int)parser.problem_mark.line + 1,
			    (int)parser.problem_mark.column + 1, "", "%s%s%s", yaml_problem(&parser),
			    parser.context ? " " : "", parser.context ? parser.context : "");
			goto out;
		}
		st = on_event(&b, &ev, &n, &line, &col);
		yaml_event_delete(&ev);
		if (st < 0 || (n && attach(&b, n, line, col) < 0))
			goto out;
	}
	if (b.failed)
		goto out;
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	yaml_parser_delete(&parser);
	strtab_release(&b.anchors);
	strv_free(b.anames, b.nanchors);
	free(b.anodes);
	yt_free(doc);
	return rc;
}
