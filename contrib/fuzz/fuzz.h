/* SPDX-License-Identifier: BSD-2-Clause */
/* What the fuzz targets share: the libFuzzer entry points and the comparison with the oracle. */
#ifndef GN_FUZZ_H
#define GN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "gotonet.h"
#include "oracle.h"

/* libFuzzer's entry points; tests/fuzz/replay.c calls them the same way. */
int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print what went wrong (printf-style, with the rules that were loaded) and abort(). */
void	gn_fuzz_fail(const char *rules, size_t rules_len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4), noreturn));

/*
 * Look target up in the table and in the oracle, for TCP and for UDP; abort
 * with both verdicts when they differ. rules is the text that was loaded,
 * for the report.
 */
void	gn_fuzz_compare(const struct gn_table *, const struct gn_oracle *, const char *target,
	    size_t len, const char *rules, size_t rules_len);

/*
 * Compare table and oracle on the targets a rule is about: the name itself,
 * in upper case, with a trailing dot, one label up and one down, glued to a
 * neighbour; for a prefix its first and last address and the one after, bare,
 * bracketed and IPv4-mapped.
 */
void	gn_fuzz_probe_rule(const struct gn_table *, const struct gn_oracle *,
	    const struct gn_rule_info *, const char *rules, size_t rules_len);

#endif /* GN_FUZZ_H */
