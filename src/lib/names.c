/* SPDX-License-Identifier: BSD-2-Clause */
/* Host names: every listed name in one hash, probed once for each suffix of a name. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

/*
 * x86-64 machines with AVX-512 (VBMI: a byte table lookup in one
 * instruction) classify a name with a few vector instructions; others use
 * SSE2 or plain C. The choice is made when a table is made.
 */
#if defined(__SSE2__) && defined(__x86_64__) && defined(__GNUC__) && !defined(GN_NO_AVX512)
#define GN_AVX512	1
#include <immintrin.h>
#endif

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
#define HASH_P0		0xa0761d6478bd642fULL
#define HASH_P1		0xe7037ed1a0b428dbULL

/* Longest name; buffers holding one keep KEY_PAD zero bytes after it for whole-vector loads. */
#define NAME_MAX_LEN	253
#define NAME_BUF	(256 + KEY_PAD)

#ifndef __SSE2__
/* Bytes 0..n-1 of a word kept, as loaded little-endian (n <= 8). */
static const uint64_t tail_mask[9] = {
	0, 0xffULL, 0xffffULL, 0xffffffULL, 0xffffffffULL, 0xffffffffffULL,
	0xffffffffffffULL, 0xffffffffffffffULL, ~0ULL,
};
#endif

static inline uint64_t
load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Multiply and fold: the mixing step of the wyhash family. */
static inline uint64_t
mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/*
 * The hash of a suffix (at p, lowercase, its name's end followed by zero
 * bytes) from its parent's (h) and its leftmost label (len bytes): sixteen
 * bytes at a time, as many as cover the label. The last sixteen may run on
 * into the parent or the zeros after the name, which are the suffix's too.
 */
static inline uint64_t
label_hash(uint64_t h, const unsigned char *p, size_t len)
{
	size_t n = len;

	for (; n > 16; n -= 16, p += 16)
		h = mum(load64(p) ^ h ^ HASH_P0, load64(p + 8) ^ HASH_P1);
	return mum(load64(p) ^ h ^ HASH_P0, load64(p + 8) ^ HASH_P1 ^ len);
}

/*
 * A byte per slot, scanned sixteen at a time, says which slots may hold a
 * hash and where the probe sequence ends: a miss costs one look at a small
 * array instead of a walk over the big one.
 */
static inline uint8_t
slot_tag(uint64_t h)
{
	return (uint8_t)(0x80 | h >> 57);
}

/*
 * A lookup reads each listed name once, in its record: no pointer to
 * follow from a slot to the key, whose load would wait for the slot's.
 * The records lie in slot order, packed; a slot's is found from the
 * offset of the first in its block of 64 slots (base: 16 KB at 262,144
 * slots, which stays in the nearest caches) and 16 bits per slot: how far
 * past that its own starts, in 4-byte units (63 records of at most 67
 * units each before it fit). A record holds:
 *
 *	verdict code	int32: the wildcard rule's, else the host rule's
 *	length		the key's
 *	flags		REC_WILD, REC_EXACT: which rules the key has
 *	key		lowercase, then zero bytes to a multiple of four
 *	verdict code	int32: the host rule's, when it has both
 */
#define REC_LEN		4
#define REC_FLAGS	5
#define REC_KEY		6
#define REC_WILD	1u
#define REC_EXACT	2u
#define REC_MAX		(REC_KEY + NAME_MAX_LEN + 3 + 4)
_Static_assert(63 * ((REC_MAX + 3) / 4) <= UINT16_MAX, "a record's place past its 64's fits 16 bits");

/* The offset of the second verdict code of a record whose key has len bytes. */
static inline size_t
rec_second(size_t len)
{
	return (REC_KEY + len + 3) & ~(size_t)3;
}

/* While loading: a rule whose key is in already, applied when the table is done. */
struct gn_nmore {
	uint32_t	slot;
	uint32_t	code;		/* as in first[] */
};

/* A rule's code while loading: its verdict code, and whether it is the wildcard's. */
#define MORE_WILD	0x80000000u

static gn_classify_fn *pick_classify(void);

int
gn_names_init(struct gn_names *n, size_t expected)
{
	size_t size = 16;

	/* Linear probing stays short up to 3/4 full, and the tags make misses cheap. */
	while (size * 3 < expected * 4)
		size *= 2;
	memset(n, 0, sizeof(*n));
	/* Zeroed, and in huge pages when big (mem.c). */
	if ((n->tags = gn_mem_alloc(size + 16)) == NULL ||
	    (n->at = gn_mem_alloc(size * sizeof(*n->at))) == NULL ||
	    (n->first = gn_mem_alloc(size * sizeof(*n->first))) == NULL) {
		gn_names_free(n);
		return -1;
	}
	n->mask = (uint32_t)(size - 1);
	n->minlabels = UINT8_MAX;	/* no key yet: no suffix is looked up */
	n->classify = pick_classify();
	return 0;
}

void
gn_names_free(struct gn_names *n)
{
	gn_mem_free(n->tags);
	gn_mem_free(n->at);
	gn_mem_free(n->base);
	gn_mem_free(n->recs);
	gn_mem_free(n->first);
	free(n->more);
	memset(n, 0, sizeof(*n));
}

/*
 * Are the n bytes (1 to 253) at a and b the same? Both have KEY_PAD
 * readable bytes past n (the arena and the lookup's buffer keep them).
 * Thirty-two bytes a step: most keys take one, with no branch on n.
 */
static inline int
key_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
#ifdef __SSE2__
	for (;; a += 32, b += 32, n -= 32) {
		__m128i a0 = _mm_loadu_si128((const __m128i *)(const void *)a);
		__m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)b);
		__m128i a1 = _mm_loadu_si128((const __m128i *)(const void *)(a + 16));
		__m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(b + 16));
		uint32_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a0, b0)) |
		    (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(a1, b1)) << 16;

		if (n <= 32)
			return (eq | (uint32_t)(~0ULL << n)) == 0xffffffffu;
		if (eq != 0xffffffffu)
			return 0;
	}
#else
	size_t i;

	for (i = 0; i + 8 < n; i += 8)
		if (load64(a + i) != load64(b + i))
			return 0;
	return ((load64(a + i) ^ load64(b + i)) & tail_mask[n - i]) == 0;
#endif
}

static uint64_t key_hash(const struct gn_names *, const char *, size_t, size_t *);

/* The key of a rule for names: its pattern, less the "*." of a wildcard. */
static inline const char *
rule_key(const char *arena, const struct gn_rule *rules, uint32_t code)
{
	const struct gn_rule *r = &rules[GN_VC_RULE(code & ~MORE_WILD)];

	return arena + r->pattern + ((code & MORE_WILD) ? 2 : 0);
}

int
gn_names_add(struct gn_names *n, const char *arena, const struct gn_rule *rules, int32_t vc)
{
	uint32_t code = (uint32_t)vc | (rules[GN_VC_RULE(vc)].kind == GN_KIND_DOMAIN ? MORE_WILD : 0);
	const char *key = rule_key(arena, rules, code);
	size_t len = strlen(key);
	struct gn_nmore *more;
	size_t labels;
	uint64_t h;
	uint32_t i;

	/* The caller sized the table for every rule. Until the records are laid out at[] holds key lengths. */
	if (len == 0 || len > NAME_MAX_LEN || (n->count + 1) * 4 > ((size_t)n->mask + 1) * 3)
		return -1;
	h = key_hash(n, key, len, &labels);
	for (i = (uint32_t)h & n->mask; n->tags[i] != 0; i = (i + 1) & n->mask) {
		if (n->tags[i] != slot_tag(h) || n->at[i] != len ||
		    !key_eq((const unsigned char *)rule_key(arena, rules, n->first[i]),
		    (const unsigned char *)key, len))
			continue;
		/* In already: this rule is weighed against the first when the table is done. */
		if (n->nmore == n->moremax) {
			size_t max = n->moremax ? 2 * n->moremax : 64;

			if ((more = reallocarray(n->more, max, sizeof(*more))) == NULL)
				return -1;
			n->more = more;
			n->moremax = max;
		}
		n->more[n->nmore].slot = i;
		n->more[n->nmore++].code = code;
		n->bytes += 4;		/* at most a second verdict code */
		return 0;
	}
	if (labels < n->minlabels)
		n->minlabels = (uint8_t)labels;
	if (labels > n->maxlabels)
		n->maxlabels = (uint8_t)labels;
	n->tags[i] = slot_tag(h);
	if (i < 16)
		n->tags[n->mask + 1 + i] = n->tags[i];
	n->at[i] = (uint16_t)len;
	n->first[i] = code;
	n->count++;
	n->bytes += rec_second(len);
	return 0;
}

static int
more_cmp(const void *a, const void *b)
{
	const struct gn_nmore *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	/* Then in rule order, as the rules came. */
	return GN_VC_RULE(x->code & ~MORE_WILD) < GN_VC_RULE(y->code & ~MORE_WILD) ? -1 : 1;
}

/*
 * The verdict codes of slot i's key: its first rule's, then each later one
 * (more, from *m on, sorted): for each kind the first rule wins, unless a
 * later exception comes to replace a list rule.
 */
static inline void
resolve(const struct gn_names *n, uint32_t i, size_t *m, int32_t *wild, int32_t *exact)
{
	uint32_t code = n->first[i];

	*wild = *exact = -1;
	for (;;) {
		int32_t vc = (int32_t)(code & ~MORE_WILD), *kind = (code & MORE_WILD) ? wild : exact;

		if (*kind == -1 || (GN_VC_IS_EXCEPT(vc) && !GN_VC_IS_EXCEPT(*kind)))
			*kind = vc;
		if (*m == n->nmore || n->more[*m].slot != i)
			return;
		code = n->more[(*m)++].code;
	}
}

/* Keys loaded at once when the records are laid out, and the records' memory faulted in at once. */
#define GATHER		32
#define GROW		(256 * 1024)

int
gn_names_finish(struct gn_names *n, const char *arena, const struct gn_rule *rules)
{
	size_t size = (size_t)n->mask + 1, i, m, off, ready, given, k, nk;
	int32_t wild[GATHER], exact[GATHER];
	uint32_t slot[GATHER], roff[GATHER];
	const char *key[GATHER];
	uint8_t *r, len[GATHER];

	if (n->nmore > 0)
		qsort(n->more, n->nmore, sizeof(*n->more), more_cmp);
	/*
	 * Room for every record (n->bytes, counted as keys came, is at least
	 * their size), faulted in as they are written; first[] is given back as
	 * it is read, so the two are never both whole in memory.
	 */
	if (n->bytes > UINT32_MAX - 64 ||
	    (n->base = gn_mem_alloc((size + 63) / 64 * sizeof(*n->base))) == NULL ||
	    (n->recs = gn_mem_reserve(GROW, n->bytes + 64)) == NULL)
		return -1;
	ready = GROW;
	for (i = 0, m = 0, off = 0, given = 0; i < size;) {
		/* Place the next few keys; at[] turns from their lengths to where they are. */
		for (nk = 0; nk < GATHER && i < size; i++) {
			if (i % 64 == 0)
				n->base[i / 64] = (uint32_t)off;
			len[nk] = (uint8_t)n->at[i];
			n->at[i] = (uint16_t)((off - n->base[i / 64]) / 4);
			if (n->tags[i] == 0)
				continue;
			resolve(n, (uint32_t)i, &m, &wild[nk], &exact[nk]);
			roff[nk] = (uint32_t)off;
			off += rec_second(len[nk]) + (wild[nk] != -1 && exact[nk] != -1 ? 4 : 0);
			slot[nk++] = (uint32_t)i;
			/* The keys are all over the rules and the arena: load them at once. */
			__builtin_prefetch(&rules[GN_VC_RULE(n->first[i] & ~MORE_WILD)]);
		}
		for (k = 0; k < nk; k++)
			__builtin_prefetch(key[k] = rule_key(arena, rules, n->first[slot[k]]));
		if (off + KEY_PAD > ready) {
			ready = off + GROW < n->bytes + 64 ? off + GROW : n->bytes + 64;
			if ((r = gn_mem_realloc(n->recs, ready)) == NULL)
				return -1;
			n->recs = r;	/* in the room reserved: where it was */
		}
		for (k = 0; k < nk; k++) {
			r = n->recs + roff[k];
			memcpy(r, wild[k] != -1 ? &wild[k] : &exact[k], 4);
			r[REC_LEN] = len[k];
			r[REC_FLAGS] = (uint8_t)((wild[k] != -1 ? REC_WILD : 0) |
			    (exact[k] != -1 ? REC_EXACT : 0));
			memcpy(r + REC_KEY, key[k], len[k]);
			if (wild[k] != -1 && exact[k] != -1)
				memcpy(r + rec_second(len[k]), &exact[k], 4);
		}
		if (i * sizeof(*n->first) >= given + GROW / 4) {
			gn_mem_discard(n->first, given, i * sizeof(*n->first));
			given = i * sizeof(*n->first);
		}
	}
	/* What they fill, with the padding a lookup's vector loads may read past the last key. */
	if ((r = gn_mem_realloc(n->recs, off + 64)) == NULL)
		return -1;
	n->recs = r;
	/* Loading is done: what only it needed goes. */
	gn_mem_free(n->first);
	n->first = NULL;
	free(n->more);
	n->more = NULL;
	n->nmore = n->moremax = 0;
	return 0;
}

static inline const uint8_t *
record(const struct gn_names *n, uint32_t i)
{
	return n->recs + n->base[i / 64] + 4 * (uint32_t)n->at[i];
}

/*
 * Find the key of len bytes at key (hash h), or NULL; home is the record of
 * the slot h points to. A record whose tag matches is confirmed byte for
 * byte: a hash never decides a verdict.
 */
static inline const uint8_t *
probe(const struct gn_names *n, uint64_t h, const uint8_t *home, const unsigned char *key,
    size_t len)
{
	uint32_t i = (uint32_t)h & n->mask;
	const uint8_t *r;
	unsigned hit, empty;

	for (;; i = (i + 16) & n->mask) {
		/* Which of the next sixteen slots may hold h, up to the first empty one. */
#ifdef __SSE2__
		__m128i g = _mm_loadu_si128((const __m128i *)(const void *)(n->tags + i));

		hit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(g, _mm_set1_epi8((char)slot_tag(h))));
		empty = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(g, _mm_setzero_si128()));
#else
		unsigned b;

		for (b = 0, hit = empty = 0; b < 16; b++) {
			hit |= (unsigned)(n->tags[i + b] == slot_tag(h)) << b;
			empty |= (unsigned)(n->tags[i + b] == 0) << b;
		}
#endif
		if (empty != 0)
			hit &= (empty & -empty) - 1;
		for (; hit != 0; hit &= hit - 1) {
			unsigned l = (unsigned)__builtin_ctz(hit);

			r = l == 0 && home != NULL ? home : record(n, (i + l) & n->mask);
			if (r[REC_LEN] == len && key_eq(r + REC_KEY, key, len))
				return r;
		}
		if (empty != 0)
			return NULL;
		home = NULL;		/* only the first sixteen start at home */
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

#ifdef __SSE2__
/*
 * One vector lowercased; its dot lanes in *dots, its invalid lanes added to
 * *bad. A letter is a byte that the case bit makes a lowercase one. Signed
 * compares: bytes above 0x7f are below every range, so never valid.
 */
static inline __m128i
fold16(__m128i x, unsigned *dots, unsigned *bad)
{
	const __m128i lower_lo = _mm_set1_epi8('a' - 1), lower_hi = _mm_set1_epi8('z' + 1);
	const __m128i digit_lo = _mm_set1_epi8('0' - 1), digit_hi = _mm_set1_epi8('9' + 1);
	const __m128i dot = _mm_set1_epi8('.'), hyphen = _mm_set1_epi8('-');
	const __m128i underscore = _mm_set1_epi8('_'), case_bit = _mm_set1_epi8(0x20);
	__m128i lx = _mm_or_si128(x, case_bit);
	__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lx, lower_lo), _mm_cmplt_epi8(lx, lower_hi));
	__m128i d, ok;

	x = _mm_or_si128(x, _mm_and_si128(letter, case_bit));
	d = _mm_cmpeq_epi8(x, dot);
	ok = _mm_or_si128(
	    _mm_or_si128(letter, _mm_and_si128(_mm_cmpgt_epi8(x, digit_lo),
	    _mm_cmplt_epi8(x, digit_hi))),
	    _mm_or_si128(d, _mm_or_si128(_mm_cmpeq_epi8(x, hyphen),
	    _mm_cmpeq_epi8(x, underscore))));
	*dots = (unsigned)_mm_movemask_epi8(d);
	*bad |= ~(unsigned)_mm_movemask_epi8(ok) & 0xffff;
	return x;
}
#endif

/*
 * Copy name (len bytes, 1 to 253) to buf lowercased, with KEY_PAD zero bytes
 * after it, and mark its dots, one bit per byte in dw[4]. Returns -1 when a
 * byte can never be in a listed name. The vector loads come from name and
 * never pass its end (the last part is taken by a load that ends where the
 * name does): reading back what was just stored to buf would stall on the
 * store, where the caller's bytes are long settled.
 */
static int
classify(const unsigned char *name, size_t len, unsigned char *buf, uint64_t dw[4])
{
	unsigned bad = 0;
#ifdef __SSE2__
	size_t c, full = len / 16, r = len % 16;
	unsigned d;
	__m128i x;

	for (c = 0; c < full; c++) {
		x = fold16(_mm_loadu_si128((const __m128i *)(const void *)(name + 16 * c)), &d, &bad);
		_mm_storeu_si128((__m128i *)(void *)(buf + 16 * c), x);
		dw[c / 4] |= (uint64_t)d << 16 * (c % 4);
	}
	if (full > 0) {
		if (r != 0) {
			/* The last sixteen bytes, some seen already: same result for those. */
			x = fold16(_mm_loadu_si128((const __m128i *)(const void *)(name + len - 16)),
			    &d, &bad);
			_mm_storeu_si128((__m128i *)(void *)(buf + len - 16), x);
			dw[full / 4] |= (uint64_t)(d >> (16 - r)) << 16 * (full % 4);
		}
	} else if (len >= 8) {
		/* The first eight bytes and the last eight, overlapping. */
		uint64_t lo, hi;

		memcpy(&lo, name, 8);
		memcpy(&hi, name + len - 8, 8);
		x = fold16(_mm_set_epi64x((long long)hi, (long long)lo), &d, &bad);
		_mm_storel_epi64((__m128i *)(void *)buf, x);
		_mm_storel_epi64((__m128i *)(void *)(buf + len - 8), _mm_unpackhi_epi64(x, x));
		dw[0] = (d & 0xff) | (uint64_t)(d >> 8) << (len - 8);
	} else {
		/* Short: one word, the lanes past len left out. */
		uint64_t lo = 0;
		uint32_t a, b;

		if (len >= 4) {
			memcpy(&a, name, 4);
			memcpy(&b, name + len - 4, 4);
			lo = a | (uint64_t)b << 8 * (len - 4);
		} else {
			for (c = 0; c < len; c++)
				lo |= (uint64_t)name[c] << 8 * c;
		}
		x = fold16(_mm_set_epi64x(0, (long long)lo), &d, &bad);
		bad &= (1u << len) - 1;
		_mm_storel_epi64((__m128i *)(void *)buf, x);
		dw[0] = d & ((1u << len) - 1);
	}
	_mm_storeu_si128((__m128i *)(void *)(buf + len), _mm_setzero_si128());
	_mm_storeu_si128((__m128i *)(void *)(buf + len + 16), _mm_setzero_si128());
#else
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = name_map[name[i]];

		bad |= ch == 0;
		buf[i] = ch;
		if (ch == '.')
			dw[i / 64] |= 1ULL << i % 64;
	}
	memset(buf + len, 0, KEY_PAD);
#endif
	return bad ? -1 : 0;
}

#ifdef GN_AVX512
/*
 * classify(), 64 bytes a step: a masked load (nothing read past the name),
 * name_map looked up for every byte at once (bytes above 0x7f are flagged
 * before the table sees only their low seven bits), one store.
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static int
classify_avx512(const unsigned char *name, size_t len, unsigned char *buf, uint64_t dw[4])
{
	const __m512i lo = _mm512_loadu_si512(name_map), hi = _mm512_loadu_si512(name_map + 64);
	uint64_t bad = 0;
	size_t c;

	for (c = 0; c < len; c += 64) {
		__mmask64 in = len - c >= 64 ? ~0ULL : (1ULL << (len - c)) - 1;
		__m512i x = _mm512_maskz_loadu_epi8(in, name + c);
		__m512i y = _mm512_permutex2var_epi8(lo, x, hi);

		bad |= (_mm512_testn_epi8_mask(y, y) | _mm512_movepi8_mask(x)) & in;
		dw[c / 64] = _mm512_cmpeq_epi8_mask(y, _mm512_set1_epi8('.'));
		_mm512_storeu_si512(buf + c, y);	/* zero past the name */
	}
	_mm256_storeu_si256((__m256i *)(void *)(buf + c), _mm256_setzero_si256());
	return bad ? -1 : 0;
}
#endif

/* The classifier this machine runs fastest. GOTONET_NO_AVX512 set: the SSE2 one, for tests. */
static gn_classify_fn *
pick_classify(void)
{
#ifdef GN_AVX512
	const char *off = getenv("GOTONET_NO_AVX512");

	__builtin_cpu_init();
	if ((off == NULL || *off == '\0') && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi"))
		return classify_avx512;
#endif
	return classify;
}

/*
 * Word w of the label starts in a name whose dots are in dw: the dots moved
 * up one place, and a dot before the name (bit 0 of word 0) that starts the
 * first label and ends a walk without a test of its own.
 */
static inline uint64_t
starts(const uint64_t dw[4], size_t w)
{
	return dw[w] << 1 | (w > 0 ? dw[w - 1] >> 63 : 1);
}

/*
 * Are the labels of the name in buf (len bytes, its dots in dw) 1 to 63
 * bytes each? In a name shorter than 64 bytes no label can be too long, and
 * an empty one is a dot at either end or two in a row.
 */
static inline int
labels_ok(size_t len, const uint64_t dw[4])
{
	size_t w = len / 64, end, start;
	uint64_t m = dw[0];

	if (len < 64)
		return ((m & 1) | m >> (len - 1) | (m & m >> 1)) == 0;
	/*
	 * Longer: label by label, as suffixes() walks them, from the word that
	 * holds byte len, where a dot at the end starts a label (an empty one,
	 * at either end or between two dots, wraps past 62).
	 */
	for (m = starts(dw, w), end = len;; end = start - 1) {
		while (m == 0)
			m = starts(dw, --w);
		start = 64 * w + (63 ^ (size_t)__builtin_clzll(m));
		if (end - start - 1 > 62)
			return 0;
		if (start == 0)
			return 1;
		m ^= 1ULL << start % 64;
	}
}

/*
 * Hash every suffix of the name in buf (len bytes, lowercase, valid labels,
 * its dots in dw) that starts at a label, shortest first, each from its
 * parent's, and note where each starts; with a table, start loading the
 * tags and the record of each with as many labels as some key (noted in
 * rs), and stop at the most any key has. Returns how many. m holds the
 * label starts of word w not yet passed; only names over 63 bytes have more
 * than one word.
 */
static inline size_t
suffixes(const struct gn_names *n, const unsigned char *buf, size_t len, const uint64_t dw[4],
    uint64_t hs[128], uint8_t at[128], const uint8_t *rs[128])
{
	uint64_t h = HASH_SEED;
	size_t nb = 0, start, end, w = (len - 1) / 64;
	uint64_t m = starts(dw, w);

	for (end = len;; end = start - 1) {
		while (m == 0)
			m = starts(dw, --w);
		start = 64 * w + (63 ^ (size_t)__builtin_clzll(m));
		h = label_hash(h, buf + start, end - start);
		if (n != NULL && nb + 1 >= n->minlabels) {
			const uint8_t *r = record(n, (uint32_t)h & n->mask);

			__builtin_prefetch(&n->tags[(uint32_t)h & n->mask]);
			__builtin_prefetch(r);
			__builtin_prefetch(r + 40);	/* the rest of a key up to 32 bytes */
			rs[nb] = r;
		}
		hs[nb] = h;
		at[nb++] = (uint8_t)start;
		if (start == 0 || (n != NULL && nb == n->maxlabels))
			return nb;
		m ^= 1ULL << start % 64;
	}
}

/* The hash of a key (lowercase, validated), as a lookup of it makes it; its labels in *labels. */
static uint64_t
key_hash(const struct gn_names *n, const char *key, size_t len, size_t *labels)
{
	unsigned char buf[NAME_BUF];
	uint64_t dw[4] = { 0, 0, 0, 0 }, hs[128];
	uint8_t at[128];

	*labels = 1;
	if (n->classify((const unsigned char *)key, len, buf, dw) == -1 || !labels_ok(len, dw))
		return 0;	/* not a valid key: the parser lets none through */
	*labels = suffixes(NULL, buf, len, dw, hs, at, NULL);
	return hs[*labels - 1];
}

/* A verdict code found replaces the one of its kind found so far. */
static inline void
take(int32_t vc, int32_t *list, int32_t *except)
{
	if (GN_VC_IS_EXCEPT(vc))
		*except = vc;
	else
		*list = vc;
}

int32_t
gn_names_match(const struct gn_names *n, const char *name, size_t len, int *valid)
{
	const uint8_t *r, *rs[128];	/* the record found; of each suffix's slot */
	unsigned char buf[NAME_BUF];
	uint64_t dw[4] = { 0, 0, 0, 0 }, hs[128];
	uint8_t at[128];		/* where each suffix starts, shortest first */
	int32_t list = -1, except = -1, vc;
	size_t k, nb;

	*valid = 0;
	if (len == 0 || len > NAME_MAX_LEN)
		return -1;
	if (n->classify((const unsigned char *)name, len, buf, dw) == -1 || !labels_ok(len, dw))
		return -1;		/* a byte no name has, an empty or over-long label */
	/* Labels from the right: hash each suffix and start loading its tags and record. */
	nb = suffixes(n, buf, len, dw, hs, at, rs);
	/* The last label decides whether this is a name at all (WHATWG). */
	if (buf[at[0]] - (unsigned)'0' <= 9 &&
	    numeric_label((const char *)buf + at[0], (const char *)buf + len)) {
		*valid = 2;			/* an address attempt, not a name */
		return -1;
	}
	*valid = 1;
	/*
	 * Every suffix with as many labels as some key is looked up: only listed
	 * names are in the hash, so a suffix nobody lists costs one look at its
	 * tags, and the records stay few.
	 */
	for (k = (size_t)n->minlabels - 1; k < nb; k++) {
		if ((r = probe(n, hs[k], rs[k], buf + at[k], len - at[k])) == NULL)
			continue;
		/* Deeper beats shallower; at the whole name the host rule beats the wildcard. */
		memcpy(&vc, r, sizeof(vc));
		if (r[REC_FLAGS] & REC_WILD)
			take(vc, &list, &except);
		if (at[k] == 0 && (r[REC_FLAGS] & REC_EXACT)) {
			if (r[REC_FLAGS] & REC_WILD)
				memcpy(&vc, r + rec_second(len), sizeof(vc));
			take(vc, &list, &except);
		}
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
