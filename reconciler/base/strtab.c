/*
 * strtab: see strtab.h. Open addressing with linear probing, at most half
 * full; nothing is ever removed.
 */
#include "strtab.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static unsigned char hash_key[16];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

/* Without getrandom (an old kernel, a sandbox) the clock and an address still
 * make the key unknown in advance to whoever writes the input. */
static void
hash_key_init(void)
{
	struct timespec ts;
	uint64_t mix[2];

	if (getrandom(hash_key, sizeof(hash_key), GRND_NONBLOCK) == (ssize_t)sizeof(hash_key))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	mix[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	mix[1] = (uint64_t)(uintptr_t)&ts ^ ((uint64_t)(uintptr_t)hash_key << 17);
	memcpy(hash_key, mix, sizeof(hash_key));
}

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t
load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3) do { \
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
} while (0)

uint64_t
strtab_siphash(const unsigned char k[16], const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + (len & ~(size_t)7);
	uint64_t k0 = load_le64(k), k1 = load_le64(k + 8), m, last;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;

	for (; p < end; p += 8) {
		m = load_le64(p);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	last = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		last |= (uint64_t)end[i] << (8 * i);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t
hash_str(const char *s)
{
	pthread_once(&hash_key_once, hash_key_init);
	return strtab_siphash(hash_key, s, strlen(s));
}

void
strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
}

void
strtab_release(struct strtab *t)
{
	free(t->v);
	strtab_init(t);
}

/* The slot of key: where it is, or the empty slot where it would go. */
static struct strtab_ent *
probe(const struct strtab *t, const char *key, uint64_t h)
{
	size_t mask = t->cap - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct strtab_ent *e = &t->v[i];

		if (!e->key || (e->hash == h && strcmp(e->key, key) == 0))
			return e;
	}
}

static void
grow(struct strtab *t)
{
	struct strtab old = *t;

	t->cap = old.cap ? old.cap * 2 : 16;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	for (size_t i = 0; i < old.cap; i++)
		if (old.v[i].key)
			*probe(t, old.v[i].key, old.v[i].hash) = old.v[i];
	free(old.v);
}

int
strtab_get(const struct strtab *t, const char *key, size_t *val)
{
	const struct strtab_ent *e;

	if (!t->n)
		return 0;
	e = probe(t, key, hash_str(key));
	if (!e->key)
		return 0;
	if (val)
		*val = e->val;
	return 1;
}

/* The slot of key, made when it is new (*added says so). */
static struct strtab_ent *
insert_slot(struct strtab *t, const char *key, int *added)
{
	uint64_t h = hash_str(key);
	struct strtab_ent *e;

	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	e = probe(t, key, h);
	*added = !e->key;
	if (*added) {
		e->key = key;
		e->hash = h;
		t->n++;
	}
	return e;
}

int
strtab_add(struct strtab *t, const char *key, size_t val, size_t *there)
{
	int added;
	struct strtab_ent *e = insert_slot(t, key, &added);

	if (!added) {
		if (there)
			*there = e->val;
		return 1;
	}
	e->val = val;
	return 0;
}

void
strtab_set(struct strtab *t, const char *key, size_t val)
{
	int added;

	insert_slot(t, key, &added)->val = val;
}
