/* SPDX-License-Identifier: BSD-2-Clause */
/* Host names: a reversed-label trie kept in one hash, walked from the right. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Bytes a host name may hold, lowercased; '.' separates labels; 0 never
 * matches. Names are ASCII (A-labels): anything else is not on any list.
 */
static const unsigned char name_map[256] = {
	['-'] = '-', ['.'] = '.', ['_'] = '_',
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
#define L(c) [c] = c, [c - 'a' + 'A'] = c
	L('a'), L('b'), L('c'), L('d'), L('e'), L('f'), L('g'), L('h'), L('i'),
	L('j'), L('k'), L('l'), L('m'), L('n'), L('o'), L('p'), L('q'), L('r'),
	L('s'), L('t'), L('u'), L('v'), L('w'), L('x'), L('y'), L('z'),
#undef L
};

#define HASH_SEED	0x9e3779b97f4a7c15ULL

/* Cheap per byte; the mix at each label boundary does the real work. */
static inline uint64_t
hash_step(uint64_t h, unsigned char c)
{
	return (h << 7 | h >> 57) ^ c;
}

static inline uint64_t
hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline uint32_t
slot_check(uint64_t h, size_t len)
{
	/* Never 0: len is at least 1. */
	return (uint32_t)(h >> 32 & 0xffffff00u) | (uint32_t)len;
}

int
gn_names_init(struct gn_names *n, size_t expected)
{
	size_t size = 16;

	/* Load factor at most 1/2 keeps probe chains short. */
	while (size < expected * 2)
		size *= 2;
	memset(n, 0, sizeof(*n));
	if ((n->slots = malloc(size * sizeof(*n->slots))) == NULL)
		return -1;
	memset(n->slots, 0, size * sizeof(*n->slots));
	n->mask = (uint32_t)(size - 1);
	return 0;
}

void
gn_names_free(struct gn_names *n)
{
	free(n->slots);
	memset(n, 0, sizeof(*n));
}

static inline const struct gn_nslot *
probe(const struct gn_names *n, const char *arena, uint64_t h, const char *key, size_t len)
{
	uint32_t check = slot_check(h, len), i = (uint32_t)h & n->mask;
	const struct gn_nslot *s;

	for (;; i = (i + 1) & n->mask) {
		s = &n->slots[i];
		if (s->check == 0)
			return NULL;
		if (s->check == check && memcmp(arena + s->key, key, len) == 0)
			return s;
	}
}

static int
grow(struct gn_names *n, const char *arena)
{
	struct gn_names bigger;
	uint32_t i, j;

	if (gn_names_init(&bigger, (size_t)n->mask + 1) == -1)
		return -1;
	for (i = 0; i <= n->mask; i++) {
		const struct gn_nslot *s = &n->slots[i];
		uint64_t h = HASH_SEED;
		size_t len = s->check & 0xff, k;

		if (s->check == 0)
			continue;
		for (k = len; k-- > 0;)
			h = hash_step(h, (unsigned char)arena[s->key + k]);
		h = hash_mix(h);
		for (j = (uint32_t)h & bigger.mask; bigger.slots[j].check; j = (j + 1) & bigger.mask)
			;
		bigger.slots[j] = *s;
	}
	bigger.count = n->count;
	free(n->slots);
	*n = bigger;
	return 0;
}

/* Find or insert key; interior nodes are inserted with no rule. */
static struct gn_nslot *
insert(struct gn_names *n, struct gn_arena *a, uint64_t h, const char *key, size_t len)
{
	uint32_t check = slot_check(h, len), i;
	struct gn_nslot *s;
	uint32_t off;

	if ((n->count + 1) * 2 > (size_t)n->mask + 1 && grow(n, a->buf) == -1)
		return NULL;
	for (i = (uint32_t)h & n->mask;; i = (i + 1) & n->mask) {
		s = &n->slots[i];
		if (s->check == 0)
			break;
		if (s->check == check && memcmp(a->buf + s->key, key, len) == 0)
			return s;
	}
	/* key may point into the arena: copy before it can move. */
	if ((off = gn_arena_add(a, key, len)) == UINT32_MAX)
		return NULL;
	s->check = check;
	s->key = off;
	s->exact = GN_NONE;
	s->wild = GN_NONE;
	n->count++;
	return s;
}

int32_t
gn_names_add(struct gn_names *n, struct gn_arena *a, const char *key, size_t len, int wild,
    int32_t rule)
{
	struct gn_nslot *s = NULL;
	uint64_t h = HASH_SEED;
	char buf[256];
	size_t i;
	int32_t *slot;

	if (len == 0 || len >= sizeof(buf))
		return -2;
	memcpy(buf, key, len);	/* key may live in the arena, which insert() grows */
	for (i = len; i-- > 0;) {
		if (buf[i] == '.' && (s = insert(n, a, hash_mix(h), buf + i + 1, len - i - 1)) == NULL)
			return -2;
		h = hash_step(h, (unsigned char)buf[i]);
	}
	if ((s = insert(n, a, hash_mix(h), buf, len)) == NULL)
		return -2;
	slot = wild ? &s->wild : &s->exact;
	if (*slot != GN_NONE)
		return *slot;
	*slot = rule;
	return GN_NONE;
}

int32_t
gn_names_match(const struct gn_names *n, const char *arena, const char *name, size_t len,
    int *valid)
{
	const struct gn_nslot *s;
	unsigned char buf[256], c;
	uint64_t h = HASH_SEED;
	int32_t best = GN_NONE;
	size_t i, end = len;

	*valid = 0;
	if (len == 0 || len > 253)
		return GN_NONE;
	for (i = len; i-- > 0;) {
		if ((c = name_map[(unsigned char)name[i]]) == 0)
			return GN_NONE;
		if (c == '.') {
			if (i + 1 == end)
				return GN_NONE;		/* empty label */
			end = i;
			if (n->mask == 0 ||
			    (s = probe(n, arena, hash_mix(h), (char *)buf + i + 1, len - i - 1)) == NULL)
				goto validate;
			if (s->wild != GN_NONE)
				best = s->wild;
		}
		buf[i] = c;
		h = hash_step(h, c);
	}
	if (end == 0)
		return GN_NONE;				/* leading dot */
	*valid = 1;
	if (n->mask == 0 || (s = probe(n, arena, hash_mix(h), (char *)buf, len)) == NULL)
		return best;
	if (s->exact != GN_NONE)
		return s->exact;
	return s->wild != GN_NONE ? s->wild : best;

validate:
	/* No longer name can be listed; finish checking the bytes for the caller. */
	for (; i-- > 0; end = name[i] == '.' ? i : end)
		if (name_map[(unsigned char)name[i]] == 0 || (name[i] == '.' && i + 1 == end))
			return GN_NONE;
	if (end == 0)
		return GN_NONE;
	*valid = 1;
	return best;
}
