#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ext_gotonet_acl under valgrind memcheck: every golden input, then a reload by
# SIGHUP (good file, broken file, good file again) while it serves; no memory
# error, nothing definitely or indirectly lost.
set -u
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/faults/lib.sh"
gf_need_helper
helper=$GF_HELPER
gf_need_valgrind "$helper"
gn_setup
T=$GN_T
VG="$GF_VG --quiet"

cd "$top_srcdir" || exit 1
# 1. Every golden input, with its own arguments.
for in in tests/helper/*.in; do
	name=${in%.in}
	args=
	[ -f "$name.args" ] && args=$(cat "$name.args")
	# shellcheck disable=SC2086
	$VG --log-file="$T/$(basename "$name").vg" "$helper" $args < "$in" > "$T/out" 2> "$T/err"
	rc=$?
	if [ -s "$T/$(basename "$name").vg" ] || [ "$rc" = 99 ]; then
		gn_fail "$(basename "$in"): valgrind reports (rc $rc):"
		cat "$T/$(basename "$name").vg"
	else
		gn_ok "$(basename "$in"): clean (rc $rc)"
	fi
done

# 2. Reloads while serving: good, broken (old rules stay), good again, then EOF.
cp etc/gotonet.rules "$T/r.rules"
mkfifo "$T/in"
$VG --log-file="$T/reload.vg" "$helper" -d all -r "$T/r.rules" < "$T/in" > "$T/out" 2> "$T/err" &
pid=$!
GN_PIDS=$pid
exec 3> "$T/in"
# Under valgrind on a busy machine a load takes seconds: wait for what the
# helper says, not for a fixed time.
wait_for() {	# FILE COUNT PATTERN
	_i=0
	while [ "$(grep -c -- "$3" "$1" 2>/dev/null)" -lt "$2" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 1200 ] && { gn_fail "no '$3' in $1 after 120 s"; cat "$1"; break; }
		sleep 0.1
	done
}
wait_for "$T/err" 1 'loaded .*r.rules'
echo "1 - meet.goto.com 443 192.0.2.10 -" >&3
wait_for "$T/out" 1 '^1 '
printf '*.goto.com label=x critical=maybe\n' > "$T/r.rules"
kill -HUP "$pid"
wait_for "$T/err" 1 'keeping the rules in force'
echo "2 - meet.goto.com 443 192.0.2.10 -" >&3
wait_for "$T/out" 1 '^2 '
cp etc/gotonet.rules "$T/r.rules"
kill -HUP "$pid"
wait_for "$T/err" 2 'loaded .*r.rules'
echo "3 - meet.goto.com 443 192.0.2.10 -" >&3
wait_for "$T/out" 1 '^3 '
kill -USR1 "$pid"; sleep 1
exec 3>&-
wait "$pid"
rc=$?
GN_PIDS=
if [ -s "$T/reload.vg" ] || [ "$rc" = 99 ]; then
	gn_fail "reloads: valgrind reports (rc $rc):"
	cat "$T/reload.vg"
else
	gn_ok "reloads under valgrind: clean (rc $rc)"
fi
n=$(grep -c '^[123] OK ' "$T/out")
[ "$n" = 3 ] && gn_ok "the vendor name was answered OK before, during and after the broken reload" ||
	{ gn_fail "expected 3 OK answers, got $n:"; cat "$T/out"; }
grep -q 'critical=maybe\|bad value' "$T/err" && gn_ok "the broken file's error was logged" ||
	{ gn_fail "no error logged for the broken file"; tail -5 "$T/err"; }
gn_finish
