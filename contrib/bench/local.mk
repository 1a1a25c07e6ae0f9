# SPDX-License-Identifier: BSD-2-Clause
# --- benchmark: `make bench` (never part of make check; figures, not assertions) ---
# Built with the normal flags so that it keeps compiling; run only on demand.
noinst_PROGRAMS += contrib/bench/bench
contrib_bench_bench_SOURCES = contrib/bench/bench.c
contrib_bench_bench_LDADD = libgotonet.la
# So that the figures say what they were measured with.
contrib_bench_bench_CPPFLAGS = $(AM_CPPFLAGS) -DGN_BENCH_CFLAGS='"$(CFLAGS)"'

EXTRA_DIST += contrib/bench/gen-rules

# 100k wildcard domains (+10k hosts) and 100k prefixes; a fixed seed keeps runs comparable.
GN_BENCH_N = 100000
GN_BENCH_SEED = 1
GN_BENCH_RULES = contrib/bench/synthetic-$(GN_BENCH_N).rules
CLEANFILES += $(GN_BENCH_RULES) $(GN_BENCH_RULES).tmp

$(GN_BENCH_RULES): $(top_srcdir)/contrib/bench/gen-rules
	@$(MKDIR_P) contrib/bench
	$(AM_V_GEN)$(SHELL) $(top_srcdir)/contrib/bench/gen-rules $(GN_BENCH_N) $(GN_BENCH_SEED) >$@.tmp && mv $@.tmp $@

# BENCH_FLAGS passes options through, e.g. make bench BENCH_FLAGS='-q 4000000'.
bench: contrib/bench/bench$(EXEEXT) $(GN_BENCH_RULES)
	contrib/bench/bench$(EXEEXT) $(BENCH_FLAGS) $(top_srcdir)/etc/gotonet.rules $(GN_BENCH_RULES)
.PHONY: bench
