# SPDX-License-Identifier: BSD-2-Clause
# Fault injection (issue 6, section 2): the helper and c-icap with broken
# input, broken rules files, dead helpers and a dead c-icap; valgrind memcheck
# on the helper (every golden input and reloads) and on c-icap with the module
# (requests of every kind and reconfigures; cicap.supp holds c-icap's own
# errors). lib.sh: the shell the fault tests share.

gn_fault_tests = tests/faults/helper-faults.sh tests/faults/cicap-faults.sh \
	tests/faults/squid-helper-kill.sh tests/faults/valgrind-helper.sh \
	tests/faults/valgrind-cicap.sh
TESTS += $(gn_fault_tests)
EXTRA_DIST += $(gn_fault_tests) tests/faults/lib.sh tests/faults/cicap.supp
