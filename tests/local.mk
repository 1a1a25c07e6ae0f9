# SPDX-License-Identifier: BSD-2-Clause
# libgotonet unit tests (check): one suite per library module, table-driven
# from tests/data/*.eval and tests/data/bad/*.rules (see tests/data/README.md).

EXTRA_DIST += tests/data

if HAVE_CHECK
gn_unit_programs = \
	tests/unit_names tests/unit_prefixes tests/unit_addr \
	tests/unit_rules tests/unit_table tests/unit_vendor
check_PROGRAMS += $(gn_unit_programs)
TESTS += $(gn_unit_programs) tests/names-sse2.sh
EXTRA_DIST += tests/names-sse2.sh

# The data is read from the source tree: top_srcdir from the test
# environment, else this compiled-in path (for running a program by hand).
gn_unit_cppflags = $(AM_CPPFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
gn_unit_cflags = $(AM_CFLAGS) $(CHECK_CFLAGS)
gn_unit_ldadd = libgotonet.la $(CHECK_LIBS)
gn_unit_common = tests/unit_common.c tests/unit_common.h

tests_unit_names_SOURCES = tests/unit_names.c $(gn_unit_common)
tests_unit_names_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_names_CFLAGS = $(gn_unit_cflags)
tests_unit_names_LDADD = $(gn_unit_ldadd)

tests_unit_prefixes_SOURCES = tests/unit_prefixes.c $(gn_unit_common)
tests_unit_prefixes_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_prefixes_CFLAGS = $(gn_unit_cflags)
tests_unit_prefixes_LDADD = $(gn_unit_ldadd)

tests_unit_addr_SOURCES = tests/unit_addr.c $(gn_unit_common)
tests_unit_addr_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_addr_CFLAGS = $(gn_unit_cflags)
tests_unit_addr_LDADD = $(gn_unit_ldadd)

tests_unit_rules_SOURCES = tests/unit_rules.c $(gn_unit_common)
tests_unit_rules_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_rules_CFLAGS = $(gn_unit_cflags)
tests_unit_rules_LDADD = $(gn_unit_ldadd)

tests_unit_table_SOURCES = tests/unit_table.c $(gn_unit_common)
tests_unit_table_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_table_CFLAGS = $(gn_unit_cflags)
tests_unit_table_LDADD = $(gn_unit_ldadd)

tests_unit_vendor_SOURCES = tests/unit_vendor.c $(gn_unit_common)
tests_unit_vendor_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_vendor_CFLAGS = $(gn_unit_cflags)
tests_unit_vendor_LDADD = $(gn_unit_ldadd)

# The same library without its SSE2 paths (parser, names, addresses), as a machine
# without SSE2 builds it: the portable code must give the same verdicts.
check_LTLIBRARIES = tests/libgotonet-portable.la
tests_libgotonet_portable_la_SOURCES = $(libgotonet_la_SOURCES)
tests_libgotonet_portable_la_CPPFLAGS = $(AM_CPPFLAGS) -U__SSE2__
tests_libgotonet_portable_la_CFLAGS = $(libgotonet_la_CFLAGS)
tests_libgotonet_portable_la_LIBADD = $(libgotonet_la_LIBADD)

gn_unit_portable = tests/unit_names_portable tests/unit_addr_portable \
	tests/unit_prefixes_portable tests/unit_table_portable tests/unit_rules_portable
check_PROGRAMS += $(gn_unit_portable)
TESTS += $(gn_unit_portable)

tests_unit_names_portable_SOURCES = tests/unit_names.c $(gn_unit_common)
tests_unit_names_portable_CPPFLAGS = $(gn_unit_cppflags) -DUNIT_LIB_PORTABLE
tests_unit_names_portable_CFLAGS = $(gn_unit_cflags)
tests_unit_names_portable_LDADD = tests/libgotonet-portable.la $(CHECK_LIBS)

tests_unit_addr_portable_SOURCES = tests/unit_addr.c $(gn_unit_common)
tests_unit_addr_portable_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_addr_portable_CFLAGS = $(gn_unit_cflags)
tests_unit_addr_portable_LDADD = tests/libgotonet-portable.la $(CHECK_LIBS)

tests_unit_prefixes_portable_SOURCES = tests/unit_prefixes.c $(gn_unit_common)
tests_unit_prefixes_portable_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_prefixes_portable_CFLAGS = $(gn_unit_cflags)
tests_unit_prefixes_portable_LDADD = tests/libgotonet-portable.la $(CHECK_LIBS)

tests_unit_table_portable_SOURCES = tests/unit_table.c $(gn_unit_common)
tests_unit_table_portable_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_table_portable_CFLAGS = $(gn_unit_cflags)
tests_unit_table_portable_LDADD = tests/libgotonet-portable.la $(CHECK_LIBS)

tests_unit_rules_portable_SOURCES = tests/unit_rules.c $(gn_unit_common)
tests_unit_rules_portable_CPPFLAGS = $(gn_unit_cppflags)
tests_unit_rules_portable_CFLAGS = $(gn_unit_cflags)
tests_unit_rules_portable_LDADD = tests/libgotonet-portable.la $(CHECK_LIBS)
else
# Without check the unit tests cannot run: say so and SKIP, never pass.
check_PROGRAMS += tests/unit_nocheck
TESTS += tests/unit_nocheck
tests_unit_nocheck_SOURCES = tests/unit_nocheck.c
endif
