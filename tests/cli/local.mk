# SPDX-License-Identifier: BSD-2-Clause
# gotonet(1) tests: lint against a golden file; each export fed to its real
# consumer (squid -k parse, nft, iptables-restore, node for the PAC file);
# routes checked by address arithmetic; import of the vendor document.

check_PROGRAMS += tests/cli/gn_probe
tests_cli_gn_probe_SOURCES = tests/cli/gn_probe.c
tests_cli_gn_probe_LDADD = libgotonet.la

gn_cli_tests = \
	tests/cli/lint.test \
	tests/cli/export-squid.test \
	tests/cli/export-squid-live.test \
	tests/cli/export-pac.test \
	tests/cli/export-nft.test \
	tests/cli/export-iptables.test \
	tests/cli/export-routes.test \
	tests/cli/import.test \
	tests/cli/logrotate.test \
	tests/cli/demo.test
TESTS += $(gn_cli_tests)
EXTRA_DIST += $(gn_cli_tests) tests/cli/common.sh tests/cli/pac-eval.js tests/cli/data \
	contrib/logrotate/gotonet contrib/demo

# The one-command demo (contrib/demo): real Squids with ssl_bump, one with the
# helper, one with c-icap and srv_gotonet, on 127.0.0.1; a table of what happened.
demo: all
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/contrib/demo
.PHONY: demo
