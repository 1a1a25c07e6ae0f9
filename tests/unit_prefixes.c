/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of address prefixes (ptab.c): longest prefix, boundaries, flattening, exceptions, tcp/udp. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_common.h"

START_TEST(prefixes_eval)
{
	UNIT_EVAL("tests/data/prefixes.eval");
}
END_TEST

/*
 * The flattening against a brute-force reference: random nested, duplicate
 * and adjacent prefixes, exceptions and protocols; every boundary of every
 * prefix (first, last, one before, one past) looked up for tcp and udp.
 */
typedef unsigned __int128 u128;

struct rprefix {
	u128		start, end;
	unsigned	len, proto;
	int		except;
};

static uint64_t rng_state;

static uint32_t
rng(void)
{
	/* xorshift64*: reproducible from the seed printed on failure */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/*
 * The deciding rule as the man page says: an exception if any matches (the
 * most specific, then the first written), else the longest list prefix for
 * the protocol (then the first written).
 */
static int32_t
reference(const struct rprefix *p, size_t n, u128 a, unsigned proto)
{
	int32_t best = GN_NONE, xbest = GN_NONE;
	size_t i;

	for (i = 0; i < n; i++) {
		if (a < p[i].start || a > p[i].end)
			continue;
		if (p[i].except) {
			if (xbest == GN_NONE || p[i].len > p[xbest].len)
				xbest = (int32_t)i;
		} else if (p[i].proto & proto) {
			if (best == GN_NONE || p[i].len > p[best].len)
				best = (int32_t)i;
		}
	}
	return xbest != GN_NONE ? xbest : best;
}

static void
addr_text(char *out, size_t len, u128 a, int v6)
{
	unsigned char b[16];
	int i;

	for (i = 15; i >= 0; i--, a >>= 8)
		b[i] = (unsigned char)a;
	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? b : b + 12, out, (socklen_t)len);
}

/*
 * A random prefix, crowded into a small region so that prefixes nest, repeat
 * and touch. Dense (IPv4): most inside four /16 blocks, so that a block holds
 * dozens of interval starts, some at a block's first or last address, and
 * now and then one at either end of the address space.
 */
static void
random_prefix(struct rprefix *p, int v6, int dense)
{
	unsigned bits = v6 ? 128 : 32, len;
	u128 base, host;

	if (v6) {
		len = 32 + rng() % 97;
		base = (u128)0x20010db8 << 96 | (u128)(rng() % 3) << 80 |
		    (u128)rng() << 48 | (u128)rng() << 16 | (rng() & 0xffff);
		if (rng() % 16 == 0)
			len = rng() % 33, base = (u128)rng() << 96 | (u128)rng() << 64;
	} else if (dense) {
		len = 17 + rng() % 16;
		base = (u128)10 << 24 | (u128)(rng() % 4) << 16 | (rng() & 0xffff);
		switch (rng() % 32) {
		case 0:
			len = 8 + rng() % 9;	/* around whole blocks */
			break;
		case 1:
			base |= 0xffff;		/* at a block's last address */
			break;
		case 2:
			base &= ~(u128)0xffff;	/* at its first */
			break;
		case 3:
			base = rng() % 2 ? 0xffffffffu : 0;
			break;
		}
	} else {
		len = 8 + rng() % 25;
		base = (u128)(10 + rng() % 3) << 24 | (rng() & 0x00ffffffu);
		if (rng() % 16 == 0)
			len = rng() % 9, base = rng();
	}
	if (len == 0)
		host = bits == 128 ? ~(u128)0 : 0xffffffffu;
	else
		host = len == bits ? 0 : (((u128)1 << (bits - len)) - 1);
	p->start = base & ~host;
	if (!v6)
		p->start &= 0xffffffffu;
	p->end = p->start | host;
	p->len = len;
}

#define NROUNDS	40
#define NPFX	300

/*
 * Dense rounds also probe random addresses in the crowded blocks, and every
 * other one gives the list rules both protocols, so that whole blocks hold
 * one verdict for tcp and udp.
 */
static void
random_rounds(int v6, int dense)
{
	static const char *const protos[] = { "tcp", "udp", "tcp,udp" };
	u128 max = v6 ? ~(u128)0 : 0xffffffffu;
	struct rprefix p[NPFX];
	char *text = malloc(NPFX * 128), *o, a[INET6_ADDRSTRLEN];
	int round, bad = 0, badmatch = 0;
	size_t i;

	ck_assert_ptr_nonnull(text);
	for (round = 0; round < NROUNDS; round++) {
		uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(round + 1) + (uint64_t)v6 + 2 * (uint64_t)dense;
		struct gn_diag d;
		struct gn_table *t;

		rng_state = seed;
		o = text;
		for (i = 0; i < NPFX; i++) {
			if (i > 0 && rng() % 4 == 0)
				p[i] = p[rng() % i];	/* the same prefix again, maybe of another kind */
			else
				random_prefix(&p[i], v6, dense);
			p[i].except = rng() % 6 == 0;
			p[i].proto = p[i].except || (dense && round % 2) ? 3 : 1 + rng() % 3;
			addr_text(a, sizeof(a), p[i].start, v6);
			if (p[i].except)
				o += sprintf(o, "except %s/%u\n", a, p[i].len);
			else
				o += sprintf(o, "%s/%u proto=%s label=r%zu\n", a, p[i].len,
				    protos[p[i].proto - 1], i);
		}
		gn_diag_init(&d);
		t = unit_load_string("random.rules", text, &d);
		ck_assert_msg(t != NULL, "seed %llu: %s", (unsigned long long)seed,
		    d.nmsgs ? d.msgs[0] : "?");
		for (i = 0; i < NPFX; i++) {
			u128 probe[6] = { (p[i].start - 1) & max, p[i].start, p[i].end, (p[i].end + 1) & max,
			    (u128)10 << 24 | (rng() & 0x3ffff), (u128)10 << 24 | (rng() & 0x3ffff) };
			unsigned k, pr;

			for (k = 0; k < (dense ? 6u : 4u); k++)
				for (pr = GN_PROTO_TCP; pr <= GN_PROTO_UDP; pr++) {
					int32_t want = reference(p, NPFX, probe[k], pr);
					struct gn_verdict v;

					addr_text(a, sizeof(a), probe[k], v6);
					v = unit_lookup(t, a, pr);
					if (v.rule == want && v.target == (v6 ? GN_TARGET_IPV6 : GN_TARGET_IPV4))
						continue;
					/* The match is the security decision; the rule is what logs show. */
					if ((want == GN_NONE) != (v.match == GN_MATCH_NONE) ||
					    (want != GN_NONE && p[want].except != (v.match == GN_MATCH_EXCEPTED)))
						badmatch++;
					if (bad++ < 20)
						printf("FAIL prefixes_random seed %llu: %s %s: expected %s line %d got %s line %d\n",
						    (unsigned long long)seed, a, pr == GN_PROTO_TCP ? "tcp" : "udp",
						    gn_match_name(want == GN_NONE ? GN_MATCH_NONE : p[want].except ?
						    GN_MATCH_EXCEPTED : GN_MATCH_LISTED), want == GN_NONE ? 0 : (int)want + 1,
						    gn_match_name(v.match), v.rule == GN_NONE ? 0 : (int)v.rule + 1);
				}
		}
		gn_table_free(t);
		gn_diag_free(&d);
	}
	free(text);
	ck_assert_msg(badmatch == 0, "%d lookups with the wrong match", badmatch);
	ck_assert_msg(bad == 0, "%d lookups decided by the wrong rule (right match)", bad);
}

START_TEST(prefixes_random4)
{
	random_rounds(0, 0);
}
END_TEST

START_TEST(prefixes_dense4)
{
	random_rounds(0, 1);
}
END_TEST

START_TEST(prefixes_random6)
{
	random_rounds(1, 0);
}
END_TEST

static Suite *
prefixes_suite(void)
{
	Suite *s = suite_create("prefixes");
	TCase *tc = tcase_create("prefixes");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, prefixes_eval);
	tcase_add_test(tc, prefixes_random4);
	tcase_add_test(tc, prefixes_dense4);
	tcase_add_test(tc, prefixes_random6);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(prefixes_suite());
}
