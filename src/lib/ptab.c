/* SPDX-License-Identifier: BSD-2-Clause */
/* Address prefixes flattened at load time into sorted intervals: by /16 block for IPv4, binary search for IPv6. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

#define NOLEN	255		/* "no prefix decided this" in a frame */

/* One prefix as the flattening sees it, whatever its family. */
struct pfx {
	gn_u128		start, end;
	int32_t		vc;
	uint8_t		len, proto;
};

/* An enclosing prefix and the verdicts it leaves to what it encloses. */
struct frame {
	gn_u128		end;
	int32_t		vc[2];		/* [0] tcp, [1] udp */
	uint8_t		olen[2];	/* length of the prefix that decided vc[p] */
};

/* Both families feed the same flattening through these. */
struct flat_ops {
	void		(*get)(const void *recs, size_t i, struct pfx *);
	int		(*emit)(void *out, gn_u128 start, const int32_t vc[2]);
};

/*
 * The verdict a prefix leaves for protocol p under the frame up (NULL at the
 * top): an exception beats the list whatever its depth, otherwise the deeper
 * prefix wins, and of two identical prefixes the first written does.
 */
static void
decide(const struct frame *up, const struct pfx *x, int p, struct frame *f)
{
	int32_t u = up ? up->vc[p] : -1;
	uint8_t ol = up ? up->olen[p] : NOLEN;
	int applies = GN_VC_IS_EXCEPT(x->vc) || (x->proto & (p ? GN_PROTO_UDP : GN_PROTO_TCP));

	if (!applies || (u != -1 && ol == x->len && !(GN_VC_IS_EXCEPT(x->vc) && !GN_VC_IS_EXCEPT(u))) ||
	    (GN_VC_IS_EXCEPT(u) && !GN_VC_IS_EXCEPT(x->vc))) {
		f->vc[p] = u;
		f->olen[p] = ol;
	} else {
		f->vc[p] = x->vc;
		f->olen[p] = x->len;
	}
}

/*
 * Prefixes either nest or are disjoint, so one pass over them sorted by
 * (start, wider first, file order) with a stack of enclosing prefixes gives
 * every elementary interval its verdicts. The stack is as deep as the
 * longest prefix, at most 129 frames. Inlined into each build, so that the
 * calls through ops become direct ones.
 */
static inline __attribute__((always_inline)) int
flatten(const void *recs, size_t n, const struct flat_ops *ops, void *out, gn_u128 max)
{
	static const int32_t none[2] = { -1, -1 };
	struct frame stack[130];
	struct pfx x;
	size_t i, top = 0;

	if (ops->emit(out, 0, none) == -1)
		return -1;
	for (i = 0; i <= n; i++) {
		if (i < n)
			ops->get(recs, i, &x);
		/* Close the prefixes that end before this one starts (all of them at the end). */
		while (top > 0 && (i == n || stack[top - 1].end < x.start)) {
			gn_u128 after = stack[--top].end;

			if (after != max && ops->emit(out, after + 1, top ? stack[top - 1].vc : none) == -1)
				return -1;
		}
		if (i == n)
			break;
		if (top == sizeof(stack) / sizeof(stack[0]))
			return -1;	/* cannot happen: prefixes nest at most 129 deep */
		stack[top].end = x.end;
		decide(top ? &stack[top - 1] : NULL, &x, 0, &stack[top]);
		decide(top ? &stack[top - 1] : NULL, &x, 1, &stack[top]);
		if (ops->emit(out, x.start, stack[top].vc) == -1)
			return -1;
		top++;
	}
	return 0;
}

/* IPv4 intervals as flattened, before they are laid out by block. */
struct iv4 {
	uint32_t	start;
	int32_t		vc[2];		/* [0] tcp, [1] udp */
};

struct ivs4 {
	struct iv4	*iv;
	uint32_t	 n;
};

/*
 * Where the intervals go: room for the most a flattening can make, one at 0
 * and two per prefix, allocated at once (and given back at the end).
 */
struct out4 {
	struct ivs4	*t;
	size_t		 cap;
};

struct out6 {
	struct gn_ptab6	*t;
	size_t		 cap;
};

/* Append an interval; a prefix nested at the start of its parent replaces it there. */
#define EMIT(T, o, s, v) do {							\
	T *iv_ = (o)->t->iv;							\
	uint32_t n_ = (o)->t->n;						\
	if (n_ > 0 && iv_[n_ - 1].start == (s)) {				\
		n_--;								\
		if (n_ > 0 && iv_[n_ - 1].vc[0] == (v)[0] && iv_[n_ - 1].vc[1] == (v)[1]) { \
			(o)->t->n = n_;						\
			return 0;						\
		}								\
	} else if (n_ > 0 && iv_[n_ - 1].vc[0] == (v)[0] && iv_[n_ - 1].vc[1] == (v)[1])	\
		return 0;							\
	if (n_ == (o)->cap)							\
		return -1;	/* cannot happen: see struct out4 */		\
	iv_[n_].start = (s);							\
	iv_[n_].vc[0] = (v)[0];							\
	iv_[n_].vc[1] = (v)[1];							\
	(o)->t->n = n_ + 1;							\
} while (0)

static int
emit4(void *out, gn_u128 start, const int32_t vc[2])
{
	EMIT(struct iv4, (struct out4 *)out, (uint32_t)start, vc);
	return 0;
}

static int
emit6(void *out, gn_u128 start, const int32_t vc[2])
{
	EMIT(struct gn_iv6, (struct out6 *)out, start, vc);
	return 0;
}

static void
get4(const void *recs, size_t i, struct pfx *x)
{
	const struct gn_pfx4 *p = (const struct gn_pfx4 *)recs + i;

	x->start = p->start;
	x->end = p->end;
	x->vc = p->vc;
	x->len = p->len;
	x->proto = p->proto;
}

static void
get6(const void *recs, size_t i, struct pfx *x)
{
	const struct gn_pfx6 *p = (const struct gn_pfx6 *)recs + i;

	x->start = p->start;
	x->end = p->end;
	x->vc = p->vc;
	x->len = p->len;
	x->proto = p->proto;
}

static int
cmp4(const void *a, const void *b)
{
	const struct gn_pfx4 *x = a, *y = b;
	int32_t rx = GN_VC_RULE(x->vc), ry = GN_VC_RULE(y->vc);

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;	/* the wider prefix encloses */
	return rx < ry ? -1 : rx > ry;
}

static int
cmp6(const void *a, const void *b)
{
	const struct gn_pfx6 *x = a, *y = b;
	int32_t rx = GN_VC_RULE(x->vc), ry = GN_VC_RULE(y->vc);

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return rx < ry ? -1 : rx > ry;
}

/*
 * Sort records already in file order by (start, wider first) with a stable
 * radix sort, least significant digit first, on a key that puts the prefix
 * length below the start. A digit every record shares costs one count and
 * no pass. tmp holds n records, count_ ndigits * nb zeroed counters; the
 * result is in p.
 */
#define RADIX_SORT(T, p, tmp, count_, n, ndigits, nb, DIGIT) do {		\
	size_t i_, d_, k_;							\
	T *src_ = (p), *dst_ = (tmp), *x_;					\
										\
	for (i_ = 0; i_ < (n); i_++)						\
		for (d_ = 0; d_ < (ndigits); d_++)				\
			count_[d_ * (nb) + DIGIT(&src_[i_], d_)]++;		\
	for (d_ = 0; d_ < (ndigits); d_++) {					\
		size_t *c_ = count_ + d_ * (nb), sum_ = 0;			\
										\
		if (c_[DIGIT(&src_[0], d_)] == (n))				\
			continue;						\
		for (k_ = 0; k_ < (nb); k_++) {					\
			size_t x2_ = c_[k_];					\
										\
			c_[k_] = sum_;						\
			sum_ += x2_;						\
		}								\
		for (i_ = 0; i_ < (n); i_++)					\
			dst_[c_[DIGIT(&src_[i_], d_)]++] = src_[i_];		\
		x_ = src_;							\
		src_ = dst_;							\
		dst_ = x_;							\
	}									\
	if (src_ != (p))							\
		memcpy((p), src_, (n) * sizeof(T));				\
} while (0)

/* IPv4: start and length in 40 bits, four digits of ten (an even count: no copy back). */
#define DIGIT4(x, d)	((unsigned)(((uint64_t)(x)->start << 8 | (x)->len) >> (10 * (d))) & 1023)
/* IPv6: the length, then the sixteen bytes of the start. */
#define DIGIT6(x, d)	((d) == 0 ? (x)->len : (unsigned)((x)->start >> (8 * ((d) - 1))) & 0xff)

/* Is every record in file order (as the parser gives them)? Then a stable sort keeps ties right. */
#define IN_FILE_ORDER(p, n, ok) do {						\
	size_t j_;								\
										\
	for ((ok) = 1, j_ = 1; j_ < (n); j_++)					\
		if (GN_VC_RULE((p)[j_].vc) < GN_VC_RULE((p)[j_ - 1].vc)) {	\
			(ok) = 0;						\
			break;							\
		}								\
} while (0)

static int
sort4(struct gn_pfx4 *p, size_t n, struct gn_pfx4 *tmp)
{
	size_t *count;
	int ok;

	IN_FILE_ORDER(p, n, ok);
	if (!ok) {
		qsort(p, n, sizeof(*p), cmp4);
		return 0;
	}
	if ((count = calloc(4 * 1024, sizeof(*count))) == NULL)
		return -1;
	RADIX_SORT(struct gn_pfx4, p, tmp, count, n, 4, 1024, DIGIT4);
	free(count);
	return 0;
}

static int
sort6(struct gn_pfx6 *p, size_t n, struct gn_pfx6 *tmp)
{
	size_t *count;
	int ok;

	IN_FILE_ORDER(p, n, ok);
	if (!ok) {
		qsort(p, n, sizeof(*p), cmp6);
		return 0;
	}
	if ((count = calloc(17 * 256, sizeof(*count))) == NULL)
		return -1;
	RADIX_SORT(struct gn_pfx6, p, tmp, count, n, 17, 256, DIGIT6);
	free(count);
	return 0;
}

/*
 * The intervals' room, which holds the sort's scratch first (n records take
 * less than 2n + 1 intervals); given back in part once the intervals are made.
 */
#define ROOM(n, iv, pfx)	((2 * (n) + 1) * sizeof(iv) > (n) * sizeof(pfx) ?	\
	(2 * (n) + 1) * sizeof(iv) : (n) * sizeof(pfx))

/* top[k]: */
#define TOP_N		15		/* n, or this when n heads the record */
#define TOP_PAIRS	0x10		/* the verdicts are tcp, udp pairs */
#define TOP_OFF		5		/* the record's offset, in uint32, from this bit */
/* A lookup reads 32 bytes of starts, maybe past the last record. */
#define SLACK		8

/* What block_count() notes per /16 block, in its top entry until layout4() writes it. */
#define BC_AT		1		/* an interval starts at the block's first address */
#define BC_PAIRS	2		/* one starting in it tells tcp from udp */
#define BC_ONE		4		/* the count of intervals starting in it, from this bit */

static inline uint32_t
differs(const struct iv4 *iv)
{
	return iv->vc[0] != iv->vc[1];
}

/* The uint32s of a block's record: its count when TOP_N or more, ns starts, ns + 1 verdicts (or pairs). */
static inline size_t
rec_words(uint32_t ns, int pairs)
{
	return (ns >= TOP_N) + (ns + 1) / 2 + ((size_t)(ns + 1) << (pairs != 0));
}

/*
 * Note in top, per block, how many intervals start in it and what
 * layout4() must know of them, in one pass over the intervals (none over
 * each block's: its length is as random as the list); return the uint32s
 * the records will take, or SIZE_MAX when too many.
 */
static size_t
block_count(const struct iv4 *iv, uint32_t n, uint32_t *top)
{
	size_t off = 0;
	uint32_t i, k;

	memset(top, 0, 65536 * sizeof(*top));
	for (i = 0; i < n; i++) {
		uint32_t *e = &top[iv[i].start >> 16];

		*e = (*e + BC_ONE) | differs(&iv[i]) * BC_PAIRS | ((iv[i].start & 0xffff) == 0) * BC_AT;
	}
	for (i = 0, k = 0; k < 65536; k++) {
		uint32_t c = top[k], at = c & BC_AT, ns = c / BC_ONE - at, pairs;

		if (c == 0)
			continue;
		/* The verdict in force at k << 16 is the one at it, or the last before. */
		pairs = (c & BC_PAIRS) || (!at && differs(&iv[i - 1]));
		off += rec_words(ns, pairs);
		i += c / BC_ONE;
	}
	return off > UINT32_MAX >> TOP_OFF ? SIZE_MAX : off;	/* over 512 MB of records */
}

/*
 * Lay the intervals out by /16 block into top and rec (see struct
 * gn_ptab4), from what block_count() noted in top. A start is kept as its
 * low 16 bits minus one (a start at k << 16 is the record's first verdict
 * instead), xored with 0x8000 for a signed compare. A block that no
 * interval starts in points at the verdict before it, and only blocks that
 * tell tcp from udp store pairs: for the benchmark's 100k prefixes that is
 * 1.5 MB where sorted intervals and their index took 2.3.
 */
static void
layout4(const struct iv4 *iv, uint32_t *top, uint32_t *rec)
{
	size_t off = 0, last = 0, p;
	uint32_t k, i = 0, lastpairs = 0;

	for (k = 0; k < 65536; k++) {
		uint32_t c = top[k], at = c & BC_AT, ns = c / BC_ONE - at, f, j, pairs;

		if (c == 0) {
			/* Nothing starts here: the verdict in force is the last one written. */
			top[k] = (uint32_t)last << TOP_OFF | lastpairs;
			continue;
		}
		/* The verdict in force at k << 16 (iv[0] starts at 0: i > 0 after block 0). */
		f = at ? i++ : i - 1;
		pairs = (c & BC_PAIRS) || differs(&iv[f]) ? TOP_PAIRS : 0;
		p = off + (ns >= TOP_N);
		off += rec_words(ns, pairs);
		top[k] = (uint32_t)(p - (ns >= TOP_N)) << TOP_OFF | pairs | (ns < TOP_N ? ns : TOP_N);
		last = off - (pairs ? 2 : 1);
		lastpairs = pairs;
		if (ns >= TOP_N)
			rec[p - 1] = ns;
		for (j = 0; j < ns + ns % 2; j++)
			((uint16_t *)(void *)(rec + p))[j] = j < ns ?
			    (uint16_t)(((iv[i + j].start & 0xffff) - 1) ^ 0x8000) : 0x7fff;
		p += (ns + 1) / 2;
		for (j = 0; j <= ns; j++, p += pairs ? 2 : 1) {
			const int32_t *vc = j == 0 ? iv[f].vc : iv[i + j - 1].vc;

			rec[p] = (uint32_t)vc[0];
			if (pairs)
				rec[p + 1] = (uint32_t)vc[1];
		}
		i += ns;
	}
}

int
gn_ptab4_build(struct gn_ptab4 *t, struct gn_pfx4 *p, size_t n)
{
	static const struct flat_ops ops = { get4, emit4 };
	struct ivs4 ivs = { NULL, 0 };
	struct out4 out = { &ivs, 2 * n + 1 };
	size_t nrec, need, have, top = 65536 * sizeof(*t->top);
	uint32_t *b;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (n >= UINT32_MAX / 2 || (ivs.iv = gn_mem_alloc(ROOM(n, *ivs.iv, *p))) == NULL)
		goto end;
	if ((n > 0 && sort4(p, n, (struct gn_pfx4 *)(void *)ivs.iv) == -1) ||
	    flatten(p, n, &ops, &out, 0xffffffffu) == -1)
		goto end;
	/*
	 * The prefixes are spent: their block, its pages already faulted in,
	 * becomes the table, top then the records.
	 */
	if ((have = n * sizeof(*p)) < top) {
		if ((b = gn_mem_realloc(p, top)) == NULL)
			goto end;
		p = (struct gn_pfx4 *)(void *)b;
		have = top;
	}
	t->top = (uint32_t *)(void *)p;
	p = NULL;
	if ((nrec = block_count(ivs.iv, ivs.n, t->top)) == SIZE_MAX)
		goto end;
	need = top + (nrec + SLACK) * sizeof(*t->rec);
	if (need > have) {
		if ((b = gn_mem_realloc(t->top, need)) == NULL)
			goto end;
		t->top = b;
	}
	t->rec = t->top + 65536;
	memset(t->rec + nrec, 0, SLACK * sizeof(*t->rec));
	layout4(ivs.iv, t->top, t->rec);
	/*
	 * Only now give back the room past the end (grown, the block keeps the
	 * room it grew in: the same size again gives that back). Cutting a huge
	 * page splits it, and on a virtual machine each small page it leaves
	 * costs microseconds on its next first touch: written first, these
	 * are not touched again here.
	 */
	if ((b = gn_mem_realloc(t->top, need)) != NULL) {
		t->top = b;
		t->rec = t->top + 65536;
	}
	rc = 0;
end:
	gn_mem_free(ivs.iv);
	gn_mem_free(p);
	if (rc == -1)
		gn_ptab4_free(t);
	return rc;
}

int
gn_ptab6_build(struct gn_ptab6 *t, struct gn_pfx6 *p, size_t n)
{
	static const struct flat_ops ops = { get6, emit6 };
	struct out6 out = { t, 2 * n + 1 };
	struct gn_iv6 *iv;

	memset(t, 0, sizeof(*t));
	if (n >= UINT32_MAX / 2 || (t->iv = gn_mem_alloc(ROOM(n, *t->iv, *p))) == NULL)
		return -1;
	if ((n > 0 && sort6(p, n, (struct gn_pfx6 *)(void *)t->iv) == -1) ||
	    flatten(p, n, &ops, &out, ~(gn_u128)0) == -1) {
		gn_ptab6_free(t);
		return -1;
	}
	if ((iv = gn_mem_realloc(t->iv, t->n * sizeof(*iv))) != NULL)
		t->iv = iv;
	return 0;
}

void
gn_ptab4_free(struct gn_ptab4 *t)
{
	gn_mem_free(t->top);		/* rec with it */
	memset(t, 0, sizeof(*t));
}

void
gn_ptab6_free(struct gn_ptab6 *t)
{
	gn_mem_free(t->iv);
	memset(t, 0, sizeof(*t));
}

int32_t
gn_ptab4_lookup(const struct gn_ptab4 *t, uint32_t addr, int pi)
{
	uint32_t e = t->top[addr >> 16], low = addr & 0xffff, n = e & TOP_N, c;
	uint32_t wide = (e & TOP_PAIRS) != 0;
	const uint32_t *r = t->rec + (e >> TOP_OFF);

	/* How many starts are at or below low: they are sorted, so it is a run from the first. */
#ifdef __SSE2__
	{
		const __m128i key = _mm_set1_epi16((short)(low ^ 0x8000));
		const __m128i *v = (const __m128i *)(const void *)r;
		uint32_t i;

		if (n < TOP_N) {
			/* Up to 14 starts in two vectors, no branch on the address; lanes past n are other data. */
			c = (unsigned)__builtin_ctz(~((unsigned)_mm_movemask_epi8(_mm_packs_epi16(
			    _mm_cmpgt_epi16(key, _mm_loadu_si128(v)),
			    _mm_cmpgt_epi16(key, _mm_loadu_si128(v + 1)))) & ((1u << n) - 1)));
		} else {
			n = *r++;
			v = (const __m128i *)(const void *)r;
			for (c = 0, i = 0; c == i && i < n; i += 8, v++)
				c = i + (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(
				    _mm_cmpgt_epi16(key, _mm_loadu_si128(v)))) / 2;
			c = c < n ? c : n;
		}
	}
#else
	{
		const uint16_t *st;
		uint32_t hi;

		if (n == TOP_N)
			n = *r++;
		st = (const uint16_t *)(const void *)r;
		for (c = 0, hi = n; c < hi;) {
			uint32_t mid = c + (hi - c) / 2;

			if ((uint32_t)(st[mid] ^ 0x8000) < low)
				c = mid + 1;
			else
				hi = mid;
		}
	}
#endif
	r += (n + 1) / 2;
	return (int32_t)r[(c << wide) + ((uint32_t)pi & wide)];
}

int32_t
gn_ptab6_lookup(const struct gn_ptab6 *t, gn_u128 addr, int pi)
{
	const struct gn_iv6 *base = t->iv;
	uint32_t n = t->n;

	/*
	 * The last interval starting at or below addr, halving without a branch
	 * on the comparison (it goes either way at random), with both possible
	 * next probes already loading.
	 */
	while (n > 1) {
		uint32_t half = n / 2;

		__builtin_prefetch(&base[half / 2]);
		__builtin_prefetch(&base[half + half / 2]);
		base = base[half].start <= addr ? base + half : base;
		n -= half;
	}
	return base->vc[pi];
}
