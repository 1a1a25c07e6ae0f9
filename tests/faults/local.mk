# SPDX-License-Identifier: BSD-2-Clause
# Fault injection (issue 6, section 2): the helper and c-icap with broken
# input, broken rules files, dead helpers and a dead c-icap; valgrind on the
# helper (valgrind-helper.sh: memcheck on every golden input and on reloads).

gn_fault_tests = tests/faults/helper-faults.sh tests/faults/cicap-faults.sh \
	tests/faults/squid-helper-kill.sh tests/faults/valgrind-helper.sh
TESTS += $(gn_fault_tests)
EXTRA_DIST += $(gn_fault_tests)
