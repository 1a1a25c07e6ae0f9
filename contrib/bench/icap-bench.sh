#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ICAP throughput of srv_gotonet beside c-icap's echo service, in the same
# c-icap instance and the same run: `make bench-icap`. Figures, not a test.
#
# usage: icap-bench.sh [-t THREADS] [-d SECONDS] [-r ROUNDS]   (defaults 2, 3, 5)
# Each round runs icapload against gotonet and against a baseline service
# (echo; ex206 for the all-listed mix) with the same requests; per mix of
# listed and unlisted it prints the medians of the rounds (requests/s, and
# c-icap's CPU time per request) and the ratios, then the two like-for-like
# ratios that issue 4's target (>= 0.98) is about.
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

# CPU time (clock ticks) used so far by c-icap's children, which serve the
# requests (the main process only watches them).
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks()
{
	for c in $(pgrep -P "$pid" 2>/dev/null); do
		awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null
	done | awk '{ t += $1 } END { print t + 0 }'
}

# run MIX-NAME BASELINE REQUEST...: rounds of gotonet and the baseline
# service (echo, or ex206 with Allow: 204, 206) with the same requests, the
# order swapped every round. Prints the medians of requests/s and of the
# c-icap children's CPU microseconds per request, the median of the rounds'
# requests/s ratios (each round's two runs saw about the same load from the
# rest of the machine) and the CPU ratio (baseline CPU per request over
# gotonet's: what the throughput ratio would be with c-icap alone on the CPUs).
run()
{
	name=$1 base=$2
	shift 2
	ballow=204
	[ "$base" = ex206 ] && ballow='204, 206'
	for s in gotonet $base; do
		: > "$T/$s.rps"
		: > "$T/$s.cpu"
	done
	: > "$T/ratio"
	r=1
	while [ $r -le "$rounds" ]; do
		order="gotonet $base"
		[ $((r % 2)) -eq 0 ] && order="$base gotonet"
		for s in $order; do
			a=204
			[ "$s" = gotonet ] || a=$ballow
			t0=$(cpu_ticks)
			out=$("$load" -p "$port" -s "$s" -a "$a" -t "$threads" -d "$seconds" "$@") ||
			    { echo "icap-bench: icapload failed: $out" >&2; exit 1; }
			t1=$(cpu_ticks)
			echo "  round $r: $out"
			echo "$out" | sed -n 's/.* rps=\([0-9]*\) .*/\1/p' >> "$T/$s.rps"
			echo "$out" | awk -v d="$((t1 - t0))" -v hz="$hz" '{
				for (i = 1; i <= NF; i++) if ($i ~ /^requests=/) n = substr($i, 10)
				if (n > 0) printf "%.2f\n", d * 1e6 / hz / n }' >> "$T/$s.cpu"
		done
		paste -d ' ' "$T/gotonet.rps" "$T/$base.rps" | tail -n 1 |
		    awk '$2 > 0 { printf "%.4f\n", $1 / $2 }' >> "$T/ratio"
		r=$((r + 1))
	done
	g=$(median < "$T/gotonet.rps")
	e=$(median < "$T/$base.rps")
	gc=$(median < "$T/gotonet.cpu")
	ec=$(median < "$T/$base.cpu")
	q=$(median < "$T/ratio")
	awk -v n="$name" -v b="$base" -v g="$g" -v e="$e" -v gc="$gc" -v ec="$ec" -v q="$q" 'BEGIN {
		printf "%-15s gotonet %6.0f/s %5.1f us  %-5s %6.0f/s %5.1f us  ratio %.3f  cpu ratio %.3f\n",
		    n, g, gc, b, e, ec, q, (gc > 0 ? ec / gc : 0) }' |
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
# All listed (CONNECTs: only those are marked): every answer is a 200
# carrying the changed request.
run_listed()
{
	run "all listed" "$1" \
	    -r 'CONNECT meet.goto.com:443' -r 'CONNECT global.gotowebinar.com:443' \
	    -r 'CONNECT 173.199.1.2:443' -r 'CONNECT builds.cdn.getgo.com:443'
}
run_listed echo
run_listed ex206
echo
echo "summary (medians of $rounds rounds; /s = requests/s, us = c-icap's CPU time per request;"
echo "ratio = median of the rounds' gotonet/baseline requests/s; cpu ratio = baseline us / gotonet us):"
cat "$T/summary"
awk '
	/^unlisted / { u = $(NF - 3); uc = $NF }
	/^all listed .* ex206 / { l = $(NF - 3); lc = $NF }
	/^all listed .* echo / { x = $(NF - 3) }
	END {
		print ""
		print "Issue 4 target: ratio >= 0.98, like for like (gotonet and the baseline give the"
		print "same kind of answer):"
		printf "  unlisted vs echo     ratio %s  cpu ratio %s   (both answer 204)\n", u, uc
		printf "  all listed vs ex206  ratio %s  cpu ratio %s   (both answer with the changed request)\n", l, lc
		print "Not like for like: all listed vs echo, ratio " x ", and the mixes in between."
		print "Echo answers 204, while a listed CONNECT must get 200 with the changed request,"
		print "which c-icap 0.5.10 sends with two writes and five polls instead of one write and"
		print "three polls (request.c send_remaining_response), after formatting its head with"
		print "four snprintf calls: c-icap'"'"'s ex206 demo pays the same. The extra us per request"
		print "of the listed lines is that path. On a busy machine the requests/s ratios swing;"
		print "the cpu ratio does not."
	}' "$T/summary"
