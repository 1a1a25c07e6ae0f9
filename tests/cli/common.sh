# SPDX-License-Identifier: BSD-2-Clause
# Sourced by the gotonet(1) tests: paths, a private temporary directory, skip and fail.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
GOTONET=$top_builddir/gotonet
DATA=$top_srcdir/tests/cli/data
RULES=$top_srcdir/etc/gotonet.rules
TEST_NAME=$(basename "$0" .test)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gn-$TEST_NAME.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

fail() {
	echo "FAIL: $TEST_NAME: $*"
	exit 1
}

[ -x "$GOTONET" ] || { echo "ERROR: $GOTONET not built"; exit 99; }

PROBE=$top_builddir/tests/cli/gn_probe
[ -x "$PROBE" ] || { echo "ERROR: $PROBE not built"; exit 99; }

# What the library says, one line per target: "TARGET MATCH ACTION PORTS",
# with ACTION and PORTS "-" when there are none. Extra arguments go to check
# (-u for UDP). Reads targets on stdin.
verdicts() {
	_rules=$1
	shift
	# What follows the label's closing quote is the attribute list.
	xargs "$GOTONET" check "$@" -r "$_rules" 2>/dev/null | awk '{
		n = split($0, q, "\""); tail = n > 1 ? q[n] : ""; a = "-"; p = "-"
		if (match(tail, /action=[a-z,]+/)) a = substr(tail, RSTART + 7, RLENGTH - 7)
		if (match(tail, /ports=[0-9,-]+/)) p = substr(tail, RSTART + 6, RLENGTH - 6)
		print $1, $2, a, p
	}'
}

# Addresses and names among the probe targets of a rules file.
probe_targets() {
	"$PROBE" probes "$1" | sort -u
}

is_addr() {
	case $1 in
	*:*) return 0 ;;
	*[!0-9.]*) return 1 ;;
	*) return 0 ;;
	esac
}
