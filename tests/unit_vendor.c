/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the shipped list etc/gotonet.rules against the vendor's document. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_common.h"

#define VENDOR_RULES	"etc/gotonet.rules"
#define VENDOR_EVAL	"tests/data/gotonet.eval"

static struct gn_table *
vendor_load(void)
{
	struct gn_diag d;
	struct gn_table *t;
	char *path = unit_path(VENDOR_RULES);
	size_t i;

	gn_diag_init(&d);
	t = gn_table_load(path, &d);
	for (i = 0; i < d.nmsgs; i++)
		printf("FAIL %s\n", d.msgs[i]);
	ck_assert_msg(t != NULL && d.nmsgs == 0, "%s: %zu messages", path, d.nmsgs);
	gn_diag_free(&d);
	free(path);
	return t;
}

/* Every case of the table, and every rule of the list decides one of them. */
START_TEST(vendor_eval)
{
	struct gn_table *t = vendor_load();
	size_t n = gn_table_rule_count(t), i;
	unsigned *hits = calloc(n, sizeof(*hits));
	int cases = 0, fails, unused = 0;

	ck_assert_ptr_nonnull(hits);
	fails = unit_eval_cover(VENDOR_EVAL, &cases, hits, n);
	for (i = 0; i < n; i++) {
		struct gn_rule_info ri;

		if (hits[i] > 0)
			continue;
		gn_table_rule_info(t, (int32_t)i, &ri);
		printf("FAIL %s: no case is decided by %s:%u (%s)\n", VENDOR_EVAL, VENDOR_RULES,
		    ri.line, ri.pattern);
		unused++;
	}
	free(hits);
	gn_table_free(t);
	ck_assert_msg(fails == 0, "%s: %d of %d cases failed", VENDOR_EVAL, fails, cases);
	ck_assert_msg(unused == 0, "%d rules of %s are decided by no case", unused, VENDOR_RULES);
}
END_TEST

/* What the vendor's document holds, counted. */
START_TEST(vendor_shape)
{
	struct gn_table *t = vendor_load();
	size_t n = gn_table_rule_count(t), i, kinds[5] = { 0 };
	int noncritical = 0;

	ck_assert_msg(strncmp(gn_table_version(t), "goto-v10 ", 9) == 0, "version '%s'",
	    gn_table_version(t));
	for (i = 0; i < n; i++) {
		struct gn_rule_info ri;

		ck_assert_int_eq(gn_table_rule_info(t, (int32_t)i, &ri), 0);
		ck_assert_uint_lt(ri.kind, 5);
		kinds[ri.kind]++;
		ck_assert_msg(ri.label[0] != '\0', "line %u has no label", ri.line);
		ck_assert_msg(ri.flags == GN_RULE_CRITICAL || (ri.flags == 0 &&
		    (strcmp(ri.pattern, "*.launchdarkly.com") == 0 ||
		    strcmp(ri.pattern, "api-pub.mltree.net") == 0)),
		    "line %u (%s): flags %#x", ri.line, ri.pattern, ri.flags);
		noncritical += ri.flags == 0;
		ck_assert_uint_eq(ri.action, GN_ACTION_BOTH);
		ck_assert_uint_eq(ri.nports, 0);
		if (ri.kind == GN_KIND_NET4)
			ck_assert_uint_eq(ri.proto, strcmp(ri.pattern, "202.173.24.0/21") == 0 ?
			    GN_PROTO_TCP : (GN_PROTO_TCP | GN_PROTO_UDP));
		else
			ck_assert_ptr_nonnull(ri.points_to);
	}
	/* 9 wildcard domains; 1 exact domain, 4 Opener hosts, 5 hosts tied to ranges; 10 ranges */
	ck_assert_uint_eq(kinds[GN_KIND_DOMAIN], 9);
	ck_assert_uint_eq(kinds[GN_KIND_HOST], 10);
	ck_assert_uint_eq(kinds[GN_KIND_NET4], 10);
	ck_assert_uint_eq(kinds[GN_KIND_NET6], 0);
	ck_assert_uint_eq(kinds[GN_KIND_REGEX], 0);
	ck_assert_int_eq(noncritical, 2);
	gn_table_free(t);
}
END_TEST

/*
 * Every address rule decides its own first and last address for each of its
 * protocols, and nothing of it applies to the other protocol (the vendor's
 * ranges neither nest nor overlap).
 */
START_TEST(vendor_ranges_self)
{
	struct gn_table *t = vendor_load();
	size_t n = gn_table_rule_count(t), i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		struct gn_rule_info ri;
		uint32_t first, last;
		unsigned pr, k;

		gn_table_rule_info(t, (int32_t)i, &ri);
		if (ri.kind != GN_KIND_NET4)
			continue;
		first = (uint32_t)ri.addr[0] << 24 | (uint32_t)ri.addr[1] << 16 |
		    (uint32_t)ri.addr[2] << 8 | ri.addr[3];
		last = first | (ri.prefixlen == 32 ? 0 : 0xffffffffu >> ri.prefixlen);
		for (pr = GN_PROTO_TCP; pr <= GN_PROTO_UDP; pr++)
			for (k = 0; k < 2; k++) {
				uint32_t a = k ? last : first;
				char s[16];
				struct gn_verdict v;
				int want = (ri.proto & pr) != 0;

				snprintf(s, sizeof(s), "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
				    a & 255);
				v = unit_lookup(t, s, pr);
				if ((v.rule == (int32_t)i) != want || v.match != (want ? GN_MATCH_LISTED :
				    GN_MATCH_NONE)) {
					printf("FAIL vendor_ranges_self: %s %s: got %s rule %d, rule %zu is %s\n",
					    s, pr == GN_PROTO_TCP ? "tcp" : "udp", gn_match_name(v.match),
					    (int)v.rule, i, ri.pattern);
					bad++;
				}
			}
	}
	gn_table_free(t);
	ck_assert_int_eq(bad, 0);
}
END_TEST

static Suite *
vendor_suite(void)
{
	Suite *s = suite_create("vendor");
	TCase *tc = tcase_create("vendor");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, vendor_eval);
	tcase_add_test(tc, vendor_shape);
	tcase_add_test(tc, vendor_ranges_self);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(vendor_suite());
}
