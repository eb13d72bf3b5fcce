/*
 * yamltree: reads one YAML document with libyaml into a tree of nodes that keep
 * their source position and byte span. It owns the defences against hostile
 * input: size and depth caps, alias-bomb expansion limit, strict UTF-8, one
 * document only, duplicate keys. Aliases share the anchored node; `<<` merges.
 */
#ifndef RECONCILER_YAMLTREE_H
#define RECONCILER_YAMLTREE_H

#include <stddef.h>

#include "diag.h"

#define YT_MAX_SIZE	(1u << 20)
#define YT_MAX_DEPTH	64
#define YT_MAX_NODES	100000

enum yt_type { YT_SCALAR, YT_SEQ, YT_MAP };

enum yt_style { YT_PLAIN, YT_SINGLE, YT_DOUBLE, YT_LITERAL, YT_FOLDED, YT_FLOW, YT_BLOCK };

struct yt_node {
	enum yt_type type;
	enum yt_style style;
	int line, col;		/* 1-based position of the node's first character */
	size_t start, end;	/* byte span in the source (scalars: quotes included) */
	char *value;		/* scalars: decoded text */
	size_t vlen;
	char *tag;		/* explicit tag or NULL */
	size_t n;		/* items (seq) or pairs (map) */
	struct yt_node **items;	/* seq items; map values */
	struct yt_node **keys;	/* map keys */
	size_t weight;		/* nodes this one stands for once aliases expand */
};

struct yt_doc {
	struct yt_node *root;	/* NULL for an empty document */
	const char *src;	/* borrowed */
	size_t len;
	struct yt_node **all;	/* every node, for freeing */
	size_t nall, capall;
};

/* Parses src (len bytes) into *out. Errors go to d (with positions) and the
 * return is -1; *out is NULL then. */
int yt_parse(struct yt_doc **out, const char *src, size_t len, struct diag *d);
void yt_free(struct yt_doc *doc);

/* Map lookup by key text; NULL when absent. */
struct yt_node *yt_get(const struct yt_node *map, const char *key);
int yt_is_null(const struct yt_node *n);	/* ~, null, empty plain scalar */
const char *yt_type_name(const struct yt_node *n);

#endif
