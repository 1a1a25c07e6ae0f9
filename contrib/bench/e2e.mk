# SPDX-License-Identifier: BSD-2-Clause
# --- end-to-end benchmark: `make bench-e2e` (figures, never part of make check) ---
# A real Squid on 127.0.0.1 with the helper and the shipped snippet, beside
# one with the native ACLs of `gotonet export squid`. The load client speaks
# TLS (OpenSSL: the Debian package libssl-dev), so it is built only when
# configure found libssl.
if HAVE_OPENSSL
noinst_PROGRAMS += contrib/bench/e2eload
endif
contrib_bench_e2eload_SOURCES = contrib/bench/e2eload.c contrib/bench/loadgen.c contrib/bench/loadgen.h
contrib_bench_e2eload_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
contrib_bench_e2eload_LDADD = $(OPENSSL_LIBS) -lpthread
EXTRA_DIST += contrib/bench/e2e-bench.sh
# The ICAP load client (src/icap/local.mk, included before this file) shares
# the threads, clock, latencies and options of contrib/bench/loadgen.c.
contrib_bench_icapload_SOURCES += contrib/bench/loadgen.c contrib/bench/loadgen.h

# E2E_BENCH_FLAGS passes options through, e.g.
#   make bench-e2e E2E_BENCH_FLAGS='-k -r 9 -d 10 -m cold'   (-s: one after the other)
if HAVE_OPENSSL
bench-e2e: contrib/bench/e2eload$(EXEEXT) gotonet$(EXEEXT) ext_gotonet_acl$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	    $(SHELL) $(top_srcdir)/contrib/bench/e2e-bench.sh $(E2E_BENCH_FLAGS)
else
bench-e2e:
	@echo "bench-e2e: configure found no libssl; install libssl-dev and run configure again" >&2
	@exit 1
endif
.PHONY: bench-e2e
