#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ICAP throughput of srv_gotonet beside c-icap's echo service, in the same
# c-icap instance and the same run: `make bench-icap`. Figures, not a test.
#
# usage: icap-bench.sh [-t THREADS] [-d SECONDS] [-r ROUNDS]   (defaults 2, 3, 5)
# Each round runs icapload against gotonet, then against a baseline service
# (echo; ex206 for the all-listed mix) with the same requests; the medians of
# the rounds and their ratio are printed per mix of listed and unlisted.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
threads=2 seconds=3 rounds=5
while getopts t:d:r: opt; do
	case $opt in
	t) threads=$OPTARG ;;
	d) seconds=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) echo "usage: $0 [-t threads] [-d seconds] [-r rounds]" >&2; exit 2 ;;
	esac
done

load=$top_builddir/contrib/bench/icapload
module=$top_builddir/.libs/srv_gotonet.so
rules=$top_srcdir/etc/gotonet.rules
for f in "$load" "$module"; do
	[ -e "$f" ] || { echo "icap-bench: $f not built (make first)" >&2; exit 2; }
done
command -v c-icap >/dev/null 2>&1 || { echo "icap-bench: c-icap not installed" >&2; exit 2; }
moddir=$(c-icap-config --modulesdir 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/c_icap)

T=$(mktemp -d "${TMPDIR:-/tmp}/gn-icap-bench.XXXXXX") || exit 2
pid=
cleanup()
{
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$(( $(od -An -N2 -tu2 /dev/urandom) % 40000 + 20000 ))
# The shipped snippet minus its access log: both services then do the same
# logging (none), and the figures compare the services themselves.
sed -e "s|@MODULE@|$module|g" -e "s|@RULES@|$rules|g" -e "s|@LOGDIR@|$T|g" -e '/^AccessLog/d' \
    "$top_srcdir/etc/c-icap/gotonet.conf" > "$T/gotonet.conf"
cat > "$T/c-icap.conf" <<EOF
PidFile $T/c-icap.pid
CommandsSocket $T/c-icap.ctl
Port 127.0.0.1:$port
StartServers 1
MaxServers 2
ThreadsPerChild 32
MinSpareThreads 1
MaxSpareThreads 64
MaxKeepAliveRequests 0
KeepAliveTimeout 600
ServerLog $T/server.log
TmpDir $T
DebugLevel 1
ModulesDir $moddir
ServicesDir $moddir
Service echo srv_echo.so
Service ex206 srv_ex206.so
Include $T/gotonet.conf
EOF
c-icap -f "$T/c-icap.conf" </dev/null >"$T/c-icap.out" 2>&1
i=0
while [ ! -s "$T/c-icap.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
pid=$(cat "$T/c-icap.pid" 2>/dev/null)
[ -n "$pid" ] || { echo "icap-bench: c-icap did not start" >&2; cat "$T/c-icap.out" "$T/server.log" >&2; exit 1; }
i=0
until "$load" -p "$port" -s gotonet -n 1 -t 1 -d 1 -r 'GET http://warm.up/' >/dev/null 2>&1; do
	[ $i -lt 50 ] || { echo "icap-bench: gotonet does not answer" >&2; cat "$T/server.log" >&2; exit 1; }
	sleep 0.1
	i=$((i + 1))
done

median()
{
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# run MIX-NAME BASELINE REQUEST...: rounds of gotonet then the baseline
# service (echo, or ex206 with Allow: 204, 206) with the same requests.
run()
{
	name=$1 base=$2
	shift 2
	ballow=204
	[ "$base" = ex206 ] && ballow='204, 206'
	: > "$T/gotonet.rps"
	: > "$T/$base.rps"
	r=1
	while [ $r -le "$rounds" ]; do
		for s in gotonet $base; do
			a=204
			[ "$s" = gotonet ] || a=$ballow
			out=$("$load" -p "$port" -s "$s" -a "$a" -t "$threads" -d "$seconds" "$@") ||
			    { echo "icap-bench: icapload failed: $out" >&2; exit 1; }
			echo "  round $r: $out"
			echo "$out" | sed -n 's/.* rps=\([0-9]*\) .*/\1/p' >> "$T/$s.rps"
		done
		r=$((r + 1))
	done
	g=$(median < "$T/gotonet.rps")
	e=$(median < "$T/$base.rps")
	awk -v n="$name" -v b="$base" -v g="$g" -v e="$e" 'BEGIN {
		printf "%-30s gotonet %7.0f req/s   %-6s %7.0f req/s   ratio %.3f\n", n, g, b, e, g / e }' |
	    tee -a "$T/summary"
}

echo "icap-bench: c-icap $(c-icap -V 2>&1 | head -n 1), $(nproc) CPUs, $threads threads, ${seconds}s x $rounds rounds"
echo "rules: $rules ($(sed -n 's/.*gotonet: \([0-9]* rules loaded\).*/\1/p' "$T/server.log"))"
: > "$T/summary"
run "unlisted" echo \
    -r 'CONNECT www.example.com:443' -r 'GET http://www.example.org/index.html' \
    -r 'CONNECT mail.example.net:443' -r 'GET http://cdn.example.com/app.js'
run "1 in 20 listed" echo \
    -r 'CONNECT meet.goto.com:443' -r 'GET http://www.example.org/index.html' \
    -r 'CONNECT mail.example.net:443' -r 'GET http://cdn.example.com/app.js' \
    -r 'CONNECT www.example.com:443' -r 'GET http://www.example.org/a.css' \
    -r 'CONNECT mail.example.net:443' -r 'GET http://cdn.example.com/b.js' \
    -r 'CONNECT www.example.com:443' -r 'GET http://www.example.org/c.png' \
    -r 'CONNECT www.example.com:443' -r 'GET http://www.example.org/index.html' \
    -r 'CONNECT mail.example.net:443' -r 'GET http://cdn.example.com/app.js' \
    -r 'CONNECT www.example.com:443' -r 'GET http://www.example.org/a.css' \
    -r 'CONNECT mail.example.net:443' -r 'GET http://cdn.example.com/b.js' \
    -r 'CONNECT www.example.com:443' -r 'GET http://www.example.org/c.png'
run "1 in 4 listed" echo \
    -r 'CONNECT meet.goto.com:443' -r 'GET http://www.example.org/index.html' \
    -r 'CONNECT mail.example.net:443' -r 'GET http://cdn.example.com/app.js'
run "all listed" echo \
    -r 'CONNECT meet.goto.com:443' -r 'GET http://builds.cdn.getgo.com/x.exe' \
    -r 'CONNECT 173.199.1.2:443' -r 'CONNECT global.gotowebinar.com:443'
run "all listed" ex206 \
    -r 'CONNECT meet.goto.com:443' -r 'GET http://builds.cdn.getgo.com/x.exe' \
    -r 'CONNECT 173.199.1.2:443' -r 'CONNECT global.gotowebinar.com:443'
echo
echo "summary (median of $rounds rounds):"
cat "$T/summary"
echo "echo answers 204 to every request. A listed request must be answered 200 with"
echo "the changed request, which c-icap sends with two writes instead of one: the"
echo "ex206 line compares listed traffic with c-icap's own header-changing demo."
