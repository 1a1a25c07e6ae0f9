/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the table (table.c): rule_info, digest, version, port checks, names of values, threads. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_common.h"

START_TEST(table_eval)
{
	UNIT_EVAL("tests/data/table.eval");
}
END_TEST

static struct gn_table *
load_ok(const char *text)
{
	struct gn_diag d;
	struct gn_table *t;

	gn_diag_init(&d);
	t = unit_load_string("digest.rules", text, &d);
	ck_assert_msg(t != NULL, "'%s' did not load: %s", text, d.nmsgs ? d.msgs[0] : "?");
	gn_diag_free(&d);
	return t;
}

static uint64_t
digest_of(const char *text)
{
	struct gn_table *t = load_ok(text);
	uint64_t h = gn_table_digest(t);

	gn_table_free(t);
	return h;
}

/* rule_info for every id: file order, file:line, what the file says. */
START_TEST(table_rule_info)
{
	struct gn_diag d;
	struct gn_table *t;
	struct gn_rule_info ri;
	char *path = unit_path("tests/data/table.rules");
	static const unsigned lines[] = { 4, 5, 6, 7, 8, 9, 10, 11 };
	static const enum gn_kind kinds[] = { GN_KIND_DOMAIN, GN_KIND_HOST, GN_KIND_REGEX,
	    GN_KIND_NET4, GN_KIND_NET4, GN_KIND_NET6, GN_KIND_NET4, GN_KIND_NET4 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	size_t i;

	gn_diag_init(&d);
	ck_assert_ptr_nonnull(t = gn_table_load(path, &d));
	ck_assert_uint_eq(gn_table_rule_count(t), 8);
	ck_assert_str_eq(gn_table_version(t), "table-test 2026-11-24");
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(gn_table_rule_info(t, (int32_t)i, &ri), 0);
		ck_assert_int_eq(ri.id, (int32_t)i);
		ck_assert_uint_eq(ri.line, lines[i]);
		ck_assert_int_eq(ri.kind, kinds[i]);
		ck_assert_str_eq(ri.file, path);
		ck_assert_ptr_nonnull(ri.pattern);
		ck_assert_ptr_nonnull(ri.label);
		ck_assert_int_eq(ri.nports == 0, ri.ports == NULL);
		ck_assert_int_eq((ri.flags & GN_RULE_EXCEPT) != 0, i == 7);
		if (kinds[i] == GN_KIND_NET4 || kinds[i] == GN_KIND_NET6)
			ck_assert_uint_ne(ri.proto, 0);
		else
			ck_assert_uint_eq(ri.proto, 0);
	}
	/* addresses as bytes and prefix lengths */
	ck_assert_int_eq(gn_table_rule_info(t, 3, &ri), 0);
	ck_assert_uint_eq(ri.prefixlen, 24);
	ck_assert_int_eq(memcmp(ri.addr, "\xc0\x00\x02\x00", 4), 0);
	ck_assert_int_eq(gn_table_rule_info(t, 5, &ri), 0);
	ck_assert_uint_eq(ri.prefixlen, 48);
	ck_assert_int_eq(memcmp(ri.addr, v6, 16), 0);
	ck_assert_str_eq(ri.pattern, "2001:db8::/48");
	ck_assert_int_eq(gn_table_rule_info(t, 6, &ri), 0);
	ck_assert_uint_eq(ri.prefixlen, 32);
	ck_assert_int_eq(memcmp(ri.addr, "\xc6\x33\x64\x07", 4), 0);
	ck_assert_uint_eq(ri.nports, 1);
	ck_assert_uint_eq(ri.ports[0].lo, 65535);
	ck_assert_uint_eq(ri.ports[0].hi, 65535);
	/* out of range */
	ck_assert_int_eq(gn_table_rule_info(t, 8, &ri), -1);
	ck_assert_int_eq(gn_table_rule_info(t, -1, &ri), -1);
	ck_assert_int_eq(gn_table_rule_info(t, GN_NONE, &ri), -1);
	ck_assert_int_eq(gn_table_rule_info(t, INT32_MAX, &ri), -1);
	ck_assert_int_eq(gn_table_rule_port_ok(t, GN_NONE, 443), 0);
	ck_assert_int_eq(gn_table_rule_port_ok(t, 8, 443), 0);
	gn_table_free(t);
	gn_diag_free(&d);
	free(path);
}
END_TEST

/* The digest follows what decides traffic, and nothing else. */
START_TEST(table_digest)
{
	static const char base[] = "*.a.example label=a\n192.0.2.0/24 label=n ports=443\n";
	static const struct {
		const char	*text;
		int		 same;	/* 1: the same digest as base */
	} c[] = {
		/* the same rules, written differently */
		{ "*.a.example label=a\n192.0.2.0/24 label=n ports=443\n", 1 },
		{ "# a comment\n\n*.a.example   label=\"a\"  # c\n192.0.2.0/24 ports=443 label=n\n", 1 },
		{ "*.A.EXAMPLE. label=a critical=yes action=both\n192.0.2.0/24 label=n ports=443 proto=tcp,udp\n", 1 },
		{ "version x 1\n*.a.example label=a\n192.0.2.0/24 label=n ports=443\n", 1 },
		/* anything that changes a verdict, or what it shows */
		{ "*.a.example label=b\n192.0.2.0/24 label=n ports=443\n", 0 },
		{ "*.a.example label=a \n192.0.2.0/24 label=N ports=443\n", 0 },
		{ "*.b.example label=a\n192.0.2.0/24 label=n ports=443\n", 0 },
		{ "a.example label=a\n192.0.2.0/24 label=n ports=443\n", 0 },
		{ "*.a.example label=a critical=no\n192.0.2.0/24 label=n ports=443\n", 0 },
		{ "*.a.example label=a action=splice\n192.0.2.0/24 label=n ports=443\n", 0 },
		{ "*.a.example label=a\n192.0.2.0/24 label=n ports=443 proto=tcp\n", 0 },
		{ "*.a.example label=a\n192.0.2.0/24 label=n ports=444\n", 0 },
		{ "*.a.example label=a\n192.0.2.0/24 label=n\n", 0 },
		{ "*.a.example label=a\n192.0.2.0/25 label=n ports=443\n", 0 },
		{ "*.a.example label=a\n192.0.3.0/24 label=n ports=443\n", 0 },
		{ "*.a.example label=a\n192.0.2.0/24 label=n ports=443\nexcept x.a.example\n", 0 },
		{ "192.0.2.0/24 label=n ports=443\n*.a.example label=a\n", 0 },
		{ "*.a.example label=a\n", 0 },
		{ "# no rules\n", 0 },
	};
	uint64_t h = digest_of(base);
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t x = digest_of(c[i].text);

		if ((x == h) != c[i].same) {
			printf("FAIL table_digest case %zu: digest %s the base's\n", i,
			    c[i].same ? "differs from" : "equals");
			bad++;
		}
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/*
 * Two different lists must not share a digest just because the bytes of a
 * pattern and its label run together ("ab.com"+"x" against "ab.co"+"mx").
 */
START_TEST(table_digest_boundaries)
{
	static const char *const pairs[][2] = {
		{ "ab.com label=x", "ab.co label=mx" },
		{ "*.a.example label=bc", "*.a.exampleb label=c" },
		{ "a.example label=x\nb.example label=y", "a.example label=xb.exampley" },
	};
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (digest_of(pairs[i][0]) == digest_of(pairs[i][1])) {
			/* BUG: the digest hashes pattern and label bytes with no separator */
			printf("FAIL table_digest_boundaries: same digest for '%s' and '%s'\n",
			    pairs[i][0], pairs[i][1]);
			bad++;
		}
	ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(table_names)
{
	ck_assert_str_eq(gn_kind_name(GN_KIND_HOST), "host");
	ck_assert_str_eq(gn_kind_name(GN_KIND_DOMAIN), "domain");
	ck_assert_str_eq(gn_kind_name(GN_KIND_NET4), "net4");
	ck_assert_str_eq(gn_kind_name(GN_KIND_NET6), "net6");
	ck_assert_str_eq(gn_kind_name(GN_KIND_REGEX), "regex");
	ck_assert_str_eq(gn_kind_name((enum gn_kind)99), "?");
	ck_assert_str_eq(gn_match_name(GN_MATCH_NONE), "not-listed");
	ck_assert_str_eq(gn_match_name(GN_MATCH_LISTED), "listed");
	ck_assert_str_eq(gn_match_name(GN_MATCH_EXCEPTED), "excepted");
	ck_assert_str_eq(gn_match_name((enum gn_match)-1), "?");
	ck_assert_str_eq(gn_target_name(GN_TARGET_NAME), "name");
	ck_assert_str_eq(gn_target_name(GN_TARGET_IPV4), "ipv4");
	ck_assert_str_eq(gn_target_name(GN_TARGET_IPV6), "ipv6");
	ck_assert_str_eq(gn_target_name(GN_TARGET_INVALID), "invalid");
	ck_assert_str_eq(gn_target_name((enum gn_target)4), "?");
	ck_assert_str_eq(gn_action_name(GN_ACTION_SPLICE), "splice");
	ck_assert_str_eq(gn_action_name(GN_ACTION_DIRECT), "direct");
	ck_assert_str_eq(gn_action_name(GN_ACTION_BOTH), "splice,direct");
	ck_assert_str_eq(gn_proto_name(GN_PROTO_TCP), "tcp");
	ck_assert_str_eq(gn_proto_name(GN_PROTO_UDP), "udp");
	ck_assert_str_eq(gn_proto_name(GN_PROTO_TCP | GN_PROTO_UDP), "tcp,udp");
	ck_assert_str_eq(gn_proto_name(0), "");
}
END_TEST

/* Lookups from many threads at once give what one thread gets (regexes use per-thread data). */
#define NTHREADS	4

static const char *const mt_targets[] = {
	"media.example", "launch.media.example", "relay1.example.net", "relay22.example.net",
	"relay.example.net", "192.0.2.1", "192.0.2.200", "2001:db8::1", "x.example",
	"0255.0307.0.1", "::ffff:192.0.2.130",
};
#define NMT	(sizeof(mt_targets) / sizeof(mt_targets[0]))

struct mt_arg {
	const struct gn_table	*t;
	struct gn_verdict	 want[NMT];
	int			 bad;
};

static void *
mt_run(void *p)
{
	struct mt_arg *a = p;
	size_t i, k;

	for (k = 0; k < 5000; k++)
		for (i = 0; i < NMT; i++) {
			struct gn_verdict v = unit_lookup(a->t, mt_targets[i], GN_PROTO_UDP);

			if (v.match != a->want[i].match || v.rule != a->want[i].rule ||
			    v.target != a->want[i].target)
				__atomic_add_fetch(&a->bad, 1, __ATOMIC_RELAXED);
		}
	return NULL;
}

START_TEST(table_threads)
{
	struct gn_diag d;
	struct mt_arg a;
	pthread_t th[NTHREADS];
	char *path = unit_path("tests/data/table.rules");
	size_t i;
	struct gn_table *t;

	gn_diag_init(&d);
	ck_assert_ptr_nonnull(t = gn_table_load(path, &d));
	a.t = t;
	a.bad = 0;
	for (i = 0; i < NMT; i++)
		a.want[i] = unit_lookup(t, mt_targets[i], GN_PROTO_UDP);
	ck_assert_int_eq(a.want[2].match, GN_MATCH_LISTED);	/* a regex is exercised */
	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, mt_run, &a), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(a.bad, 0);
	gn_table_free(t);
	gn_diag_free(&d);
	free(path);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, table_eval);
	tcase_add_test(tc, table_rule_info);
	tcase_add_test(tc, table_digest);
	tcase_add_test(tc, table_digest_boundaries);
	tcase_add_test(tc, table_names);
	tcase_add_test(tc, table_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(table_suite());
}
