#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end cost of gotonet in a real Squid on 127.0.0.1: TLS connections
# through CONNECT against (a) the helper with the shipped snippet and (b) the
# native ACLs of `gotonet export squid`, in the same run. `make bench-e2e`.
# Figures, not a test: nothing here passes or fails on a number.
#
# usage: e2e-bench.sh [-ks] [-c concurrency] [-n connections] [-d seconds]
#                     [-r rounds] [-m "warm cold"] [-x others-per-vendor]
# Each round loads all the configurations at the same time, 8 concurrent
# connections each, for 8 s (at most 5000 connections), so that they share
# whatever else the machine does; 5 rounds, both modes, 1 bumped name per
# spliced one. -s runs them one after the other instead (defaults then: at
# most 1500 connections or 30 s per run), each with the machine to itself,
# which a busy shared machine makes much noisier.
# Modes: warm = every connection from 127.0.0.1; cold = every connection
# from a new 127.x.y.z, as if each came from a new client. The snippet's
# cache key is (SNI, host, port), so after the warm-up Squid answers the
# helper's ACL from its cache (ttl=300) in both modes. -k adds (c)
# "clientkey": the snippet with the client address put back into the key
# (%>a, helper -F sni,host,port,client), as it shipped before; in the cold
# mode its cache never hits and each connection asks the helper (once for a
# bumped name, twice for a spliced one).
# The order of the configurations alternates (A B, B A, ...); printed are
# the medians of the rounds and the median of the per-round ratios.
# tests/lib/origin.py must accept a backlog of connections (listen queue
# larger than Python's default 5), or dropped SYNs add 1 s stalls to p99.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
conc=8 count='' seconds='' rounds=5 modes="warm cold" others=1 configs="helper native" parallel=1
while getopts ksc:n:d:r:m:x: opt; do
	case $opt in
	k) configs="helper clientkey native" ;;
	s) parallel=0 ;;
	c) conc=$OPTARG ;;
	n) count=$OPTARG ;;
	d) seconds=$OPTARG ;;
	r) rounds=$OPTARG ;;
	m) modes=$OPTARG ;;
	x) others=$OPTARG ;;
	*) sed -n 's/^# usage: /usage: /p; s/^#  \{19\}/       /p' "$0" | head -2 >&2; exit 2 ;;
	esac
done
# In parallel the runs should end on time, not on their count: one that
# ended first would leave the machine to the others.
if [ $parallel = 1 ]; then
	: "${seconds:=8}" "${count:=5000}"
else
	: "${seconds:=30}" "${count:=1500}"
fi
case "$conc$count$rounds$others" in
*[!0-9]*) echo "e2e-bench: -c, -n, -r and -x take numbers" >&2; exit 2 ;;
esac
if [ "$count" -eq 0 ] || [ "$rounds" -eq 0 ] || [ "$others" -eq 0 ]; then
	echo "e2e-bench: -n, -r and -x must be positive" >&2
	exit 2
fi
for m in $modes; do
	case $m in warm|cold) ;; *) echo "e2e-bench: unknown mode $m" >&2; exit 2 ;; esac
done

load=$top_builddir/contrib/bench/e2eload
for f in "$load" "$top_builddir/ext_gotonet_acl" "$top_builddir/gotonet"; do
	[ -x "$f" ] || { echo "e2e-bench: $f not built (make first)" >&2; exit 2; }
done
# shellcheck disable=SC1091
. "$top_srcdir/tests/lib/squid-env.sh"
sq_init

# Names of several rules (wildcards and hosts), and names that are not listed,
# some of them close to listed ones.
vendor="meet.goto.com launch.getgo.com builds.getgocdn.com egw.gotomeeting.com global.gotomeeting.com"
vendor="$vendor app.goto.com join.gotomeeting.com api.getgo.com"
other="www.example.test getgocdn.com goto.com.example.test api.example.test cdn.example.test"
other="$other news.example.test mail.example.test gotomeeting.example.test"
sq_gotonet_setup "$vendor" "$other"

"$top_builddir/gotonet" export squid -r "$SQ_DIR/gotonet.rules" -o "$SQ_DIR/acl" \
    > "$SQ_DIR/export.log" 2>&1 || sq_fail "gotonet export squid: $(cat "$SQ_DIR/export.log")"
helper=$SQ_DIR/bin/ext_gotonet_acl
sq_conf_gotonet "$helper" "$SQ_DIR/gotonet.rules" > "$SQ_DIR/gotonet.conf"
# The -F given last wins (getopt).
sq_conf_gotonet "$helper" "$SQ_DIR/gotonet.rules" "-F sni,host,port,client" |
    sed '/^external_acl_type /s/ %>rP / %>rP %>a /' > "$SQ_DIR/gotonet-clientkey.conf"
grep '^external_acl_type gotonet ' "$SQ_DIR/gotonet-clientkey.conf" | grep -F ' %>rP %>a ' |
    grep -q -- ' -F sni,host,port,client$' || sq_fail "cannot put %>a into the snippet's external_acl_type"

# The same squid.conf for all but the ACLs: the same access.log format (the
# snippet's, defined for (b) by copying its line), and every 127.x.y.z may
# use the proxy (the cold mode connects from many).
logformat=$(grep '^logformat gotonet ' "$SQ_DIR/gotonet.conf") || sq_fail "no logformat in the snippet"
clients1="acl e2e_clients src 127.0.0.0/8"
clients2="http_access allow e2e_clients"
for s in $configs; do
	case $s in
	helper) SQ_BUMP=1 SQ_LOGFORMAT=gotonet sq_conf helper "include $SQ_DIR/gotonet.conf" \
	    "$clients1" "$clients2" ;;
	clientkey) SQ_BUMP=1 SQ_LOGFORMAT=gotonet sq_conf clientkey "include $SQ_DIR/gotonet-clientkey.conf" \
	    "$clients1" "$clients2" ;;
	native) SQ_BUMP=1 SQ_LOGFORMAT=gotonet sq_conf native "$logformat" \
	    "acl step1 at_step SslBump1" "ssl_bump peek step1" \
	    "include $SQ_DIR/acl/gotonet-native.conf" "ssl_bump bump all" "$clients1" "$clients2" ;;
	esac
	sq_start "$s"
done

# The names in load order: each spliced name followed by $others bumped ones.
names=
# shellcheck disable=SC2086
set -- $other
for v in $vendor; do
	names="$names +$v"
	i=0
	while [ $i -lt "$others" ]; do
		# shellcheck disable=SC2086
		[ $# -gt 0 ] || set -- $other
		names="$names $1"
		shift
		i=$((i + 1))
	done
done
nnames=$(echo "$names" | wc -w)

tck=$(getconf CLK_TCK)
# cpu_us PID...: CPU time those processes used so far, in microseconds: the
# run time of their live threads (nanoseconds, from schedstat). Threads that
# ended are lost to it, so the origin, which starts a thread per connection,
# is measured with cpu_ticks_us: user + system ticks, dead threads included.
cpu_us() {
	for p in "$@"; do
		cat /proc/"$p"/task/*/schedstat 2> /dev/null | awk '{ s += $1 } END { printf "%.0f\n", s / 1000 }'
	done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}
cpu_ticks_us() {
	for p in "$@"; do
		awk '{ print $14 + $15 }' "/proc/$p/stat" 2> /dev/null
	done | awk -v hz="$tck" '{ s += $1 } END { printf "%.0f\n", s * 1e6 / hz }'
}

# load NAME [E2ELOAD ARGS]: one run against squid NAME; prints e2eload's line
# and the CPU time per connection of the proxy (squid and all its children:
# helpers, certificate generator), of its ext_gotonet_acl helpers alone and of
# the origin. A helper that exits during the run takes its time with it.
load() {
	pid='' port=''
	eval "pid=\$SQ_PID_$1 port=\$SQ_PORT_$1"
	shift
	# shellcheck disable=SC2046
	p0=$(cpu_us "$pid" $(pgrep -P "$pid")) h0=$(cpu_us $(sq_children "$pid" ext_gotonet_acl))
	o0=$(cpu_ticks_us "$SQ_ORIGIN_PID")
	# shellcheck disable=SC2086
	out=$("$load" -p "$port" -P "$SQ_ORIGIN_PORT" -O "$SQ_DIR/origin-ca.pem" \
	    -B "$SQ_DIR/bump-ca.pem" "$@" $names)
	rc=$?
	# shellcheck disable=SC2046
	p1=$(cpu_us "$pid" $(pgrep -P "$pid")) h1=$(cpu_us $(sq_children "$pid" ext_gotonet_acl))
	o1=$(cpu_ticks_us "$SQ_ORIGIN_PID")
	# In parallel the origin serves every configuration at once: its time
	# is not this run's.
	echo "$out" | awk -v p=$((p1 - p0)) -v h=$((h1 - h0)) -v o=$((o1 - o0)) -v par="$parallel" '{
		n = $1; sub(/conns=/, "", n); f = (n > 0) ? 1 / n : 0
		printf "%s proxy_us=%.0f helper_us=%.1f origin_us=%s\n", $0, p * f, h * f,
		    par == 1 ? "-" : sprintf("%.0f", o * f) }'
	return $rc
}

field() {	# field NAME: the value of NAME= in each line on stdin
	sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

reverse() {	# reverse WORD...
	r=
	for w in "$@"; do
		r="$w${r:+ $r}"
	done
	echo "$r"
}

echo "e2e-bench: $("$SQ_SQUID" -v | head -1), $(openssl version | cut -d' ' -f1-2), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rules: $(sed -n 's/^version *//p' "$SQ_DIR/gotonet.rules" | head -1) ($(grep -c '^[^#[:space:]]' "$SQ_DIR/gotonet.rules") lines);" \
    "names: $nnames in turn, $(echo "$names" | tr ' ' '\n' | grep -c '^+') spliced (+), the others bumped"
if [ $parallel = 1 ]; then
	echo "runs: $conc concurrent per configuration, all configurations at once for ${seconds}s (at most $count connections), $rounds rounds per mode, modes: $modes"
else
	echo "runs: $conc concurrent, at most $count connections or ${seconds}s each, one after the other, $rounds rounds per mode, modes: $modes"
fi
for s in $configs; do
	eval "pid=\$SQ_PID_$s port=\$SQ_PORT_$s"
	case $s in
	helper) what="(a) etc/squid/gotonet.conf with ext_gotonet_acl (cache key: SNI, host, port)" ;;
	clientkey) what="(c) the same with the client in the cache key: %>a, helper -F sni,host,port,client" ;;
	native) what="(b) gotonet export squid: ssl::server_name + dstdomain -n + dst -n, always_direct" ;;
	esac
	# shellcheck disable=SC2154
	echo "$s: squid $pid on 127.0.0.1:$port, $what"
done
backlog=$(ss -Hltn "sport = :$SQ_ORIGIN_PORT" 2> /dev/null | awk '{ print $3; exit }')
echo "origin: tests/lib/origin.py on 127.0.0.1:$SQ_ORIGIN_PORT, listen queue ${backlog:-unknown}"
if [ -n "$backlog" ] && [ "$backlog" -lt 64 ]; then
	echo "warning: a listen queue of $backlog drops SYNs under this load (1 s stalls in p99);" \
	    "set request_queue_size in tests/lib/origin.py"
fi
echo "command: $load -p PORT -P $SQ_ORIGIN_PORT -O origin-ca.pem -B bump-ca.pem -c $conc -n $count -d $seconds [-S BASE]$names"

# Warm-up: every name once per proxy (certificates generated, caches filled);
# it must have no errors, or the proxies would not be doing the same job.
for s in $configs; do
	out=$(load "$s" -c 1 -n "$nnames" -d 60) ||
	    sq_fail "warm-up through $s failed: $out; $(tail -5 "$SQ_DIR/$s/cache.log")"
	echo "warm-up $s: $out"
done

run=0
for mode in $modes; do
	for s in $configs; do
		: > "$SQ_DIR/$mode.$s"
		: > "$SQ_DIR/$mode.ratio.$s"
	done
	r=1
	while [ $r -le "$rounds" ]; do
		order=$configs
		# shellcheck disable=SC2086
		[ $((r % 2)) -eq 0 ] && order=$(reverse $configs)
		jobs=
		for s in $order; do
			src=
			if [ "$mode" = cold ]; then
				run=$((run + 1))
				src="-S $((run * (count + 1)))"
			fi
			# shellcheck disable=SC2086
			if [ "$parallel" = 1 ]; then
				load "$s" -c "$conc" -n "$count" -d "$seconds" $src > "$SQ_DIR/run.$s" &
				jobs="$jobs $!"
			else
				load "$s" -c "$conc" -n "$count" -d "$seconds" $src > "$SQ_DIR/run.$s"
			fi
		done
		# Only these: a bare wait would wait for the squids and the origin.
		# shellcheck disable=SC2086
		[ -z "$jobs" ] || wait $jobs
		for s in $order; do
			out=$(cat "$SQ_DIR/run.$s")
			printf '%s round %d %-9s %s\n' "$mode" "$r" "$s" "$out"
			echo "$out" >> "$SQ_DIR/$mode.$s"
		done
		# The runs of a round are next to each other in time (or at the
		# same time): their ratio cancels most of the drift of a shared
		# machine's load.
		b=$(tail -n 1 "$SQ_DIR/$mode.native")
		for s in $configs; do
			a=$(tail -n 1 "$SQ_DIR/$mode.$s")
			echo "$(echo "$a" | field cps) $(echo "$b" | field cps)" \
			    "$(echo "$a" | field proxy_us) $(echo "$b" | field proxy_us)" |
			    awk '{ print ($2 > 0) ? $1 / $2 : 0, ($4 > 0) ? $3 / $4 : 0 }' >> "$SQ_DIR/$mode.ratio.$s"
		done
		r=$((r + 1))
	done
done

echo
echo "medians of $rounds rounds; CPU time per connection in microseconds: proxy = squid and"
echo "all its children, helper = the ext_gotonet_acl processes alone (included in proxy)"
printf '%-5s %-9s %8s %7s %7s %6s %8s %8s %8s %8s\n' mode config conns/s p50-ms p99-ms errors \
    proxy-us helper-us origin-us client-us
for mode in $modes; do
	for s in $configs; do
		f=$SQ_DIR/$mode.$s
		o=-
		[ $parallel = 1 ] || o=$(field origin_us < "$f" | median | awk '{ printf "%.0f", $1 }')
		printf '%-5s %-9s %8.1f %7.2f %7.2f %6d %8.0f %8.1f %8s %8.0f\n' "$mode" "$s" \
		    "$(field cps < "$f" | median)" "$(field p50_ms < "$f" | median)" \
		    "$(field p99_ms < "$f" | median)" \
		    "$(field errors < "$f" | awk '{ s += $1 } END { print s + 0 }')" \
		    "$(field proxy_us < "$f" | median)" "$(field helper_us < "$f" | median)" \
		    "$o" "$(field client_us < "$f" | median)"
	done
done
echo
echo "ratios to native, median of the $rounds per-round ratios (min..max); target: throughput >= 0.95"
for mode in $modes; do
	for s in $configs; do
		[ "$s" = native ] && continue
		t=$(awk '{ print $1 }' "$SQ_DIR/$mode.ratio.$s" | sort -n | tr '\n' ' ')
		u=$(awk '{ print $2 }' "$SQ_DIR/$mode.ratio.$s" | sort -n | tr '\n' ' ')
		awk -v m="$mode" -v s="$s" -v t="$t" -v u="$u" 'function med(a, n) {
			return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		BEGIN {
			n = split(t, x); split(u, y)
			printf "%-5s %-9s throughput %.3f (%.3f..%.3f), proxy CPU per connection %.3f (%.3f..%.3f)\n",
			    m, s, med(x, n), x[1], x[n], med(y, n), y[1], y[n] }'
	done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# What (a) did beside splicing, which (b) cannot: the helpers log their
# per-rule counters when Squid stops them.
for s in $configs; do
	sq_stop "$s"
done
echo
echo "what the helper did that the native ACLs cannot:"
echo "- a label, rule and list version for each decision, in access.log; (a) vs (b):"
# (a spliced tunnel may log TCP_TUNNEL/500: Squid bug 5274)
grep -m1 ' TCP_TUNNEL/.* CONNECT meet.goto.com:.* HIER_DIRECT/.*bypass=yes' "$SQ_DIR/helper/access.log" | sed 's/^/    a: /'
grep -m1 ' TCP_TUNNEL/.* CONNECT meet.goto.com:.* HIER_DIRECT/' "$SQ_DIR/native/access.log" | sed 's/^/    b: /'
echo "- per-rule counters (ext_gotonet_acl of (a), all helpers, logged at exit):"
grep 'ext_gotonet_acl: .* stats ' "$SQ_DIR/helper/cache.log" |
    sed 's/.*requests=\([0-9]*\) ok=\([0-9]*\) err=\([0-9]*\).*/\1 \2 \3/' |
    awk '{ q += $1; o += $2; e += $3 } END { printf "    requests=%d ok=%d err=%d\n", q, o, e }'
grep 'ext_gotonet_acl: hits ' "$SQ_DIR/helper/cache.log" |
    awk '{ n[$4] += $3; l[$4] = $0; sub(/.* hits [0-9]* /, "", l[$4]) } END { for (r in n) printf "    hits %d %s\n", n[r], l[r] }' |
    sort -k2,2nr | head -8
echo "- the SNI is checked for a CONNECT to a listed address too (the native dst rule splices it"
echo "  whatever the SNI), the list reloads on SIGHUP without re-export, and an overloaded or"
echo "  dead helper leaves connections inspected (fail closed)."
exit 0
