#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# c-icap with srv_gotonet.so under valgrind memcheck: OPTIONS, REQMOD and
# RESPMOD (listed, unlisted, spoofed header, CONNECT, a body echoed back), a
# reconfigure, a reconfigure with broken rules and one back; then c-icap is
# stopped and every process's report (the main process and each server it
# forked, one log per PID) must hold no error: no invalid read or write, no
# use of uninitialised memory, nothing definitely or indirectly lost.
#
# c-icap 0.5.10 has errors of its own (its configuration and its pid file
# path at exit): tests/faults/cicap.supp suppresses those, each entry
# commented, and only with frames of c-icap itself, so that anything our
# module allocates or touches still shows. To regenerate the entries after
# a c-icap upgrade: GN_VG_GEN=1 GN_KEEP=1 make check TESTS=tests/faults/valgrind-cicap.sh
# and read the vg.* logs.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/faults/lib.sh"
gf_need_valgrind "$GN_MODULE"
gn_need_cicap
gn_setup
supp=$top_srcdir/tests/faults/cicap.supp
O=$GN_T/out

# One server process with a few threads: fewer reports, and valgrind runs
# the threads one at a time anyway. Every decision logged, so that the
# module's logging runs too.
cp "$top_srcdir/etc/gotonet.rules" "$GN_T/r.rules"
GN_CICAP_PORT=$(gn_free_port)
gn_cicap_conf "$GN_T/r.rules"
sed -i -e 's/^MaxServers .*/MaxServers 1/' -e 's/^ThreadsPerChild .*/ThreadsPerChild 4/' \
    -e 's/^MaxSpareThreads .*/MaxSpareThreads 4/' "$GN_T/c-icap.conf"
sed -i 's/^gotonet.LogVerdicts off/gotonet.LogVerdicts on/' "$GN_T/gotonet.conf"

# -N: c-icap stays in the foreground, so $! is its main process. Its servers
# are forked (valgrind follows a fork by itself; --trace-children covers an
# exec) and each writes vg.PID. --keep-debuginfo names our module's frames
# even after a reconfigure has unloaded it.
gen=
[ -z "${GN_VG_GEN:-}" ] || gen=--gen-suppressions=all
# shellcheck disable=SC2086
$GF_VG --trace-children=yes --keep-debuginfo=yes --num-callers=40 --suppressions="$supp" $gen \
    --log-file="$GN_T/vg.%p" c-icap -N -f "$GN_T/c-icap.conf" < /dev/null > "$GN_T/c-icap.out" 2>&1 &
GN_CICAP_PID=$!
GN_PIDS="$GN_PIDS $GN_CICAP_PID"
i=0
until gn_listening "$GN_CICAP_PORT"; do
	kill -0 "$GN_CICAP_PID" 2> /dev/null || gn_fatal "c-icap under valgrind exited: $(cat "$GN_T/c-icap.out")"
	[ $i -lt 600 ] || gn_fatal "c-icap under valgrind does not listen on 127.0.0.1:$GN_CICAP_PORT"
	sleep 0.1
	i=$((i + 1))
done

expect()
{
	# expect DESCRIPTION STATUS MARK c-icap-client-arguments...: MARK is
	# "marked" (X-Gotonet-Bypass added), "none" (no such header) or "-"
	_d=$1 _s=$2 _m=$3
	shift 3
	gn_icap "$O" -s gotonet "$@"
	_got=$(gn_icap_status "$O")
	_h=$(gn_http_header "$O" X-Gotonet-Bypass)
	if [ "$_got" = "$_s" ] && { [ "$_m" = - ] || { [ "$_m" = marked ] && [ -n "$_h" ]; } ||
	    { [ "$_m" = none ] && [ -z "$_h" ]; }; }; then
		gn_ok "$_d: $_s${_h:+ ($_h)}"
	else
		gn_fail "$_d: expected $_s $_m, got ${_got:-nothing} ${_h:+with X-Gotonet-Bypass $_h}"
		cat "$O"
	fi
}

head -c 20000 /dev/urandom > "$GN_T/body"
drive()
{
	# drive ROUND: every path of the module once
	expect "$1: OPTIONS" 200 - -x "X-Client-IP: 10.1.2.3"
	gn_icap_header "$O" X-Gotonet-Rules | grep -q 'rules; version' ||
	    gn_fail "$1: OPTIONS without X-Gotonet-Rules"
	expect "$1: CONNECT listed" 200 marked -method CONNECT -req meet.goto.com:443
	expect "$1: CONNECT listed address" 200 marked -method CONNECT -req 173.199.0.1:443
	expect "$1: CONNECT unlisted" 204 - -method CONNECT -req www.example.com:443
	expect "$1: CONNECT unlisted, X-Server-IP listed" 200 marked -method CONNECT \
	    -req unlisted.example:443 -x "X-Server-IP: 173.199.0.1"
	expect "$1: CONNECT unlisted, spoofed X-Gotonet-Bypass" 200 none -method CONNECT \
	    -req other.example:443 -hx "X-Gotonet-Bypass: Central domain (spoofed)"
	expect "$1: CONNECT listed, spoofed X-Gotonet-Action" 200 marked -method CONNECT \
	    -req meet.goto.com:443 -hx "X-Gotonet-Action: both"
	expect "$1: GET https:// listed (bumped)" 204 - -req https://meet.goto.com/
	expect "$1: GET http:// unlisted" 204 - -req http://www.example.com/
	expect "$1: GET invalid CONNECT authority" 204 - -method CONNECT -req meet.goto.com:44x3
	rm -f "$GN_T/body.out"	# c-icap-client does not overwrite it
	expect "$1: POST with a body, no 204 (echoed)" 200 none -method POST \
	    -req http://www.goto.com/upload -f "$GN_T/body" -o "$GN_T/body.out" -nopreview -no204
	cmp -s "$GN_T/body" "$GN_T/body.out" && gn_ok "$1: the body came back unchanged" ||
	    gn_fail "$1: the echoed body differs"
	rm -f "$GN_T/body.out"
	expect "$1: POST with a body, spoofed header, Allow 206" 206 none -method POST \
	    -req http://www.example.com/upload -f "$GN_T/body" -o "$GN_T/body.out" -206 \
	    -hx "X-Gotonet-Bypass: x"
	expect "$1: RESPMOD listed" 204 - -resp http://meet.goto.com/
	rm -f "$GN_T/body.out"
	expect "$1: RESPMOD with a body" 204 - -resp http://www.example.com/ -f "$GN_T/body" \
	    -o "$GN_T/body.out"
}

drive start
gn_cicap_reconfigure
drive reconfigured
# Broken rules: the module refuses them and keeps the rules in force.
printf '*.goto.com label="x" critical=maybe\n' > "$GN_T/r.rules"
gn_cicap_reconfigure
grep -q 'rules not loaded, keeping the rules' "$GN_T/server.log" &&
    gn_ok "broken rules at reconfigure: refused, the rules in force kept" ||
    gn_fail "broken rules at reconfigure: no refusal in the server log"
expect "broken rules: CONNECT listed" 200 marked -method CONNECT -req meet.goto.com:443
expect "broken rules: CONNECT unlisted" 204 - -method CONNECT -req www.example.com:443
cp "$top_srcdir/etc/gotonet.rules" "$GN_T/r.rules"
gn_cicap_reconfigure
drive restored

# Stop c-icap; valgrind writes every report before the processes are gone.
kids=$(pgrep -P "$GN_CICAP_PID")
kill -TERM "$GN_CICAP_PID"
i=0
while kill -0 "$GN_CICAP_PID" 2> /dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -0 "$GN_CICAP_PID" 2> /dev/null && gn_fail "c-icap did not stop within 60 s"
for k in $kids; do
	gn_kill "$k"
done
gn_forget_pid "$GN_CICAP_PID"
GN_CICAP_PID=

# Every report: an ERROR SUMMARY of 0 errors; any error is shown, and said to
# be ours when a frame is in our module or library.
n=0
for f in "$GN_T"/vg.*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	p=${f##*.}
	e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f")
	s=$(sed -n 's/.*(suppressed: \([0-9]*\) from.*/\1/p' "$f")
	if [ -z "$e" ]; then
		gn_fail "process $p: valgrind wrote no summary (killed?)"
		tail -n 20 "$f"
	elif [ "$e" -ne 0 ]; then
		if grep -Eq 'srv_gotonet|libgotonet|[( ]gn_[a-z_]+ ' "$f"; then
			who="with frames in srv_gotonet"
		else
			who="in c-icap's own code (add a commented entry to $supp if it is c-icap's)"
		fi
		gn_fail "process $p: $e valgrind error(s) $who:"
		grep -v '^==[0-9]*== *$' "$f" | sed -n '/Command:/,$p' | head -n 120
	else
		gn_ok "process $p: no memory error, nothing lost (${s:-0} errors of c-icap itself suppressed)"
	fi
done
[ $n -ge 4 ] && gn_ok "reports from $n processes (the main one and the servers of each reconfigure)" ||
    gn_fail "only $n valgrind reports; expected the main process and a server per (re)configure"
grep -q 'gotonet: .* rules loaded' "$GN_T/server.log" && grep -q 'gotonet: REQMOD bypass' "$GN_T/server.log" &&
    gn_ok "the module loaded its rules and logged its decisions under valgrind" ||
    gn_fail "no sign of the module in the server log"
gn_finish
