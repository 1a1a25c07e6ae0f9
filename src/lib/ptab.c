/* SPDX-License-Identifier: BSD-2-Clause */
/* Address prefixes flattened at load time into sorted intervals, looked up by binary search. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Growing output of (start, rule) pairs, adjacent equal verdicts merged. */
struct ivs {
	gn_u128		*start;
	int32_t		*rule;
	size_t		 n, cap;
};

static int
ivs_emit(struct ivs *v, gn_u128 start, int32_t rule)
{
	if (v->n > 0 && v->start[v->n - 1] == start) {
		/* A prefix nested at the very start of its parent replaces it there. */
		v->rule[v->n - 1] = rule;
		if (v->n > 1 && v->rule[v->n - 2] == rule)
			v->n--;
		return 0;
	}
	if (v->n > 0 && v->rule[v->n - 1] == rule)
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		gn_u128 *s;
		int32_t *r;

		if ((s = realloc(v->start, cap * sizeof(*s))) == NULL)
			return -1;
		v->start = s;
		if ((r = realloc(v->rule, cap * sizeof(*r))) == NULL)
			return -1;
		v->rule = r;
		v->cap = cap;
	}
	v->start[v->n] = start;
	v->rule[v->n] = rule;
	v->n++;
	return 0;
}

static int
pfx_cmp(const void *a, const void *b)
{
	const struct gn_pfx *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;	/* the wider prefix encloses */
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

struct frame {
	gn_u128		end;
	int32_t		verdict;
	uint8_t		except;		/* verdict is an exception */
	const struct gn_pfx *p;
};

/*
 * Prefixes either nest or are disjoint, so one pass over them sorted by
 * (start, wider first) with a stack of enclosing prefixes gives every
 * elementary interval its verdict: the deepest exception enclosing it, else
 * the deepest list rule; for two identical prefixes the first written wins.
 */
static int
flatten(struct ivs *out, struct gn_pfx *p, size_t n, gn_u128 max)
{
	struct frame *stack;
	size_t i, top = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((stack = malloc((n + 1) * sizeof(*stack))) == NULL)
		return -1;
	qsort(p, n, sizeof(*p), pfx_cmp);
	if (ivs_emit(out, 0, GN_NONE) == -1)
		goto end;
	for (i = 0; i <= n; i++) {
		/* Close the prefixes that end before this one starts (all of them at the end). */
		while (top > 0 && (i == n || stack[top - 1].end < p[i].start)) {
			gn_u128 after = stack[top - 1].end;

			top--;
			if (after == max)
				continue;
			if (ivs_emit(out, after + 1, top ? stack[top - 1].verdict : GN_NONE) == -1)
				goto end;
		}
		if (i == n)
			break;
		struct frame f = { p[i].end, p[i].rule, p[i].except, &p[i] };
		if (top > 0) {
			const struct frame *up = &stack[top - 1];
			int same = up->p->start == p[i].start && up->p->len == p[i].len;

			if (up->except && !p[i].except)
				f.verdict = up->verdict, f.except = 1;
			else if (same && !(p[i].except && !up->except))
				f.verdict = up->verdict, f.except = up->except;
		}
		stack[top++] = f;
		if (ivs_emit(out, p[i].start, f.verdict) == -1)
			goto end;
	}
	rc = 0;
end:
	free(stack);
	if (rc == -1) {
		free(out->start);
		free(out->rule);
	}
	return rc;
}

int
gn_ptab4_build(struct gn_ptab4 *t, struct gn_pfx *p, size_t n)
{
	struct ivs v;
	size_t i, k;

	memset(t, 0, sizeof(*t));
	if (flatten(&v, p, n, 0xffffffffu) == -1)
		return -1;
	t->n = (uint32_t)v.n;
	t->start = malloc(v.n * sizeof(*t->start));
	t->index = malloc(65537 * sizeof(*t->index));
	if (t->start == NULL || t->index == NULL) {
		free(v.start);
		v.start = NULL;
		t->rule = v.rule;
		gn_ptab4_free(t);
		return -1;
	}
	for (i = 0; i < v.n; i++)
		t->start[i] = (uint32_t)v.start[i];
	free(v.start);
	/* Shrink to fit: the flattening over-allocates. */
	t->rule = realloc(v.rule, v.n * sizeof(*t->rule));
	if (t->rule == NULL)
		t->rule = v.rule;
	for (k = 0, i = 0; k <= 65536; k++) {
		while (i < v.n && t->start[i] >> 16 < k)
			i++;
		t->index[k] = (uint32_t)i;
	}
	return 0;
}

int
gn_ptab6_build(struct gn_ptab6 *t, struct gn_pfx *p, size_t n)
{
	struct ivs v;
	gn_u128 *s;

	memset(t, 0, sizeof(*t));
	if (flatten(&v, p, n, ~(gn_u128)0) == -1)
		return -1;
	t->n = (uint32_t)v.n;
	t->start = (s = realloc(v.start, v.n * sizeof(*s))) ? s : v.start;
	t->rule = v.rule;
	return 0;
}

void
gn_ptab4_free(struct gn_ptab4 *t)
{
	free(t->start);
	free(t->rule);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

void
gn_ptab6_free(struct gn_ptab6 *t)
{
	free(t->start);
	free(t->rule);
	memset(t, 0, sizeof(*t));
}

int32_t
gn_ptab4_lookup(const struct gn_ptab4 *t, uint32_t addr)
{
	uint32_t k = addr >> 16, lo, hi;

	if (t->n == 0)
		return GN_NONE;
	/* The interval holding addr starts at or below k << 16 ... */
	lo = t->index[k] ? t->index[k] - 1 : 0;
	/* ... and before the first one of the next block. */
	hi = t->index[k + 1];
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->start[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return t->rule[lo];
}

int32_t
gn_ptab6_lookup(const struct gn_ptab6 *t, gn_u128 addr)
{
	uint32_t lo = 0, hi = t->n;

	if (t->n == 0)
		return GN_NONE;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->start[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return t->rule[lo];
}
