/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of host name matching (names.c): wildcards, exact hosts, regexes, exceptions, normalisation. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"		/* names_classifier: which code classifies */
#include "unit_common.h"

START_TEST(names_eval)
{
	UNIT_EVAL("tests/data/names.eval");
}
END_TEST

/*
 * Every byte value, at each place of the first 80 (across the 16-byte
 * chunks of the SSE2 code and the 64-byte one of the AVX-512 code): in a
 * listed name it must match exactly when the byte is one a host name may
 * hold (letters in either case, digits, '-', '_'), and never otherwise.
 */
START_TEST(names_every_byte)
{
	static const char rules[] = "*.goto.com label=x\n";
	struct gn_diag d;
	struct gn_table *t;
	char name[96];
	int b, at, dot, bad = 0;

	gn_diag_init(&d);
	t = gn_table_load_buffer("bytes.rules", rules, sizeof(rules) - 1, &d);
	ck_assert_ptr_nonnull(t);
	for (b = 0; b < 256; b++) {
		int ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
		    (b >= '0' && b <= '9') || b == '-' || b == '_';

		for (at = 0; at < 80; at++) {
			struct gn_verdict v;

			memset(name, 'a', (size_t)at + 1);
			for (dot = 31; dot < at; dot += 32)
				name[dot] = '.';	/* labels of 63 bytes at most */
			name[at] = (char)b;
			memcpy(name + at + 1, ".goto.com", 9);
			v = gn_table_lookup(t, name, (size_t)at + 10, GN_PROTO_TCP);
			if ((v.match == GN_MATCH_LISTED) != ok) {
				printf("FAIL byte 0x%02x at %d: %s\n", b, at, gn_match_name(v.match));
				bad++;
			}
		}
	}
	gn_table_free(t);
	gn_diag_free(&d);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/*
 * Many names, with many sharing a probe sequence: every one must still be
 * found with its own rule, and no look-alike may match.
 */
#define NBIG	20000

START_TEST(names_many)
{
	struct gn_diag d;
	struct gn_table *t;
	char *text, *p, name[128];
	size_t cap = (size_t)NBIG * 2 * 64;
	int i, bad = 0;

	ck_assert_ptr_nonnull(text = malloc(cap));
	p = text;
	for (i = 0; i < NBIG; i++) {
		/* line 2i+1: a wildcard; line 2i+2: an exact host in another domain */
		p += snprintf(p, cap - (size_t)(p - text), "*.d%d.w%d.test label=w%d\n", i, i % 97, i);
		p += snprintf(p, cap - (size_t)(p - text), "h%d.e%d.test label=h%d\n", i, i % 89, i);
	}
	gn_diag_init(&d);
	t = unit_load_string("many.rules", text, &d);
	ck_assert_msg(t != NULL && d.nmsgs == 0, "many.rules did not load");
	ck_assert_uint_eq(gn_table_rule_count(t), 2 * NBIG);
	for (i = 0; i < NBIG && bad < 10; i++) {
		struct gn_verdict v;
		struct {
			const char	*fmt;
			int32_t		 rule;
		} c[] = {
			{ "d%d.w%d.test", 2 * i },
			{ "x.y.d%d.w%d.test", 2 * i },
			{ "D%d.W%d.TEST.", 2 * i },
			{ "xd%d.w%d.test", GN_NONE },
			{ "d%d.w%d.test.evil", GN_NONE },
			{ "h%d.e%d.test", 2 * i + 1 },
			{ "x.h%d.e%d.test", GN_NONE },
			{ "h%d.e%dx.test", GN_NONE },
		};
		size_t k;

		for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
			snprintf(name, sizeof(name), c[k].fmt, i, k < 5 ? i % 97 : i % 89);
			v = unit_lookup(t, name, GN_PROTO_TCP);
			if (v.rule != c[k].rule || v.target != GN_TARGET_NAME) {
				printf("FAIL names_many: %s: expected rule %d got %d (%s)\n", name,
				    (int)c[k].rule, (int)v.rule, gn_target_name(v.target));
				bad++;
			}
		}
	}
	gn_table_free(t);
	gn_diag_free(&d);
	free(text);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/*
 * GOTONET_NO_AVX512 (tests/names-sse2.sh) must take the SSE2 classifier
 * where the AVX-512 one would run, and change nothing elsewhere.
 */
START_TEST(names_classifier)
{
	static const char rules[] = "*.goto.com label=x\n";
	gn_classify_fn *fast, *sse2;
	struct gn_diag d;
	struct gn_table *t;
	const char *was = getenv("GOTONET_NO_AVX512");
	int wide = 0;

#if defined(__x86_64__) && defined(__SSE2__) && !defined(UNIT_LIB_PORTABLE)
	__builtin_cpu_init();
	wide = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
#endif
	gn_diag_init(&d);
	unsetenv("GOTONET_NO_AVX512");
	ck_assert_ptr_nonnull(t = gn_table_load_buffer("c.rules", rules, sizeof(rules) - 1, &d));
	fast = t->names.classify;
	gn_table_free(t);
	setenv("GOTONET_NO_AVX512", "1", 1);
	ck_assert_ptr_nonnull(t = gn_table_load_buffer("c.rules", rules, sizeof(rules) - 1, &d));
	sse2 = t->names.classify;
	gn_table_free(t);
	if (was != NULL)
		setenv("GOTONET_NO_AVX512", was, 1);
	else
		unsetenv("GOTONET_NO_AVX512");
	gn_diag_free(&d);
	printf("classifier: %s\n", fast != sse2 ? "AVX-512, SSE2 with GOTONET_NO_AVX512" :
	    "the same either way");
	ck_assert_int_eq(fast != sse2, wide);
}
END_TEST

static Suite *
names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, names_eval);
	tcase_add_test(tc, names_every_byte);
	tcase_add_test(tc, names_many);
	tcase_add_test(tc, names_classifier);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(names_suite());
}
