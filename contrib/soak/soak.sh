#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Soak (issue 6, section 3): 10M request lines through ext_gotonet_acl with
# SIGHUP reloads, then 1M REQMOD requests through a private c-icap with
# srv_gotonet on 127.0.0.1; every answer checked, RSS and open fds sampled and
# printed with a "no growth" / "GROWTH" verdict. `make soak`. Figures, not a
# timed test; exits 1 on a wrong verdict, an error or growth (growth only in a
# normal build: ASan's quarantine holds freed memory, so RSS grows by design).
#
# usage: soak.sh [-n LINES] [-m REQUESTS] [-t THREADS] [-s SAMPLES] [-H RELOAD_EVERY]
#                [-g KIB] [-p helper|icap|both]
#   -n  helper request lines (10000000)      -m  ICAP requests (1000000)
#   -t  ICAP client threads, one keep-alive connection each (4)
#   -s  samples per part (20)                -H  lines between SIGHUPs (LINES/200)
#   -g  RSS growth tolerated, KiB (1024)     -p  which part to run (both)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
usage()
{
	sed -n '/^# usage/,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
lines=10000000 requests=1000000 threads=4 samples=20 reload= tolerance=1024 part=both
while getopts hn:m:t:s:H:g:p: opt; do
	case $opt in
	n) lines=$OPTARG ;;
	m) requests=$OPTARG ;;
	t) threads=$OPTARG ;;
	s) samples=$OPTARG ;;
	H) reload=$OPTARG ;;
	g) tolerance=$OPTARG ;;
	p) part=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $part in helper|icap|both) ;; *) echo "soak: -p helper, icap or both" >&2; exit 2 ;; esac

drive=$top_builddir/contrib/soak/soakdrive
helper=$top_builddir/ext_gotonet_acl
for f in "$drive" "$helper"; do
	[ -x "$f" ] || { echo "soak: $f not built (make first)" >&2; exit 2; }
done

# c-icap is started by the same shell functions as the integration tests.
. "$top_srcdir/tests/icap/lib.sh"
gn_setup
cp "$top_srcdir/etc/gotonet.rules" "$GN_T/gotonet.rules"
rc=0
# judge one soakdrive run: 1 wrong verdicts or errors, 3 growth alone
judge()
{
	case $1 in
	0) ;;
	3) if [ -n "$sanitizer" ]; then
		echo "note: growth not counted in a sanitizer build (ASan's quarantine keeps freed memory)"
	   else
		rc=1
	   fi ;;
	*) rc=1 ;;
	esac
}
sanitizer=
if ldd "$helper" 2>/dev/null | grep -q libasan || grep -q __asan_init "$helper" 2>/dev/null; then
	sanitizer=1
	echo "soak: sanitizer build: verdicts are checked, but RSS figures are ASan's, not the program's"
fi

echo "soak: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -srm), $(nproc 2>/dev/null || echo '?') CPUs;" \
    "$("$helper" -V 2>&1 | head -n 1)"

if [ "$part" != icap ]; then
	echo
	echo "== helper: $lines request lines through $helper (channel IDs; listed, unlisted, SNI" \
	    "spoofing, garbage, a 200 KiB line every 1000003; SIGHUP every ${reload:-$((lines / 200))}" \
	    "lines, the rules file alternately broken and good)"
	"$drive" helper -n "$lines" -s "$samples" -g "$tolerance" ${reload:+-H "$reload"} \
	    -r "$GN_T/gotonet.rules" -e "$GN_T/helper.err" -- "$helper" -d none -r "$GN_T/gotonet.rules"
	judge $?
	loads=$(grep -c ': loaded ' "$GN_T/helper.err")
	kept=$(grep -c 'keeping the rules in force' "$GN_T/helper.err")
	# SIGHUPs that arrive before the helper acted on the previous one count once
	echo "helper log: $loads loads (the start included), $kept broken reloads refused" \
	    "with the rules kept in force, $(grep -c . "$GN_T/helper.err") lines"
fi

if [ "$part" != helper ]; then
	echo
	if ! command -v c-icap >/dev/null 2>&1 || [ ! -f "$GN_MODULE" ]; then
		echo "== icap: skipped (c-icap not installed or $GN_MODULE not built)"
	else
		gn_need_cicap
		gn_cicap_start "$GN_T/gotonet.rules"
		echo "== icap: $requests REQMOD requests to c-icap $(c-icap -V 2>&1 | head -n 1) with" \
		    "srv_gotonet on 127.0.0.1:$GN_CICAP_PORT ($threads threads, one keep-alive" \
		    "connection each; CONNECT listed/unlisted/IP, spoofed X-Gotonet-Bypass, GET https" \
		    "to listed, GET http to unlisted); the main process and its servers sampled"
		"$drive" icap -n "$requests" -s "$samples" -t "$threads" -g "$tolerance" \
		    -p "$GN_CICAP_PORT" -P "$GN_CICAP_PID" -r "$GN_T/gotonet.rules"
		judge $?
		echo "c-icap server log: $(grep -c . "$GN_T/server.log") lines," \
		    "$(grep -ci -e error -e fatal "$GN_T/server.log") with error or fatal"
		gn_cicap_stop
	fi
fi
exit $rc
