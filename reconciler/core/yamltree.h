/*
 * yamltree: reads one YAML document with libyaml into a tree of nodes that keep
 * their source position and byte span. It owns the defences against hostile
 * input: size and depth caps, a limit on what aliases repeat (alias bombs),
 * strict UTF-8, one document only, duplicate keys; anchors and the keys of big
 * mappings are hash-indexed, so no document is quadratic to read. Aliases
 * share the anchored node; `<<` merges.
 */
#ifndef RECONCILER_YAMLTREE_H
#define RECONCILER_YAMLTREE_H

#include <stddef.h>

#include "diag.h"

#define YT_MAX_SIZE	(1u << 20)	/* bytes of a document */
#define YT_MAX_DEPTH	64		/* nested collections, the root included */
/* Nodes that aliases may repeat, summed over every alias (an alias of a
 * mapping of 10 nodes repeats 10). About what a document of YT_MAX_SIZE can
 * hold by itself (two bytes a node at best), so aliases can at most double
 * the work a document asks of its readers, and a billion laughs stop here. */
#define YT_MAX_ALIAS_NODES	500000
/* Mappings of at least this many keys get a hash index (yt_get, duplicates). */
#define YT_INDEX_MIN	8

struct strtab;

enum yt_type { YT_SCALAR, YT_SEQ, YT_MAP };

enum yt_style { YT_PLAIN, YT_SINGLE, YT_DOUBLE, YT_LITERAL, YT_FOLDED, YT_FLOW, YT_BLOCK };

/* What a node is under the YAML 1.2 core schema (the schema the JSON Schema
 * side reads with): plain `8080` is an integer, `1.5` a number, `true` a
 * boolean, `~` or nothing null, `yes` and `2024-01-01` strings; a quoted or
 * block scalar is always a string. */
enum yt_kind { YT_KIND_NULL, YT_KIND_BOOL, YT_KIND_INT, YT_KIND_FLOAT, YT_KIND_STR,
	YT_KIND_SEQ, YT_KIND_MAP };

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
	struct strtab *index;	/* maps of YT_INDEX_MIN keys or more: key -> pair */
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

/* Map lookup by key text; NULL when absent. yt_get gives the value,
 * yt_get_key the key node (for a message's position). */
struct yt_node *yt_get(const struct yt_node *map, const char *key);
struct yt_node *yt_get_key(const struct yt_node *map, const char *key);
int yt_is_null(const struct yt_node *n);	/* ~, null, empty plain scalar */
enum yt_kind yt_kind(const struct yt_node *n);	/* NULL is null */
/* "a string", "an integer", "null", "a list"…, for "found %s" in messages. */
const char *yt_type_name(const struct yt_node *n);
/* A YAML 1.2 integer ([-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+) into *out; -1 when
 * n is not one or does not fit. */
int yt_int(const struct yt_node *n, long long *out);
/* s with control characters spelled \n, \t, \xNN, so that a message stays on
 * one line whatever a key or value holds. The caller frees it. */
char *yt_escape(const char *s);
/* The path of a mapping's key ("services.web" from "services" and "web"; the
 * key alone at the root) and of a list's item ("ports[0]"), for messages.
 * The caller frees them. */
char *yt_path_key(const char *path, const char *key);
char *yt_path_idx(const char *path, size_t i);

#endif
