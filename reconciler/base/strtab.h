/*
 * strtab: a hash index from strings to numbers (positions in an array the
 * caller owns), for input that may be hostile: the hash is SipHash-2-4 under a
 * key drawn at random once per process, so that no crafted set of keys (a
 * manifest's anchors or mapping keys) can make lookups quadratic.
 */
#ifndef RECONCILER_STRTAB_H
#define RECONCILER_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct strtab_ent {
	const char *key;	/* borrowed; NULL: an empty slot */
	uint64_t hash;
	size_t val;
};

struct strtab {
	struct strtab_ent *v;
	size_t cap, n;		/* cap: 0 or a power of two, at least twice n */
};
#define STRTAB_INIT { NULL, 0, 0 }

void strtab_init(struct strtab *t);
void strtab_release(struct strtab *t);
/* 1 with key's value in *val (when not NULL), 0 when key is absent. */
int strtab_get(const struct strtab *t, const char *key, size_t *val);
/* Adds key -> val unless key is there: 0 when added, 1 when it was there (its
 * value, unchanged, in *there when not NULL). The key is borrowed: it must
 * outlive the table. */
int strtab_add(struct strtab *t, const char *key, size_t val, size_t *there);
/* key -> val, added or replaced. */
void strtab_set(struct strtab *t, const char *key, size_t val);

/* SipHash-2-4 of len bytes under the 16-byte key k (exported for its test
 * vectors). */
uint64_t strtab_siphash(const unsigned char k[16], const void *data, size_t len);

#endif
