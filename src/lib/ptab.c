/* SPDX-License-Identifier: BSD-2-Clause */
/* Address prefixes flattened at load time into sorted intervals, looked up by binary search. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * Where the intervals go: room for the most a flattening can make, one at 0
 * and two per prefix, allocated at once (and given back at the end).
 */
struct out4 {
	struct gn_ptab4	*t;
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
	EMIT(struct gn_iv4, (struct out4 *)out, (uint32_t)start, vc);
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

int
gn_ptab4_build(struct gn_ptab4 *t, struct gn_pfx4 *p, size_t n)
{
	static const struct flat_ops ops = { get4, emit4 };
	struct out4 out = { t, 2 * n + 1 };
	struct gn_iv4 *iv;
	uint32_t k, i;

	memset(t, 0, sizeof(*t));
	if (n >= UINT32_MAX / 2 || (t->iv = malloc(ROOM(n, *t->iv, *p))) == NULL)
		return -1;
	if ((n > 0 && sort4(p, n, (struct gn_pfx4 *)(void *)t->iv) == -1) ||
	    flatten(p, n, &ops, &out, 0xffffffffu) == -1 ||
	    (t->index = malloc(65537 * sizeof(*t->index))) == NULL) {
		gn_ptab4_free(t);
		return -1;
	}
	if ((iv = realloc(t->iv, t->n * sizeof(*iv))) != NULL)
		t->iv = iv;
	for (k = 0, i = 0; k <= 65536; k++) {
		while (i < t->n && t->iv[i].start >> 16 < k)
			i++;
		t->index[k] = i;
	}
	return 0;
}

int
gn_ptab6_build(struct gn_ptab6 *t, struct gn_pfx6 *p, size_t n)
{
	static const struct flat_ops ops = { get6, emit6 };
	struct out6 out = { t, 2 * n + 1 };
	struct gn_iv6 *iv;

	memset(t, 0, sizeof(*t));
	if (n >= UINT32_MAX / 2 || (t->iv = malloc(ROOM(n, *t->iv, *p))) == NULL)
		return -1;
	if ((n > 0 && sort6(p, n, (struct gn_pfx6 *)(void *)t->iv) == -1) ||
	    flatten(p, n, &ops, &out, ~(gn_u128)0) == -1) {
		gn_ptab6_free(t);
		return -1;
	}
	if ((iv = realloc(t->iv, t->n * sizeof(*iv))) != NULL)
		t->iv = iv;
	return 0;
}

void
gn_ptab4_free(struct gn_ptab4 *t)
{
	free(t->iv);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

void
gn_ptab6_free(struct gn_ptab6 *t)
{
	free(t->iv);
	memset(t, 0, sizeof(*t));
}

int32_t
gn_ptab4_lookup(const struct gn_ptab4 *t, uint32_t addr, int pi)
{
	uint32_t k = addr >> 16, lo, hi;

	/* The interval holding addr starts at or below k << 16 ... */
	lo = t->index[k] ? t->index[k] - 1 : 0;
	/* ... and before the first one of the next block. */
	hi = t->index[k + 1];
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->iv[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return t->iv[lo].vc[pi];
}

int32_t
gn_ptab6_lookup(const struct gn_ptab6 *t, gn_u128 addr, int pi)
{
	uint32_t lo = 0, hi = t->n;

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->iv[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return t->iv[lo].vc[pi];
}
