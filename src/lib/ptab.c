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
 * longest prefix, at most 129 frames.
 */
static int
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

/* Append an interval; a prefix nested at the start of its parent replaces it there. */
#define EMIT(T, tab, s, v) do {							\
	T *iv_ = (tab)->iv;							\
	uint32_t n_ = (tab)->n;							\
	if (n_ > 0 && iv_[n_ - 1].start == (s)) {				\
		n_--;								\
		if (n_ > 0 && iv_[n_ - 1].vc[0] == (v)[0] && iv_[n_ - 1].vc[1] == (v)[1]) { \
			(tab)->n = n_;						\
			return 0;						\
		}								\
	} else if (n_ > 0 && iv_[n_ - 1].vc[0] == (v)[0] && iv_[n_ - 1].vc[1] == (v)[1])	\
		return 0;							\
	if ((n_ & (n_ - 1)) == 0 && n_ >= 64) {					\
		if ((iv_ = realloc(iv_, 2 * n_ * sizeof(*iv_))) == NULL)	\
			return -1;						\
		(tab)->iv = iv_;						\
	}									\
	iv_[n_].start = (s);							\
	iv_[n_].vc[0] = (v)[0];							\
	iv_[n_].vc[1] = (v)[1];							\
	(tab)->n = n_ + 1;							\
} while (0)

static int
emit4(void *out, gn_u128 start, const int32_t vc[2])
{
	EMIT(struct gn_iv4, (struct gn_ptab4 *)out, (uint32_t)start, vc);
	return 0;
}

static int
emit6(void *out, gn_u128 start, const int32_t vc[2])
{
	EMIT(struct gn_iv6, (struct gn_ptab6 *)out, start, vc);
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

int
gn_ptab4_build(struct gn_ptab4 *t, struct gn_pfx4 *p, size_t n)
{
	static const struct flat_ops ops = { get4, emit4 };
	uint32_t k, i;

	memset(t, 0, sizeof(*t));
	if (n > 0)
		qsort(p, n, sizeof(*p), cmp4);
	if ((t->iv = malloc(64 * sizeof(*t->iv))) == NULL ||
	    flatten(p, n, &ops, t, 0xffffffffu) == -1 ||
	    (t->index = malloc(65537 * sizeof(*t->index))) == NULL) {
		gn_ptab4_free(t);
		return -1;
	}
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

	memset(t, 0, sizeof(*t));
	if (n > 0)
		qsort(p, n, sizeof(*p), cmp6);
	if ((t->iv = malloc(64 * sizeof(*t->iv))) == NULL ||
	    flatten(p, n, &ops, t, ~(gn_u128)0) == -1) {
		gn_ptab6_free(t);
		return -1;
	}
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
