#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ext_gotonet_acl under valgrind memcheck: every golden input, then a reload by
# SIGHUP (good file, broken file, good file again) while it serves; no memory
# error, nothing definitely or indirectly lost.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
helper=$top_builddir/ext_gotonet_acl

command -v valgrind > /dev/null 2>&1 || { echo "SKIP: valgrind not found (install the Debian package valgrind)"; exit 77; }
[ -x "$helper" ] || { echo "SKIP: $helper not built"; exit 77; }
# A sanitizer build cannot run under valgrind.
if grep -q '__asan_init' "$helper" 2> /dev/null || nm "$helper" 2> /dev/null | grep -q __asan_init; then
	echo "SKIP: sanitizer build (valgrind and ASan do not mix; the sanitizer run covers it)"
	exit 77
fi

T=$(mktemp -d /tmp/gn-vg.XXXXXX) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2> /dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail=0
VG="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"

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
		echo "FAIL: $(basename "$in"): valgrind reports (rc $rc):"
		cat "$T/$(basename "$name").vg"
		fail=1
	else
		echo "ok - $(basename "$in"): clean (rc $rc)"
	fi
done

# 2. Reloads while serving: good, broken (old rules stay), good again, then EOF.
cp etc/gotonet.rules "$T/r.rules"
mkfifo "$T/in"
$VG --log-file="$T/reload.vg" "$helper" -d all -r "$T/r.rules" < "$T/in" > "$T/out" 2> "$T/err" &
pid=$!
exec 3> "$T/in"
sleep 2
echo "1 - meet.goto.com 443 192.0.2.10 -" >&3
printf '*.goto.com label=x critical=maybe\n' > "$T/r.rules"
kill -HUP "$pid"; sleep 2
echo "2 - meet.goto.com 443 192.0.2.10 -" >&3
cp etc/gotonet.rules "$T/r.rules"
kill -HUP "$pid"; sleep 2
echo "3 - meet.goto.com 443 192.0.2.10 -" >&3
kill -USR1 "$pid"; sleep 1
exec 3>&-
wait "$pid"
rc=$?
pid=
if [ -s "$T/reload.vg" ] || [ "$rc" = 99 ]; then
	echo "FAIL: reloads: valgrind reports (rc $rc):"
	cat "$T/reload.vg"
	fail=1
else
	echo "ok - reloads under valgrind: clean (rc $rc)"
fi
n=$(grep -c '^[123] OK ' "$T/out")
[ "$n" = 3 ] && echo "ok - the vendor name was answered OK before, during and after the broken reload" ||
	{ echo "FAIL: expected 3 OK answers, got $n:"; cat "$T/out"; fail=1; }
grep -q 'critical=maybe\|bad value' "$T/err" && echo "ok - the broken file's error was logged" ||
	{ echo "FAIL: no error logged for the broken file"; tail -5 "$T/err"; fail=1; }
exit $fail
