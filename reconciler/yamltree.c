/*
 * yamltree: libyaml events to a positioned node tree; see yamltree.h.
 */
#include "yamltree.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct anchor {
	char *name;
	struct yt_node *node;
};

struct builder {
	struct yt_doc *doc;
	struct diag *d;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	size_t bom;		/* bytes of a leading BOM: libyaml does not count them */
	size_t last_char, last_byte;	/* cursor for char index -> byte offset */
	int failed;
};

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

static void
push_item(struct yt_node *parent, struct yt_node *key, struct yt_node *val)
{
	if ((parent->n & (parent->n - 1)) == 0) {	/* grow at powers of two */
		size_t cap = parent->n ? parent->n * 2 : 4;

		parent->items = xrealloc(parent->items, cap * sizeof(*parent->items));
		if (parent->type == YT_MAP)
			parent->keys = xrealloc(parent->keys, cap * sizeof(*parent->keys));
	}
	if (parent->type == YT_MAP)
		parent->keys[parent->n] = key;
	parent->items[parent->n++] = val;
}

struct yt_node *
yt_get(const struct yt_node *map, const char *key)
{
	if (!map || map->type != YT_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->type == YT_SCALAR && strcmp(map->keys[i]->value, key) == 0)
			return map->items[i];
	return NULL;
}

int
yt_is_null(const struct yt_node *n)
{
	if (!n)
		return 1;
	if (n->type != YT_SCALAR || n->style != YT_PLAIN)
		return 0;
	return n->vlen == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	    strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

const char *
yt_type_name(const struct yt_node *n)
{
	if (!n || yt_is_null(n))
		return "null";
	switch (n->type) {
	case YT_SCALAR: return "a scalar";
	case YT_SEQ: return "a list";
	case YT_MAP: return "a mapping";
	}
	return "?";
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
				diag_add(b->d, srcs[s]->line, srcs[s]->col, "",
				    "'<<' merges mappings only, found %s", yt_type_name(srcs[s]));
				b->failed = 1;
				continue;
			}
			for (size_t k = 0; k < srcs[s]->n; k++) {
				struct yt_node *key = srcs[s]->keys[k];

				if (key->type == YT_SCALAR && yt_get(map, key->value))
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
	if (!name)
		return;
	for (size_t i = 0; i < b->nanchors; i++) {
		if (strcmp(b->anchors[i].name, (const char *)name) == 0) {
			b->anchors[i].node = n;	/* a redefined anchor shadows the old one */
			return;
		}
	}
	if (b->nanchors == b->capanchors) {
		b->capanchors = b->capanchors ? b->capanchors * 2 : 8;
		b->anchors = xrealloc(b->anchors, b->capanchors * sizeof(*b->anchors));
	}
	b->anchors[b->nanchors].name = xstrdup((const char *)name);
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

static struct yt_node *
find_anchor(struct builder *b, const yaml_char_t *name)
{
	for (size_t i = b->nanchors; i-- > 0;)
		if (strcmp(b->anchors[i].name, (const char *)name) == 0)
			return b->anchors[i].node;
	return NULL;
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
	if (key->type != YT_SCALAR || is_merge_key(key))
		return;
	for (size_t i = 0; i < map->n; i++) {
		const struct yt_node *k = map->keys[i];

		if (k->type == YT_SCALAR && strcmp(k->value, key->value) == 0) {
			diag_add(b->d, key->line, key->col, key->value,
			    "duplicate key '%s' (first at line %d)", key->value, k->line);
			b->failed = 1;
			return;
		}
	}
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
	size_t bad, total = 0;
	int depth = 0, docs = 0, done = 0, rc = -1;

	*out = NULL;
	if (len > YT_MAX_SIZE) {
		diag_add(d, 0, 0, "", "document is %zu bytes, more than the limit of %u", len,
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

	doc = xcalloc(1, sizeof(*doc));
	doc->src = src;
	doc->len = len;
	memset(&b, 0, sizeof(b));
	b.doc = doc;
	b.d = d;
	if (len >= 3 && memcmp(src, "\xef\xbb\xbf", 3) == 0)
		b.bom = 3;
	b.last_byte = b.bom;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)src, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done) {
		struct yt_node *n = NULL, *parent;

		if (!yaml_parser_parse(&parser, &ev)) {
			diag_add(d, (int)parser.problem_mark.line + 1,
			    (int)parser.problem_mark.column + 1, "", "%s%s%s", yaml_problem(&parser),
			    parser.context ? " " : "", parser.context ? parser.context : "");
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				diag_add(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "", "more than one YAML document; a manifest is one document");
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_SCALAR_EVENT:
			n = new_node(&b, YT_SCALAR, &ev.start_mark);
			n->value = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
			n->vlen = ev.data.scalar.length;
			switch (ev.data.scalar.style) {
			case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YT_SINGLE; break;
			case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YT_DOUBLE; break;
			case YAML_LITERAL_SCALAR_STYLE: n->style = YT_LITERAL; break;
			case YAML_FOLDED_SCALAR_STYLE: n->style = YT_FOLDED; break;
			default: n->style = YT_PLAIN; break;
			}
			if (ev.data.scalar.tag)
				n->tag = xstrdup((const char *)ev.data.scalar.tag);
			n->end = byte_offset(&b, ev.end_mark.index);
			add_anchor(&b, ev.data.scalar.anchor, n);
			break;
		case YAML_ALIAS_EVENT:
			n = find_anchor(&b, ev.data.alias.anchor);
			if (!n) {
				diag_add(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "", "unknown alias '*%s'", (const char *)ev.data.alias.anchor);
				yaml_event_delete(&ev);
				goto out;
			}
			for (int i = 0; i < depth; i++) {
				if (stack[i] == n) {
					diag_add(d, (int)ev.start_mark.line + 1,
					    (int)ev.start_mark.column + 1, "",
					    "alias '*%s' refers to a node that contains it",
					    (const char *)ev.data.alias.anchor);
					yaml_event_delete(&ev);
					goto out;
				}
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			int seq = ev.type == YAML_SEQUENCE_START_EVENT;
			const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor :
			    ev.data.mapping_start.anchor;
			const yaml_char_t *tag = seq ? ev.data.sequence_start.tag :
			    ev.data.mapping_start.tag;
			int flow = seq ? ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE :
			    ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;

			if (depth >= YT_MAX_DEPTH) {
				diag_add(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				    "", "nesting deeper than %d levels", YT_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto out;
			}
			n = new_node(&b, seq ? YT_SEQ : YT_MAP, &ev.start_mark);
			n->style = flow ? YT_FLOW : YT_BLOCK;
			if (tag)
				n->tag = xstrdup((const char *)tag);
			add_anchor(&b, anchor, n);
			stack[depth] = n;
			pending_key[depth] = NULL;
			depth++;
			yaml_event_delete(&ev);
			continue;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = stack[--depth];
			n->end = byte_offset(&b, ev.end_mark.index);
			if (n->type == YT_MAP)
				apply_merges(&b, n);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (!n)
			continue;

		/* Attach the finished node (or alias target) to its parent. */
		if (depth == 0) {
			doc->root = n;
			total = n->weight;
		} else {
			parent = stack[depth - 1];
			parent->weight += n->weight;
			if (parent->type == YT_SEQ) {
				push_item(parent, NULL, n);
			} else if (!pending_key[depth - 1]) {
				if (n->type != YT_SCALAR) {
					diag_add(d, n->line, n->col, "",
					    "mapping keys must be scalars, found %s", yt_type_name(n));
					goto out;
				}
				check_duplicate(&b, parent, n);
				pending_key[depth - 1] = n;
			} else {
				push_item(parent, pending_key[depth - 1], n);
				pending_key[depth - 1] = NULL;
			}
			total = 0;
			for (int i = 0; i < depth; i++)
				total += stack[i]->weight;
		}
		if (total > YT_MAX_NODES || n->weight > YT_MAX_NODES) {
			diag_add(d, n->line, n->col, "",
			    "document expands to more than %d nodes through aliases (alias bomb?)",
			    YT_MAX_NODES);
			goto out;
		}
	}
	if (b.failed)
		goto out;
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	yaml_parser_delete(&parser);
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	yt_free(doc);
	return rc;
}
