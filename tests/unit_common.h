/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared helpers of the libgotonet unit tests: the .eval runner, the bad-rules checker, paths. */
#ifndef UNIT_COMMON_H
#define UNIT_COMMON_H

#include <stddef.h>

#include <check.h>

#include "gotonet.h"

/*
 * Absolute path of rel (relative to the top of the source tree): from the
 * top_srcdir environment variable the test harness exports, else from the
 * TOP_SRCDIR compiled in. The caller frees it.
 */
char		*unit_path(const char *rel);

/*
 * Run every case of the evaluation table rel (see tests/data/README.md),
 * printing "FAIL file.eval:N: expected X got Y" for each mismatch. Returns
 * the number of failed cases (syntax errors in the table count as failures)
 * and stores the number of cases in *ncases.
 */
int		 unit_eval(const char *rel, int *ncases);

/*
 * The same, counting in hits[id] the cases (lookups) that each rule of the
 * last table loaded decided as expected; nhits is the size of hits.
 */
int		 unit_eval_cover(const char *rel, int *ncases, unsigned *hits, size_t nhits);

/*
 * Load every *.rules file in the directory rel and compare the loader's
 * messages with the file's "# expect: " lines: the loader must return NULL
 * and produce exactly those messages, in that order. Returns the number of
 * failed files; *nfiles gets the number of files checked.
 */
int		 unit_bad_dir(const char *rel, int *nfiles);

/* Keep the runners silent (for their own self-test, which fails on purpose). */
void		 unit_set_quiet(int);

/* Load rules from a string (name is used in messages). */
struct gn_table	*unit_load_string(const char *name, const char *text, struct gn_diag *);

/* Look up a NUL-terminated target. */
struct gn_verdict unit_lookup(const struct gn_table *, const char *target, unsigned proto);

/* Check an eval table inside a check test; fails the test when a case fails. */
#define UNIT_EVAL(rel) do {						\
	int n_ = 0, f_ = unit_eval((rel), &n_);				\
	ck_assert_msg(f_ == 0, "%s: %d of %d cases failed", (rel), f_, n_); \
	ck_assert_msg(n_ > 0, "%s: no cases", (rel));			\
} while (0)

/* Run a suite with check's normal output; returns the exit status for automake. */
int		 unit_run(Suite *);

#endif /* UNIT_COMMON_H */
