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
	/* Never 0: len is at least 1. Bit 8 is left for GN_NSLOT_VERIFY. */
	return (uint32_t)(h >> 32 & 0xfffffe00u) | (uint32_t)len;
}

int
gn_names_init(struct gn_names *n, size_t expected)
{
	size_t size = 16;

	/* Linear probing stays short up to 3/4 full; the walk prefetches anyway. */
	while (size * 3 < expected * 4)
		size *= 2;
	memset(n, 0, sizeof(*n));
	if ((n->slots = calloc(size, sizeof(*n->slots))) == NULL)
		return -1;
	n->mask = (uint32_t)(size - 1);
	return 0;
}

void
gn_names_free(struct gn_names *n)
{
	free(n->slots);
	memset(n, 0, sizeof(*n));
}

static uint64_t
key_hash(const char *key, size_t len)
{
	uint64_t h = HASH_SEED;

	while (len-- > 0)
		h = hash_step(h, (unsigned char)key[len]);
	return hash_mix(h);
}

static int
grow(struct gn_names *n, const char *arena)
{
	struct gn_names bigger;
	uint32_t i, j;

	if (gn_names_init(&bigger, ((size_t)n->mask + 1) * 3 / 2) == -1)
		return -1;
	for (i = 0; i <= n->mask; i++) {
		const struct gn_nslot *s = &n->slots[i];
		uint32_t check = s->check & ~GN_NSLOT_VERIFY, verify = s->check & GN_NSLOT_VERIFY;

		if (s->check == 0)
			continue;
		/* New neighbours may share a check: mark them as insert() does. */
		j = (uint32_t)key_hash(arena + s->key, s->check & 0xff) & bigger.mask;
		for (; bigger.slots[j].check; j = (j + 1) & bigger.mask)
			if ((bigger.slots[j].check & ~GN_NSLOT_VERIFY) == check) {
				bigger.slots[j].check |= GN_NSLOT_VERIFY;
				verify = GN_NSLOT_VERIFY;
			}
		bigger.slots[j] = *s;
		bigger.slots[j].check = check | verify;
	}
	bigger.count = n->count;
	free(n->slots);
	*n = bigger;
	return 0;
}

/* Find or insert key (hash h); interior nodes are inserted with no rule. */
static struct gn_nslot *
insert(struct gn_names *n, const char *arena, uint32_t key, size_t len, uint64_t h)
{
	uint32_t check, i;
	struct gn_nslot *s, *twin = NULL;

	if ((n->count + 1) * 4 > ((size_t)n->mask + 1) * 3 && grow(n, arena) == -1)
		return NULL;
	check = slot_check(h, len);
	for (i = (uint32_t)h & n->mask;; i = (i + 1) & n->mask) {
		s = &n->slots[i];
		if (s->check == 0)
			break;
		if ((s->check & ~GN_NSLOT_VERIFY) != check)
			continue;
		if (memcmp(arena + s->key, arena + key, len) == 0)
			return s;
		twin = s;
	}
	s->check = check;
	s->key = key;
	s->exact = -1;
	s->wild = -1;
	if (twin != NULL) {
		/* Same check, other key: lookups must compare these keys. */
		for (i = (uint32_t)h & n->mask; &n->slots[i] != s; i = (i + 1) & n->mask)
			if ((n->slots[i].check & ~GN_NSLOT_VERIFY) == check)
				n->slots[i].check |= GN_NSLOT_VERIFY;
		s->check |= GN_NSLOT_VERIFY;
	}
	n->count++;
	return s;
}

int
gn_names_add(struct gn_names *n, const char *arena, uint32_t key, int wild, int32_t vc)
{
	struct gn_nslot *s;
	size_t len = strlen(arena + key), i;
	uint64_t h = HASH_SEED;
	int32_t *slot;

	/* Every suffix, shortest first, hashed as the lookup walk hashes them. */
	for (i = len; i-- > 0;) {
		if (arena[key + i] == '.' &&
		    insert(n, arena, key + (uint32_t)i + 1, len - i - 1, hash_mix(h)) == NULL)
			return -1;
		h = hash_step(h, (unsigned char)arena[key + i]);
	}
	if ((s = insert(n, arena, key, len, hash_mix(h))) == NULL)
		return -1;
	slot = wild ? &s->wild : &s->exact;
	if (*slot == -1 || (GN_VC_IS_EXCEPT(vc) && !GN_VC_IS_EXCEPT(*slot)))
		*slot = vc;
	return 0;
}

/*
 * Probe for the suffix at buf + pos. An interior node is trusted on its
 * check alone (a wrong one only costs a deeper probe, since every rule found
 * is confirmed against its key); a node with a rule, or one whose check
 * another key shares, is confirmed byte for byte.
 */
static inline const struct gn_nslot *
probe(const struct gn_names *n, const char *arena, uint64_t h, const unsigned char *key,
    size_t len)
{
	uint32_t check = slot_check(h, len), i = (uint32_t)h & n->mask;
	const struct gn_nslot *s;

	for (;; i = (i + 1) & n->mask) {
		s = &n->slots[i];
		if (s->check == 0)
			return NULL;
		if ((s->check & ~GN_NSLOT_VERIFY) != check)
			continue;
		if (!(s->check & GN_NSLOT_VERIFY) && s->exact == -1 && s->wild == -1)
			return s;
		if (memcmp(arena + s->key, key, len) == 0)
			return s;
	}
}

/* WHATWG: a last label of digits, or 0x and hex digits, makes a host an IPv4 attempt. */
static int
numeric_label(const char *s, const char *end)
{
	int hex = end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (s == end || (!hex && (*s < '0' || *s > '9')))
		return 0;
	for (s += hex ? 2 : 0; s < end; s++)
		if (!((*s >= '0' && *s <= '9') ||
		    (hex && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))))
			return 0;
	return 1;
}

int32_t
gn_names_match(const struct gn_names *n, const char *arena, const char *name, size_t len,
    int *valid)
{
	const struct gn_nslot *s;
	unsigned char buf[256], c;
	uint64_t h = HASH_SEED, hs[128];
	uint8_t at[128];		/* where each suffix starts, shortest first */
	int32_t list = -1, except = -1;
	size_t i, k, nb = 0, end = len;

	*valid = 0;
	if (len == 0 || len > 253)
		return -1;
	/* One pass from the right: check and lowercase every byte, hash every suffix. */
	for (i = len; i-- > 0;) {
		if ((c = name_map[(unsigned char)name[i]]) == 0)
			return -1;
		if (c == '.') {
			if (i + 1 == end || end - i - 1 > 63)
				return -1;		/* empty or over-long label */
			if (end == len && numeric_label(name + i + 1, name + len)) {
				*valid = 2;		/* an address attempt, not a name */
				return -1;
			}
			end = i;
			hs[nb] = hash_mix(h);
			at[nb++] = (uint8_t)(i + 1);
		}
		buf[i] = c;
		h = hash_step(h, c);
	}
	if (end == 0 || end > 63)
		return -1;				/* leading dot, over-long label */
	if (end == len && numeric_label(name, name + len)) {
		*valid = 2;
		return -1;
	}
	*valid = 1;
	hs[nb] = hash_mix(h);
	at[nb++] = 0;
	/* The probes below depend on each other's outcome, not on each other's loads. */
	for (k = 0; k < nb; k++)
		__builtin_prefetch(&n->slots[(uint32_t)hs[k] & n->mask]);
	for (k = 0; k < nb; k++) {
		if ((s = probe(n, arena, hs[k], buf + at[k], len - at[k])) == NULL)
			break;
		/* Deeper beats shallower; at the whole name the host rule beats the wildcard. */
		if (s->wild != -1)
			*(GN_VC_IS_EXCEPT(s->wild) ? &except : &list) = s->wild;
		if (k + 1 == nb && s->exact != -1)
			*(GN_VC_IS_EXCEPT(s->exact) ? &except : &list) = s->exact;
	}
	return except != -1 ? except : list;
}

void
gn_name_reverse_labels(const char *name, size_t len, char *out)
{
	size_t o = 0, end = len, i;

	while (end > 0) {
		for (i = end; i > 0 && name[i - 1] != '.'; i--)
			;
		memcpy(out + o, name + i, end - i);
		o += end - i;
		if (i > 0)
			out[o++] = '.';
		end = i > 0 ? i - 1 : 0;
	}
	out[o] = '\0';
}
