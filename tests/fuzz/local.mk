# SPDX-License-Identifier: BSD-2-Clause
# --- fuzzing: replay the saved inputs of each libFuzzer target under make check ---
# The targets themselves (contrib/fuzz/fuzz_*.c) are built with clang and libFuzzer by
# contrib/fuzz/run; here they are linked to a plain main that runs every file in
# tests/fuzz/corpus/TARGET and tests/fuzz/crashes/TARGET once.
GN_FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/contrib/fuzz -I$(top_srcdir)/tests/fuzz
GN_FUZZ_COMMON = tests/fuzz/replay.c tests/fuzz/oracle.c tests/fuzz/oracle.h \
	contrib/fuzz/common.c contrib/fuzz/fuzz.h

gn_fuzz_replays = tests/fuzz/replay_rules tests/fuzz/replay_lookup tests/fuzz/replay_helper \
	tests/fuzz/replay_icap
check_PROGRAMS += $(gn_fuzz_replays)
TESTS += $(gn_fuzz_replays)

tests_fuzz_replay_rules_SOURCES = $(GN_FUZZ_COMMON) contrib/fuzz/fuzz_rules.c
tests_fuzz_replay_rules_CPPFLAGS = $(GN_FUZZ_CPPFLAGS) -DGN_FUZZ_TARGET='"fuzz_rules"'
tests_fuzz_replay_rules_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
tests_fuzz_replay_rules_LDADD = libgotonet.la $(PCRE2_LIBS)

tests_fuzz_replay_lookup_SOURCES = $(GN_FUZZ_COMMON) contrib/fuzz/fuzz_lookup.c
tests_fuzz_replay_lookup_CPPFLAGS = $(GN_FUZZ_CPPFLAGS) -DGN_FUZZ_TARGET='"fuzz_lookup"'
tests_fuzz_replay_lookup_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
tests_fuzz_replay_lookup_LDADD = libgotonet.la $(PCRE2_LIBS)

# The helper's request parser and decision, and the ICAP module's target reading,
# linked from their own sources (neither needs Squid or c-icap).
tests_fuzz_replay_helper_SOURCES = $(GN_FUZZ_COMMON) contrib/fuzz/fuzz_helper.c \
	src/helper/parse.c src/helper/decide.c src/helper/acl.h
tests_fuzz_replay_helper_CPPFLAGS = $(GN_FUZZ_CPPFLAGS) -I$(top_srcdir)/src/helper \
	-DGN_FUZZ_TARGET='"fuzz_helper"'
tests_fuzz_replay_helper_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
tests_fuzz_replay_helper_LDADD = libgotonet.la $(PCRE2_LIBS)

tests_fuzz_replay_icap_SOURCES = $(GN_FUZZ_COMMON) contrib/fuzz/fuzz_icap.c \
	src/icap/target.c src/icap/icap.h
tests_fuzz_replay_icap_CPPFLAGS = $(GN_FUZZ_CPPFLAGS) -I$(top_srcdir)/src/icap \
	-DGN_FUZZ_TARGET='"fuzz_icap"'
tests_fuzz_replay_icap_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS)
tests_fuzz_replay_icap_LDADD = libgotonet.la $(PCRE2_LIBS)

EXTRA_DIST += contrib/fuzz/run contrib/fuzz/README.md \
	contrib/fuzz/fuzz_rules.dict contrib/fuzz/fuzz_lookup.dict \
	contrib/fuzz/fuzz_helper.dict contrib/fuzz/fuzz_icap.dict \
	tests/fuzz/corpus tests/fuzz/crashes
