#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The name suites again with GOTONET_NO_AVX512 set: on a machine with
# AVX-512 the library classifies names with it, and the SSE2 code that
# other machines run would otherwise go untested here.
set -u
: "${top_builddir:?}"
GOTONET_NO_AVX512=1
export GOTONET_NO_AVX512
rc=0
for t in unit_names unit_table unit_vendor; do
	prog=$top_builddir/tests/$t
	if [ ! -x "$prog" ]; then
		echo "SKIP: $prog is not built (no check library)"
		exit 77
	fi
	echo "== $t (GOTONET_NO_AVX512=1)"
	"$prog" || rc=1
done
exit $rc
