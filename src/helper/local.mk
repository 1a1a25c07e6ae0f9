# SPDX-License-Identifier: BSD-2-Clause
# ext_gotonet_acl: the Squid external ACL helper, its man page, squid.conf snippet, tests and benchmark.

squidhelper_PROGRAMS = ext_gotonet_acl
ext_gotonet_acl_SOURCES = src/helper/ext_gotonet_acl.c src/helper/acl.h \
	src/helper/parse.c src/helper/decide.c
ext_gotonet_acl_LDADD = libgotonet.la

dist_man_MANS += src/helper/ext_gotonet_acl.8

# The snippet admins include (/etc/gotonet/squid.conf), with the installed
# paths filled in; the integration tests fill in their own.
nodist_gnsysconf_DATA += src/helper/squid.conf
src/helper/squid.conf: $(top_srcdir)/etc/squid/gotonet.conf Makefile
	$(AM_V_GEN)$(MKDIR_P) src/helper && sed \
	    -e 's|@HELPER@|$(squidhelperdir)/ext_gotonet_acl|g' \
	    -e 's|@RULES@|$(gnsysconfdir)/gotonet.rules|g' \
	    $(top_srcdir)/etc/squid/gotonet.conf > $@.tmp && mv $@.tmp $@
CLEANFILES += src/helper/squid.conf src/helper/squid.conf.tmp
EXTRA_DIST += etc/squid/gotonet.conf

# Protocol golden tests (NAME.in piped through the helper, compared with
# NAME.out and NAME.err; NAME.args gives its options), signal handling, and
# the real Squid: bypass and routing, fail-closed with a broken helper, and
# Squid's answer cache across a SIGHUP and a reconfigure.
gn_helper_golden = badrules concurrency format format2 garbage logall logbypass \
	norules notag policy spoof vendor
TESTS += tests/helper/golden.sh tests/helper/signals.sh \
	tests/helper/squid-bypass.sh tests/helper/squid-failclosed.sh tests/helper/squid-reload.sh
EXTRA_DIST += tests/helper/golden.sh tests/helper/signals.sh \
	tests/helper/squid-bypass.sh tests/helper/squid-failclosed.sh tests/helper/squid-reload.sh \
	tests/helper/broken-helper.py tests/helper/data/policy.rules tests/helper/data/bad.rules \
	$(gn_helper_golden:%=tests/helper/%.in) $(gn_helper_golden:%=tests/helper/%.out) \
	$(gn_helper_golden:%=tests/helper/%.err) \
	tests/helper/badrules.args tests/helper/format.args tests/helper/format2.args \
	tests/helper/logall.args tests/helper/logbypass.args tests/helper/norules.args \
	tests/helper/notag.args tests/helper/policy.args \
	tests/lib/squid-env.sh tests/lib/origin.py

# Helper benchmark (not a test): `make bench-helper`. Throughput through pipes
# and one-at-a-time latency of ext_gotonet_acl with the shipped list and with
# the synthetic 100k+100k list (GN_BENCH_RULES, from contrib/bench/local.mk),
# beside a bare C helper that answers OK without matching (the baseline) and
# a typical Python helper. HELPERBENCH_FLAGS passes options, e.g. -n 4000000.
noinst_PROGRAMS += contrib/bench/helperbench contrib/bench/helperbench-bare
contrib_bench_helperbench_SOURCES = contrib/bench/helperbench.c
contrib_bench_helperbench_LDADD = libgotonet.la
contrib_bench_helperbench_bare_SOURCES = contrib/bench/helperbench-bare.c
EXTRA_DIST += contrib/bench/helper-python.py

bench-helper: ext_gotonet_acl$(EXEEXT) contrib/bench/helperbench$(EXEEXT) \
    contrib/bench/helperbench-bare$(EXEEXT) $(GN_BENCH_RULES)
	contrib/bench/helperbench $(HELPERBENCH_FLAGS) \
	    -s shipped=$(top_srcdir)/etc/gotonet.rules -s synthetic=$(GN_BENCH_RULES) \
	    -h 'bare|shipped|contrib/bench/helperbench-bare' \
	    -h 'python|shipped|python3 $(top_srcdir)/contrib/bench/helper-python.py $(top_srcdir)/etc/gotonet.rules' \
	    -h 'python-loop|shipped|python3 $(top_srcdir)/contrib/bench/helper-python.py --loop' \
	    -h 'gotonet|shipped|./ext_gotonet_acl -F sni,host,port -d none -r $(top_srcdir)/etc/gotonet.rules 2>/dev/null' \
	    -h 'gotonet-logged|shipped|./ext_gotonet_acl -F sni,host,port -d bypass -r $(top_srcdir)/etc/gotonet.rules 2>/dev/null' \
	    -h 'gotonet-100k|synthetic|./ext_gotonet_acl -F sni,host,port -d none -r $(GN_BENCH_RULES) 2>/dev/null'
.PHONY: bench-helper
