/* SPDX-License-Identifier: BSD-2-Clause */
/* Benchmark libgotonet: lookups, load time and peak RSS, against a naive linear scan over the same rules. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gotonet.h"

#ifndef GN_BENCH_CFLAGS
#define GN_BENCH_CFLAGS "?"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define BENCH_SANITIZED 1
#endif
#endif
#ifndef BENCH_SANITIZED
#define BENCH_SANITIZED 0
#endif

/* The targets of issue 2, section 6, for the 100k+100k file. */
/* Distinct queries in the hot set (a proxy's traffic repeats). */
#define HOT_POOL		4096
#define TARGET_NAME_NS		50.0
#define TARGET_V4_NS		25.0
#define TARGET_SPEEDUP		1000.0
#define TARGET_LOAD_MS		50.0
#define TARGET_RSS_MB		16.0

enum qkind {
	Q_NAME = 0,
	Q_V4,
	Q_V6,
	Q_NKINDS
};

static const char *const qkind_name[Q_NKINDS] = { "domain", "IPv4", "IPv6" };

/* Queries in one buffer, so that a run walks a realistic working set. */
struct qset {
	char		*buf;
	size_t		 len, cap;
	uint32_t	*off;
	uint16_t	*qlen;
	size_t		 n, ncap;
};

/* One rule as the reference matcher sees it. */
struct lrule {
	int32_t		id;
	uint8_t		except;
	uint8_t		exact;		/* names: a host, not a wildcard */
	uint8_t		len;		/* prefix length */
	uint8_t		proto;
	uint16_t	nlen;		/* names: pattern length */
	const char	*name;		/* names: lowercase, without "*." */
	unsigned __int128 net, mask;	/* addresses, IPv4 in the low 32 bits */
};

/*
 * The reference: every rule of one kind in file order, compared one by one.
 * Deliberately simple so that it is obviously right.
 */
struct linear {
	struct lrule	*r[Q_NKINDS];
	size_t		 n[Q_NKINDS];
	size_t		 nregex;
};

struct opts {
	size_t		 nqueries;	/* per query set */
	int		 passes;	/* timed passes over a query set */
	double		 linear_budget;	/* seconds of linear scanning per query set */
	size_t		 nedge;		/* rules sampled for edge-case verification */
	int		 loads;		/* timed loads of the big file */
	uint64_t	 seed;
};

/* One measured query set. */
struct result {
	double		 ns;		/* median ns per lookup, the table */
	double		 linear_ns;	/* ns per lookup, the linear scan */
	size_t		 nlinear;	/* queries the linear scan answered */
	double		 listed;	/* fraction the table found listed */
	size_t		 mismatches;
	size_t		 checked;
};

static volatile uint64_t sink;	/* lookups feed it so that none can be optimised away */
static uint64_t rng_state;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		die("out of memory");
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		die("out of memory");
	return p;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: fast, and the same sequence everywhere for a seed. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
ri(size_t k)
{
	return (size_t)(rnd() % k);
}

/* A field of /proc/self/status, in kB; -1 when absent. */
static long
status_kb(const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	long kb = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static double
kb_to_mb(long kb)
{
	return (double)kb * 1024.0 / 1e6;
}

static struct gn_table *
load(const char *path)
{
	struct gn_table *t;
	struct gn_diag d;
	size_t i;

	gn_diag_init(&d);
	t = gn_table_load(path, &d);
	for (i = 0; i < d.nmsgs; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	gn_diag_free(&d);
	if (t == NULL)
		die("%s: rules not loaded", path);
	return t;
}

/* --- queries ------------------------------------------------------------ */

static void
qset_add(struct qset *q, const char *s, size_t len)
{
	if (len > UINT16_MAX)
		die("query too long");
	if (q->n == q->ncap) {
		q->ncap = q->ncap ? q->ncap * 2 : 4096;
		q->off = xrealloc(q->off, q->ncap * sizeof(*q->off));
		q->qlen = xrealloc(q->qlen, q->ncap * sizeof(*q->qlen));
	}
	if (q->len + len + 1 > q->cap) {
		while (q->len + len + 1 > q->cap)
			q->cap = q->cap ? q->cap * 2 : 65536;
		q->buf = xrealloc(q->buf, q->cap);
	}
	if (q->len > UINT32_MAX - len - 1)
		die("too many queries");
	memcpy(q->buf + q->len, s, len);
	q->buf[q->len + len] = '\0';
	q->off[q->n] = (uint32_t)q->len;
	q->qlen[q->n] = (uint16_t)len;
	q->len += len + 1;
	q->n++;
}

static void
qset_free(struct qset *q)
{
	free(q->buf);
	free(q->off);
	free(q->qlen);
	memset(q, 0, sizeof(*q));
}

static size_t
rand_label(char *out)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789";
	size_t len = 3 + ri(10), i;

	for (i = 0; i < len; i++)
		out[i] = (i > 0 && i < len - 1 && out[i - 1] != '-' && ri(20) == 0) ?
		    '-' : alnum[ri(sizeof(alnum) - 1)];
	return len;
}

/* A name nobody is likely to list: random labels under a common TLD. */
static size_t
rand_name(char *out)
{
	static const char *const tld[] = {
		"com", "com", "com", "com", "net", "net", "org", "io", "de", "info", "cloud", "co.uk"
	};
	size_t len = 0, depth = 2 + ri(3), i;
	const char *t = tld[ri(sizeof(tld) / sizeof(tld[0]))];

	for (i = 0; i + 1 < depth; i++) {
		len += rand_label(out + len);
		out[len++] = '.';
	}
	memcpy(out + len, t, strlen(t));
	return len + strlen(t);
}

static unsigned __int128
rand128(void)
{
	return (unsigned __int128)rnd() << 64 | rnd();
}

static size_t
fmt_v4(char *out, uint32_t a)
{
	return (size_t)sprintf(out, "%u.%u.%u.%u", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
}

static size_t
fmt_v6(char *out, unsigned __int128 a)
{
	uint8_t b[16];
	int i;

	for (i = 15; i >= 0; i--, a >>= 8)
		b[i] = (uint8_t)a;
	inet_ntop(AF_INET6, b, out, INET6_ADDRSTRLEN);
	return strlen(out);
}

/*
 * Half listed (below a listed name, inside a listed prefix), half random, in
 * random order. Random ones may happen to be listed; the run says how many.
 */
static void
make_queries(struct qset *q, const struct linear *l, enum qkind k, size_t n)
{
	char s[512];
	size_t i, len, nr = l->n[k];

	memset(q, 0, sizeof(*q));
	for (i = 0; i < n; i++) {
		int listed = nr > 0 && ri(2) == 0;
		const struct lrule *r = listed ? &l->r[k][ri(nr)] : NULL;

		if (k == Q_NAME) {
			len = 0;
			if (!listed) {
				len = rand_name(s);
			} else {
				size_t depth = r->exact ? 0 : ri(10) < 2 ? 0 : ri(10) < 6 ? 1 : 2;

				while (depth-- > 0) {
					len += rand_label(s + len);
					s[len++] = '.';
				}
				memcpy(s + len, r->name, r->nlen);
				len += r->nlen;
			}
		} else if (k == Q_V4) {
			uint32_t a = (uint32_t)rnd();

			if (listed)
				a = (uint32_t)r->net | (a & ~(uint32_t)r->mask);
			len = fmt_v4(s, a);
		} else {
			unsigned __int128 a = rand128();

			if (listed)
				a = r->net | (a & ~r->mask);
			else
				a = a >> 3 | (unsigned __int128)1 << 125;	/* 2000::/3 */
			len = fmt_v6(s, a);
		}
		qset_add(q, s, len);
	}
}

/*
 * Edge cases for the verification only, for every exception and a sample of
 * the other rules: each end of a prefix and one address past each; for a
 * name the bare domain, a name that only ends like it, one that merely
 * contains it, case and trailing dot forms.
 */
static void
make_edges(struct qset *q, const struct linear *l, enum qkind k, size_t nrules)
{
	char s[600];
	size_t i, len, nr = l->n[k], nex, ex;

	memset(q, 0, sizeof(*q));
	if (nr == 0)
		return;
	/* Every exception (they are few and easy to get wrong), then a sample. */
	for (i = 0, nex = 0; i < nr; i++)
		nex += l->r[k][i].except;
	if (nrules > nr)
		nrules = nr;
	for (i = 0, ex = 0; i < nex + nrules; i++) {
		const struct lrule *r;

		if (i < nex) {
			while (!l->r[k][ex].except)
				ex++;
			r = &l->r[k][ex++];
		} else {
			r = &l->r[k][nrules == nr ? i - nex : ri(nr)];
		}

		if (k == Q_NAME) {
			size_t j;

			qset_add(q, r->name, r->nlen);
			len = (size_t)snprintf(s, sizeof(s), "x%s", r->name);
			qset_add(q, s, len);
			len = (size_t)snprintf(s, sizeof(s), "%s.evil.test", r->name);
			qset_add(q, s, len);
			len = (size_t)snprintf(s, sizeof(s), "a-b.c.%s.", r->name);
			qset_add(q, s, len);
			for (j = 0; j < r->nlen; j++)
				s[j] = (r->name[j] >= 'a' && r->name[j] <= 'z') ?
				    (char)(r->name[j] - 'a' + 'A') : r->name[j];
			qset_add(q, s, r->nlen);
			len = (size_t)snprintf(s, sizeof(s), "a..%s", r->name);
			qset_add(q, s, len);
		} else if (k == Q_V4) {
			uint32_t lo = (uint32_t)r->net, hi = lo | ~(uint32_t)r->mask;

			qset_add(q, s, fmt_v4(s, lo));
			qset_add(q, s, fmt_v4(s, hi));
			qset_add(q, s, fmt_v4(s, lo - 1));
			qset_add(q, s, fmt_v4(s, hi + 1));
			len = (size_t)sprintf(s, "::ffff:");
			qset_add(q, s, len + fmt_v4(s + len, hi));
		} else {
			unsigned __int128 lo = r->net, hi = lo | ~r->mask;

			qset_add(q, s, fmt_v6(s, lo));
			qset_add(q, s, fmt_v6(s, hi));
			qset_add(q, s, fmt_v6(s, lo - 1));
			qset_add(q, s, fmt_v6(s, hi + 1));
			s[0] = '[';
			len = fmt_v6(s + 1, lo) + 1;
			s[len++] = ']';
			qset_add(q, s, len);
		}
	}
}

/* --- the reference matcher ---------------------------------------------- */

static void
linear_build(struct linear *l, const struct gn_table *t)
{
	size_t i, n = gn_table_rule_count(t), cap[Q_NKINDS] = { 0 };
	struct gn_rule_info info;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < n; i++) {
		struct lrule r;
		enum qkind k;
		int b;

		if (gn_table_rule_info(t, (int32_t)i, &info) == -1)
			die("rule %zu: no info", i);
		memset(&r, 0, sizeof(r));
		r.id = info.id;
		r.except = (info.flags & GN_RULE_EXCEPT) != 0;
		r.proto = (uint8_t)info.proto;
		r.len = (uint8_t)info.prefixlen;
		switch (info.kind) {
		case GN_KIND_HOST:
		case GN_KIND_DOMAIN:
			k = Q_NAME;
			r.exact = info.kind == GN_KIND_HOST;
			r.name = info.pattern + (r.exact ? 0 : 2);
			r.nlen = (uint16_t)strlen(r.name);
			break;
		case GN_KIND_NET4:
			k = Q_V4;
			for (b = 0; b < 4; b++)
				r.net = r.net << 8 | info.addr[b];
			r.mask = info.prefixlen ? (uint32_t)(0xffffffffu << (32 - info.prefixlen)) : 0;
			break;
		case GN_KIND_NET6:
			k = Q_V6;
			for (b = 0; b < 16; b++)
				r.net = r.net << 8 | info.addr[b];
			r.mask = info.prefixlen ? ~(unsigned __int128)0 << (128 - info.prefixlen) : 0;
			break;
		default:
			l->nregex++;
			continue;
		}
		if (l->n[k] == cap[k]) {
			cap[k] = cap[k] ? cap[k] * 2 : 64;
			l->r[k] = xrealloc(l->r[k], cap[k] * sizeof(*l->r[k]));
		}
		l->r[k][l->n[k]++] = r;
	}
}

static void
linear_free(struct linear *l)
{
	int k;

	for (k = 0; k < Q_NKINDS; k++)
		free(l->r[k]);
}

/*
 * The most specific rule: an exception beats the list; an exact host beats
 * every wildcard, a longer wildcard or prefix beats a shorter one; for equal
 * patterns the first in the file wins.
 */
struct best {
	int32_t		rule[2];	/* [0] list, [1] exception */
	int		spec[2];
};

static void
best_offer(struct best *b, const struct lrule *r, int spec)
{
	if (spec > b->spec[r->except]) {
		b->spec[r->except] = spec;
		b->rule[r->except] = r->id;
	}
}

static int32_t
linear_name(const struct linear *l, const char *q, size_t len)
{
	struct best b = { { GN_NONE, GN_NONE }, { -1, -1 } };
	char name[256];
	size_t i, label = 0;

	if (len > 0 && q[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return GN_NONE;
	for (i = 0; i < len; i++) {
		char c = q[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return GN_NONE;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else {
			return GN_NONE;
		}
		name[i] = c;
	}
	for (i = 0; i < l->n[Q_NAME]; i++) {
		const struct lrule *r = &l->r[Q_NAME][i];

		if (r->nlen > len || memcmp(name + len - r->nlen, r->name, r->nlen) != 0)
			continue;
		if (r->nlen == len)
			best_offer(&b, r, r->exact ? 1000 : r->nlen);
		else if (!r->exact && name[len - r->nlen - 1] == '.')
			best_offer(&b, r, r->nlen);
	}
	return b.rule[1] != GN_NONE ? b.rule[1] : b.rule[0];
}

static int32_t
linear_addr(const struct linear *l, enum qkind k, unsigned __int128 a, unsigned proto)
{
	struct best b = { { GN_NONE, GN_NONE }, { -1, -1 } };
	size_t i;

	for (i = 0; i < l->n[k]; i++) {
		const struct lrule *r = &l->r[k][i];

		if ((a & r->mask) == r->net && (r->except || (r->proto & proto)))
			best_offer(&b, r, r->len);
	}
	return b.rule[1] != GN_NONE ? b.rule[1] : b.rule[0];
}

/* A lookup the slow way; returns the deciding rule or GN_NONE. */
static int32_t
linear_lookup(const struct linear *l, const char *q, size_t len, unsigned proto)
{
	char buf[INET6_ADDRSTRLEN + 2];
	unsigned __int128 a = 0;
	uint8_t b[16];
	int i;

	if (len > 0 && q[0] == '[') {
		if (len < 3 || q[len - 1] != ']')
			return GN_NONE;
		q++;
		len -= 2;
	}
	if (len < sizeof(buf)) {
		memcpy(buf, q, len);
		buf[len] = '\0';
		if (memchr(q, ':', len) != NULL) {
			static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

			if (inet_pton(AF_INET6, buf, b) != 1)
				return GN_NONE;
			if (memcmp(b, mapped, 12) == 0) {
				for (i = 12; i < 16; i++)
					a = a << 8 | b[i];
				return linear_addr(l, Q_V4, a, proto);
			}
			for (i = 0; i < 16; i++)
				a = a << 8 | b[i];
			return linear_addr(l, Q_V6, a, proto);
		}
		if (inet_pton(AF_INET, buf, b) == 1) {
			for (i = 0; i < 4; i++)
				a = a << 8 | b[i];
			return linear_addr(l, Q_V4, a, proto);
		}
	}
	return linear_name(l, q, len);
}

/* --- measuring ----------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median ns per lookup over passes (after one untimed warm-up pass). */
static double
time_table(const struct gn_table *t, const struct qset *q, int passes, double *listed)
{
	double *ns = xmalloc((size_t)passes * sizeof(*ns)), med;
	uint64_t sum = 0;
	size_t i, nlisted = 0;
	int p;

	for (p = -1; p < passes; p++) {
		double t0 = now();

		for (i = 0; i < q->n; i++) {
			struct gn_verdict v = gn_table_lookup(t, q->buf + q->off[i], q->qlen[i],
			    GN_PROTO_TCP);

			sum += (uint64_t)(v.rule + 1) + v.match;
			if (p == -1)
				nlisted += v.match != GN_MATCH_NONE;
		}
		if (p >= 0)
			ns[p] = (now() - t0) * 1e9 / (double)q->n;
	}
	sink += sum;
	qsort(ns, (size_t)passes, sizeof(*ns), cmp_double);
	med = ns[passes / 2];
	free(ns);
	*listed = (double)nlisted / (double)q->n;
	return med;
}

/* Compare the table with the reference on queries [0, n) of q. */
static size_t
verify(const struct gn_table *t, const struct qset *q, const int32_t *ref, size_t n,
    unsigned proto, const char *tag)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		const char *s = q->buf + q->off[i];
		struct gn_verdict v = gn_table_lookup(t, s, q->qlen[i], proto);
		struct gn_rule_info info;
		enum gn_match want = GN_MATCH_NONE;

		if (ref[i] != GN_NONE) {
			gn_table_rule_info(t, ref[i], &info);
			want = (info.flags & GN_RULE_EXCEPT) ? GN_MATCH_EXCEPTED : GN_MATCH_LISTED;
		}
		if (v.rule == ref[i] && v.match == want)
			continue;
		if (bad++ < 10)
			fprintf(stderr, "bench: MISMATCH %s %s '%s': table says %s rule %d, "
			    "linear scan says %s rule %d\n", tag, gn_proto_name(proto), s,
			    gn_match_name(v.match), v.rule, gn_match_name(want), ref[i]);
	}
	return bad;
}

/*
 * The linear scan answers queries from the start of q until its time budget
 * is spent (at least a few hundred); the table must agree on each.
 */
static void
measure(const struct gn_table *t, const struct linear *l, const struct qset *q,
    const struct qset *edges, const struct opts *o, const char *tag, struct result *res)
{
	int32_t *ref = xmalloc((q->n + edges->n) * sizeof(*ref));
	uint64_t sum = 0;
	double t0, el;
	size_t i;
	int p;

	memset(res, 0, sizeof(*res));
	res->ns = time_table(t, q, o->passes, &res->listed);

	t0 = now();
	for (i = 0; i < q->n; i++) {
		ref[i] = linear_lookup(l, q->buf + q->off[i], q->qlen[i], GN_PROTO_TCP);
		sum += (uint64_t)(ref[i] + 1);
		if (i >= 200 && i % 64 == 0 && now() - t0 > o->linear_budget)
			break;
	}
	el = now() - t0;
	sink += sum;
	res->nlinear = i < q->n ? i + 1 : q->n;
	res->linear_ns = el * 1e9 / (double)res->nlinear;
	res->mismatches = verify(t, q, ref, res->nlinear, GN_PROTO_TCP, tag);
	res->checked = res->nlinear;

	/* Edge cases under both protocols: the table keeps one interval list per protocol. */
	for (p = 0; p < 2; p++) {
		unsigned proto = p ? GN_PROTO_UDP : GN_PROTO_TCP;

		for (i = 0; i < edges->n; i++)
			ref[i] = linear_lookup(l, edges->buf + edges->off[i], edges->qlen[i], proto);
		res->mismatches += verify(t, edges, ref, edges->n, proto, tag);
		res->checked += edges->n;
	}
	free(ref);
}

/*
 * A proxy sees the same few thousand hosts again and again: n queries drawn
 * at random from a pool of k distinct ones, so the table's hot part is cached.
 */
static void
make_hot(struct qset *hot, const struct qset *pool, size_t k, size_t n)
{
	size_t i;

	memset(hot, 0, sizeof(*hot));
	if (k > pool->n)
		k = pool->n;
	for (i = 0; i < n; i++) {
		size_t j = ri(k);

		qset_add(hot, pool->buf + pool->off[j], pool->qlen[j]);
	}
}

static void
fmt_rate(char *out, size_t n, double ns)
{
	double per_s = 1e9 / ns;

	if (per_s >= 1e6)
		snprintf(out, n, "%.1f M/s", per_s / 1e6);
	else if (per_s >= 1e3)
		snprintf(out, n, "%.1f k/s", per_s / 1e3);
	else
		snprintf(out, n, "%.0f /s", per_s);
}

static void
print_result(const char *table, enum qkind k, const struct result *r)
{
	char rate[32], lrate[32];

	fmt_rate(rate, sizeof(rate), r->ns);
	fmt_rate(lrate, sizeof(lrate), r->linear_ns);
	printf("  %-8s %-6s %9.1f %10s %8.0f%% | %12.0f %10s %7zu | %9.0fx | %zu/%zu\n",
	    table, qkind_name[k], r->ns, rate, r->listed * 100.0, r->linear_ns, lrate, r->nlinear,
	    r->linear_ns / r->ns, r->mismatches, r->checked);
}

/* One line of the summary; returns 1 when the target is missed. */
static int
target(const char *what, const char *measured, const char *goal, int ok)
{
	printf("  %-45s %10s   %-9s %s\n", what, measured, goal, ok ? "ok" : "MISSED");
	return !ok;
}

static void
print_machine(void)
{
	char line[256], *model = NULL;
	FILE *f;

	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (model == NULL && fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "model name", 10) == 0 && (model = strchr(line, ':')) != NULL) {
				model += strspn(model, ": \t");
				model[strcspn(model, "\n")] = '\0';
			}
		fclose(f);
	}
	printf("machine: %ld CPU(s), %s\n", sysconf(_SC_NPROCESSORS_ONLN), model ? model : "?");
}

/*
 * What this machine's memory does right now: ns per read in a chase through
 * a random cycle of 64-byte lines spread over mb megabytes. A big-table
 * domain lookup reads a few such lines at random in about 7 MB, so its
 * figure moves with these (on a shared VM, with the neighbours' load).
 */
static double
mem_latency(size_t mb)
{
	size_t n = mb * 1024 * 1024 / 64, i, j, p = 0, *line = xmalloc(n * 64), *perm;
	uint64_t saved = rng_state;
	double t0, ns;

	perm = xmalloc(n * sizeof(*perm));
	rng_state = 42;
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = ri(i + 1);
		p = perm[i];
		perm[i] = perm[j];
		perm[j] = p;
	}
	for (i = 0; i < n; i++)
		line[perm[i] * 8] = perm[(i + 1) % n] * 8;
	for (i = 0, p = 0; i < n; i++)		/* once round, untimed */
		p = line[p];
	t0 = now();
	for (i = 0; i < 2000000; i++)
		p = line[p];
	ns = (now() - t0) * 1e9 / 2e6;
	sink += p;
	rng_state = saved;
	free(perm);
	free(line);
	return ns;
}

static void
print_mem_latency(const char *when)
{
	static const size_t mb[] = { 1, 4, 8, 32 };
	size_t i;

	printf("memory %s: ns per random read in", when);
	for (i = 0; i < sizeof(mb) / sizeof(mb[0]); i++)
		printf("%s %zu MB %.0f", i ? "," : "", mb[i], mem_latency(mb[i]));
	printf("\n");
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench [-q queries] [-p passes] [-l seconds] [-e rules] [-r loads] [-s seed]\n"
	    "             SHIPPED.rules BIG.rules\n");
	exit(2);
}

static size_t
num(const char *s, size_t min)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno != 0 || *e != '\0' || e == s || v < min)
		usage();
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	struct opts o = { 1000000, 5, 1.0, 500, 5, 1 };
	const char *paths[2], *names[2] = { "shipped", "big" };
	struct gn_table *tab[2];
	struct linear lin[2];
	struct result res[2][Q_NKINDS], hot_res[Q_NKINDS];
	double loads[64], load_ms, t0;
	char m[32];
	long hwm0, rss0, hwm1, rss1;
	size_t mismatches = 0, missed = 0;
	int ch, i, k;

	/* Before anything else allocates: the peak RSS must be the table's. */
	hwm0 = status_kb("VmHWM");
	rss0 = status_kb("VmRSS");

	while ((ch = getopt(argc, argv, "q:p:l:e:r:s:")) != -1) {
		switch (ch) {
		case 'q':
			o.nqueries = num(optarg, 1000);
			break;
		case 'p':
			o.passes = (int)num(optarg, 1);
			if (o.passes > 1000)
				usage();
			break;
		case 'l':
			o.linear_budget = (double)num(optarg, 0);
			break;
		case 'e':
			o.nedge = num(optarg, 0);
			break;
		case 'r':
			o.loads = (int)num(optarg, 1);
			if (o.loads > 64)
				usage();
			break;
		case 's':
			o.seed = num(optarg, 0);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	paths[0] = argv[optind];
	paths[1] = argv[optind + 1];

	t0 = now();
	tab[1] = load(paths[1]);
	loads[0] = (now() - t0) * 1e3;
	hwm1 = status_kb("VmHWM");
	rss1 = status_kb("VmRSS");
	for (i = 1; i < o.loads; i++) {
		struct gn_table *t;

		t0 = now();
		t = load(paths[1]);
		loads[i] = (now() - t0) * 1e3;
		gn_table_free(t);
	}
	qsort(loads, (size_t)o.loads, sizeof(loads[0]), cmp_double);
	load_ms = loads[o.loads / 2];
	tab[0] = load(paths[0]);

	printf("gotonet benchmark: libgotonet vs a naive linear scan over the same rules\n");
	printf("build: CFLAGS \"%s\"%s%s\n", GN_BENCH_CFLAGS,
#ifdef __OPTIMIZE__
	    "",
#else
	    ", NOT OPTIMISED: figures mean nothing",
#endif
	    BENCH_SANITIZED ? ", SANITIZER BUILD: figures are not comparable with the targets" : "");
	print_machine();
	printf("queries: %zu per set, %d timed passes (median), protocol tcp, seed %llu\n",
	    o.nqueries, o.passes, (unsigned long long)o.seed);
	for (i = 0; i < 2; i++) {
		linear_build(&lin[i], tab[i]);
		printf("rules %-8s %s: %zu names, %zu IPv4 prefixes, %zu IPv6 prefixes%s\n", names[i],
		    paths[i], lin[i].n[Q_NAME], lin[i].n[Q_V4], lin[i].n[Q_V6],
		    lin[i].nregex ? " (and regexes the linear scan ignores)" : "");
		if (lin[i].nregex > 0)
			die("%s: %zu regex rules: the reference matcher has no regex engine", paths[i],
			    lin[i].nregex);
	}

	print_mem_latency("before the lookups");
	printf("\nlookups (gn_table_lookup, pre-generated queries: half below/inside a listed rule, half random)\n");
	printf("  %-8s %-6s %9s %10s %9s | %12s %10s %7s | %10s | %s\n", "rules", "query", "ns/lookup",
	    "lookups/s", "listed", "linear ns", "linear/s", "queries", "speedup", "mismatches/checked");
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		for (k = 0; k < Q_NKINDS; k++) {
			struct qset q, e, hot;

			rng_state = o.seed * 1000 + (uint64_t)i * 10 + (uint64_t)k;
			make_queries(&q, &lin[i], (enum qkind)k, o.nqueries);
			make_edges(&e, &lin[i], (enum qkind)k, o.nedge);
			measure(tab[i], &lin[i], &q, &e, &o, names[i], &res[i][k]);
			print_result(names[i], (enum qkind)k, &res[i][k]);
			fflush(stdout);
			mismatches += res[i][k].mismatches;
			if (i == 1) {
				make_hot(&hot, &q, HOT_POOL, o.nqueries);
				measure(tab[i], &lin[i], &hot, &e, &o, "big-hot", &hot_res[k]);
				print_result("big-hot", (enum qkind)k, &hot_res[k]);
				fflush(stdout);
				mismatches += hot_res[k].mismatches;
				qset_free(&hot);
			}
			qset_free(&q);
			qset_free(&e);
		}
	}
	printf("  (big-hot: the big table, queries drawn from %d distinct ones, as a proxy's traffic repeats)\n",
	    HOT_POOL);
	print_mem_latency("after the lookups ");

	printf("\nload and memory, %s (%zu rules)\n", paths[1], gn_table_rule_count(tab[1]));
	printf("  load times (ms):");
	for (i = 0; i < o.loads; i++)
		printf(" %.1f", loads[i]);
	printf("\n  peak RSS (VmHWM) after the first load: %.1f MB, %+.1f MB over the %.1f MB before it\n",
	    kb_to_mb(hwm1), kb_to_mb(hwm1 - hwm0), kb_to_mb(hwm0));
	printf("  resident (VmRSS) after the first load: %.1f MB, %+.1f MB\n", kb_to_mb(rss1),
	    kb_to_mb(rss1 - rss0));

	printf("\ntargets (issue 2 section 6, for 100k+100k: the big file)  measured   target\n");
	snprintf(m, sizeof(m), "%.1f ns", res[1][Q_NAME].ns);
	missed += target("domain lookup", m, "<= 50 ns", res[1][Q_NAME].ns <= TARGET_NAME_NS);
	snprintf(m, sizeof(m), "%.1f ns", res[1][Q_V4].ns);
	missed += target("IPv4 lookup", m, "<= 25 ns", res[1][Q_V4].ns <= TARGET_V4_NS);
	for (k = Q_NAME; k <= Q_V4; k++) {
		double sp = res[1][k].linear_ns / res[1][k].ns;
		char what[64];

		snprintf(what, sizeof(what), "%s lookup speedup over the linear scan", qkind_name[k]);
		snprintf(m, sizeof(m), "%.0fx", sp);
		missed += target(what, m, ">= 1000x", sp >= TARGET_SPEEDUP);
	}
	snprintf(m, sizeof(m), "%.1f ms", load_ms);
	missed += target("load (median)", m, "<= 50 ms", load_ms <= TARGET_LOAD_MS);
	snprintf(m, sizeof(m), "%.1f MB", kb_to_mb(hwm1));
	missed += target("peak RSS after loading (VmHWM)", m, "<= 16 MB",
	    kb_to_mb(hwm1) <= TARGET_RSS_MB);
	snprintf(m, sizeof(m), "%zu", mismatches);
	target("verdicts differing from the linear scan", m, "0", mismatches == 0);
	printf("  (the same lookups on the big table with a hot set of %d queries: domain %.1f ns, IPv4 %.1f ns)\n",
	    HOT_POOL, hot_res[Q_NAME].ns, hot_res[Q_V4].ns);
	printf("reference (prototype, 2 cores): domain 60 ns, IPv4 24 ns, load 34 ms, 14 MB\n");

	for (i = 0; i < 2; i++) {
		gn_table_free(tab[i]);
		linear_free(&lin[i]);
	}
	if (mismatches > 0)
		printf("result: WRONG: %zu verdicts differ from the linear scan\n", mismatches);
	else
		printf("result: %s\n", missed ? "correct; some targets MISSED" : "correct; every target met");
	/* Before a sanitizer's exit handler can cut the report short. */
	fflush(stdout);
	return mismatches > 0;
}
