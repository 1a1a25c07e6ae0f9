# SPDX-License-Identifier: BSD-2-Clause
# --- soak: `make soak` (issue 6, section 3; never part of make check: figures, not a timed test) ---
# 10M request lines through ext_gotonet_acl and 1M REQMOD requests through c-icap with srv_gotonet,
# every answer checked, RSS and open fds sampled. Built with the normal flags so that it keeps compiling.
noinst_PROGRAMS += contrib/soak/soakdrive
# loadgen (contrib/bench): TCP connections, full writes and option numbers, as in the load clients.
contrib_soak_soakdrive_SOURCES = contrib/soak/soakdrive.c contrib/bench/loadgen.c contrib/bench/loadgen.h
contrib_soak_soakdrive_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/contrib/bench
contrib_soak_soakdrive_LDADD = libgotonet.la -lpthread
EXTRA_DIST += contrib/soak/soak.sh

# SOAK_FLAGS passes options through, e.g. make soak SOAK_FLAGS='-n 100000 -m 10000' for a short run.
soak: contrib/soak/soakdrive$(EXEEXT) all
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	    $(SHELL) $(top_srcdir)/contrib/soak/soak.sh $(SOAK_FLAGS)
.PHONY: soak
