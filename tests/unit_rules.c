/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the rules parser (rules.c): every error message, all in one pass, includes, versions. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_common.h"

START_TEST(rules_eval)
{
	UNIT_EVAL("tests/data/rules.eval");
}
END_TEST

/* Every broken file under tests/data/bad/ gives exactly the errors in its header. */
START_TEST(rules_bad)
{
	int n = 0, f = unit_bad_dir("tests/data/bad", &n);

	ck_assert_msg(f == 0, "%d of %d broken rules files gave other messages", f, n);
	ck_assert_msg(n >= 25, "only %d broken rules files found", n);
}
END_TEST

START_TEST(rules_version)
{
	struct gn_diag d;
	struct gn_table *t;
	char *path = unit_path("tests/data/include.rules");

	gn_diag_init(&d);
	ck_assert_ptr_nonnull(t = gn_table_load(path, &d));
	ck_assert_str_eq(gn_table_version(t), "include-test 7");
	gn_table_free(t);

	/* Several words are joined by one space; no version is "". */
	t = unit_load_string("v.rules", "version  a\tb   c  # comment\n*.x.example label=x\n", &d);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(gn_table_version(t), "a b c");
	gn_table_free(t);
	t = unit_load_string("v.rules", "*.x.example label=x\n", &d);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(gn_table_version(t), "");
	gn_table_free(t);
	ck_assert_uint_eq(d.nmsgs, 0);
	gn_diag_free(&d);
	free(path);
}
END_TEST

/* A file that cannot be opened: NULL and one message naming it. */
START_TEST(rules_missing_file)
{
	struct gn_diag d;
	char *path = unit_path("tests/data/no-such-file.rules");

	gn_diag_init(&d);
	ck_assert_ptr_null(gn_table_load(path, &d));
	ck_assert_uint_eq(d.nerrors, 1);
	ck_assert_uint_eq(d.nmsgs, 1);
	ck_assert_msg(strncmp(d.msgs[0], path, strlen(path)) == 0, "'%s' does not name the file",
	    d.msgs[0]);
	ck_assert_msg(strstr(d.msgs[0], strerror(ENOENT)) != NULL, "'%s' gives no reason", d.msgs[0]);
	gn_diag_free(&d);
	free(path);
}
END_TEST

/* Empty input is an empty list, not an error. */
START_TEST(rules_empty)
{
	static const char *const texts[] = { "", "\n", "# comment only", "\n\n  \t\n# x\n" };
	struct gn_diag d;
	struct gn_table *t;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		gn_diag_init(&d);
		t = unit_load_string("empty.rules", texts[i], &d);
		/* BUG: an empty buffer reports "empty.rules:1: NUL byte in line" */
		ck_assert_msg(t != NULL, "text %zu ('%s') did not load: %s", i, texts[i],
		    d.nmsgs ? d.msgs[0] : "no message");
		ck_assert_uint_eq(gn_table_rule_count(t), 0);
		ck_assert_int_eq(unit_lookup(t, "example.com", GN_PROTO_TCP).match, GN_MATCH_NONE);
		gn_table_free(t);
		gn_diag_free(&d);
	}
}
END_TEST

/* A buffer is named like a file: in messages, and as the base of relative includes. */
START_TEST(rules_buffer_name)
{
	struct gn_diag d;
	struct gn_table *t;
	struct gn_rule_info ri;
	struct gn_verdict v;
	char *name = unit_path("tests/data/virtual.rules");
	char *want = NULL;

	gn_diag_init(&d);
	t = unit_load_string(name, "*.a.example label=a\ninclude inc/other.inc\n", &d);
	ck_assert_msg(t != NULL, "%s", d.nmsgs ? d.msgs[0] : "?");
	v = unit_lookup(t, "x.other.example", GN_PROTO_TCP);
	ck_assert_int_eq(v.match, GN_MATCH_LISTED);
	ck_assert_int_eq(gn_table_rule_info(t, v.rule, &ri), 0);
	ck_assert_uint_eq(ri.line, 2);
	ck_assert_ptr_nonnull(strstr(ri.file, "tests/data/inc/other.inc"));
	ck_assert_int_eq(gn_table_rule_info(t, 0, &ri), 0);
	ck_assert_str_eq(ri.file, name);
	gn_table_free(t);

	t = unit_load_string(name, "*.a.example label=a\n*.b.example lable=b\n", &d);
	ck_assert_ptr_null(t);
	ck_assert_uint_eq(d.nmsgs, 1);
	ck_assert_int_ne(asprintf(&want, "%s:2: unknown attribute 'lable'", name), -1);
	ck_assert_str_eq(d.msgs[0], want);
	gn_diag_free(&d);
	free(want);
	free(name);
}
END_TEST

/* Without a diag the loader still refuses a broken file and does not crash. */
START_TEST(rules_null_diag)
{
	char *path = unit_path("tests/data/bad/multi.rules");
	struct gn_table *t;

	ck_assert_ptr_null(gn_table_load(path, NULL));
	ck_assert_ptr_null(unit_load_string("x.rules", "*.x.example critcal=no\n", NULL));
	ck_assert_ptr_nonnull(t = unit_load_string("x.rules", "*.x.example label=x\n", NULL));
	gn_table_free(t);
	gn_table_free(NULL);
	free(path);
}
END_TEST

/*
 * A diag collects across loads (a caller may load several lists), and every
 * message of a failed load is an error with a file:line prefix.
 */
START_TEST(rules_diag)
{
	struct gn_diag d;
	size_t i;
	char *path = unit_path("tests/data/bad/multi.rules");

	gn_diag_init(&d);
	ck_assert_ptr_null(gn_table_load(path, &d));
	ck_assert_uint_eq(d.nerrors, 8);
	ck_assert_uint_eq(d.nwarnings, 0);
	ck_assert_ptr_null(unit_load_string("y.rules", "version\n", &d));
	ck_assert_uint_eq(d.nerrors, 9);
	ck_assert_str_eq(d.msgs[8], "y.rules:1: version needs a value");
	for (i = 0; i < d.nmsgs; i++)
		ck_assert_msg(strstr(d.msgs[i], ".rules:") != NULL || strstr(d.msgs[i], ".inc:") != NULL,
		    "no file:line in '%s'", d.msgs[i]);
	ck_assert_int_eq(gn_diag_add(&d, 1, "a warning %d", 7), 0);
	ck_assert_uint_eq(d.nwarnings, 1);
	ck_assert_str_eq(d.msgs[9], "a warning 7");
	gn_diag_free(&d);
	ck_assert_uint_eq(d.nmsgs, 0);
	ck_assert_int_eq(gn_diag_add(NULL, 0, "ignored"), 0);
	free(path);
}
END_TEST

/* Loading the same file twice gives the same table. */
START_TEST(rules_reload)
{
	struct gn_diag d;
	struct gn_table *a, *b;
	char *path = unit_path("etc/gotonet.rules");

	gn_diag_init(&d);
	ck_assert_ptr_nonnull(a = gn_table_load(path, &d));
	ck_assert_ptr_nonnull(b = gn_table_load(path, &d));
	ck_assert_uint_eq(gn_table_digest(a), gn_table_digest(b));
	ck_assert_uint_eq(gn_table_rule_count(a), gn_table_rule_count(b));
	ck_assert_str_eq(gn_table_version(a), gn_table_version(b));
	gn_table_free(a);
	gn_table_free(b);
	gn_diag_free(&d);
	free(path);
}
END_TEST

/* The runners themselves: a table and a directory that are wrong on purpose. */
START_TEST(rules_runner_selftest)
{
	int n = 0, f;

	unit_set_quiet(1);
	f = unit_eval("tests/data/selftest/runner.eval", &n);
	unit_set_quiet(0);
	ck_assert_int_eq(n, 12);
	ck_assert_int_eq(f, 16);
	unit_set_quiet(1);
	f = unit_bad_dir("tests/data/selftest/bad", &n);
	unit_set_quiet(0);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(f, 4);
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rules_eval);
	tcase_add_test(tc, rules_bad);
	tcase_add_test(tc, rules_version);
	tcase_add_test(tc, rules_missing_file);
	tcase_add_test(tc, rules_empty);
	tcase_add_test(tc, rules_buffer_name);
	tcase_add_test(tc, rules_null_diag);
	tcase_add_test(tc, rules_diag);
	tcase_add_test(tc, rules_reload);
	tcase_add_test(tc, rules_runner_selftest);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(rules_suite());
}
