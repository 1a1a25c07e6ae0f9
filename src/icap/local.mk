# SPDX-License-Identifier: BSD-2-Clause
# srv_gotonet: the c-icap service module, its man page, config snippets, tests and load benchmark.

if WITH_CICAP
cicapmodule_LTLIBRARIES = srv_gotonet.la
srv_gotonet_la_SOURCES = src/icap/srv_gotonet.c src/icap/target.c src/icap/icap.h
srv_gotonet_la_CFLAGS = $(AM_CFLAGS) $(CICAP_CFLAGS)
# Export only the service table and the "keep me loaded" flag: c-icap loads
# modules RTLD_GLOBAL.
srv_gotonet_la_LDFLAGS = -module -avoid-version -shared -export-symbols-regex '^(service|__c_icap_module_disable_force_unload)$$'
srv_gotonet_la_LIBADD = libgotonet.la $(CICAP_LIBS)

dist_man_MANS += src/icap/srv_gotonet.8

# The snippets admins include, with the installed paths filled in:
# $(gnsysconfdir)/c-icap.conf for c-icap.conf, $(gnsysconfdir)/squid-icap.conf for squid.conf.
nodist_gnsysconf_DATA += src/icap/c-icap.conf src/icap/squid-icap.conf
src/icap/c-icap.conf: $(top_srcdir)/etc/c-icap/gotonet.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) src/icap && sed \
	    -e 's|@MODULE@|$(cicapmoduledir)/srv_gotonet.so|g' -e 's|//*srv_gotonet\.so|/srv_gotonet.so|' \
	    -e 's|@RULES@|$(gnsysconfdir)/gotonet.rules|g' \
	    -e 's|@LOGDIR@|$(localstatedir)/log/c-icap|g' \
	    $(top_srcdir)/etc/c-icap/gotonet.conf > $@.tmp && mv $@.tmp $@
src/icap/squid-icap.conf: $(top_srcdir)/etc/squid/gotonet-icap.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) src/icap && sed \
	    -e 's|@ICAP_URL@|icap://127.0.0.1:1344|g' \
	    $(top_srcdir)/etc/squid/gotonet-icap.conf > $@.tmp && mv $@.tmp $@
CLEANFILES += src/icap/c-icap.conf src/icap/squid-icap.conf

# c-icap loads .so files only; Debian's module directory holds no .la files.
install-data-hook: srv-gotonet-install-hook
srv-gotonet-install-hook:
	rm -f $(DESTDIR)$(cicapmoduledir)/srv_gotonet.la
uninstall-hook: srv-gotonet-uninstall-hook
srv-gotonet-uninstall-hook:
	rm -f $(DESTDIR)$(cicapmoduledir)/srv_gotonet.so
endif

EXTRA_DIST += etc/c-icap/gotonet.conf etc/squid/gotonet-icap.conf

# Target parsing, table-driven (no c-icap needed).
check_PROGRAMS += tests/icap/target_test
tests_icap_target_test_SOURCES = tests/icap/target_test.c src/icap/target.c src/icap/icap.h
tests_icap_target_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/icap
TESTS += tests/icap/target_test

# Integration tests: the real c-icap server (and Squid) on 127.0.0.1.
gn_icap_tests = tests/icap/cicap.sh tests/icap/squid-chain.sh tests/icap/squid-splice.sh
TESTS += $(gn_icap_tests)
EXTRA_DIST += $(gn_icap_tests) tests/icap/lib.sh tests/icap/data

# --- ICAP load benchmark: `make bench-icap` (figures, never part of make check) ---
noinst_PROGRAMS += contrib/bench/icapload
contrib_bench_icapload_SOURCES = contrib/bench/icapload.c
contrib_bench_icapload_LDADD = -lpthread
EXTRA_DIST += contrib/bench/icap-bench.sh

# ICAP_BENCH_FLAGS passes options through, e.g. make bench-icap ICAP_BENCH_FLAGS='-t 8 -d 10'.
bench-icap: contrib/bench/icapload$(EXEEXT) all
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	    $(SHELL) $(top_srcdir)/contrib/bench/icap-bench.sh $(ICAP_BENCH_FLAGS)
.PHONY: bench-icap srv-gotonet-install-hook srv-gotonet-uninstall-hook
