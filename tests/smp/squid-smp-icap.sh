#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# srv_gotonet under c-icap with 2 children (StartServers 2, MaxServers 4) in front of Squid SMP (workers 2): verdicts per worker, a killed worker restarted.
#
# All on 127.0.0.1: the HTTPS origin (every test name), a parent squid, c-icap
# with the built module and the shipped rules, and the squid under test with
# "workers 2" and the shipped etc/squid/gotonet-icap.conf. As in
# tests/smp/squid-smp.sh, each fetch is traced to its worker by the client
# port and checked there: vendor names spliced and DIRECT, others bumped via
# the parent. Both workers reach c-icap on connections of their own; a
# killed worker is restarted and serves again with the same verdicts.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/icap/lib.sh"
gn_need_cicap
. "$top_srcdir/tests/lib/squid-env.sh"
. "$top_srcdir/tests/smp/smp-env.sh"
smp_init
GN_T=$SQ_DIR
# Squid first (it holds connections to c-icap), then c-icap, then the rest.
smp_icap_cleanup() {
	rc=$?
	for n in $SMP_NAMES; do
		smp_stop "$n"
	done
	[ -z "${GN_CICAP_PID:-}" ] || gn_cicap_stop
	(exit $rc)
	smp_cleanup
}
trap smp_icap_cleanup EXIT

SMP_VENDOR="meet.goto.com launch.getgo.com builds.getgocdn.com global.gotowebinar.com egw.gotomeeting.com"
SMP_OTHER="evil.example.test www.example.test getgocdn.com"
sq_gotonet_setup "$SMP_VENDOR" "$SMP_OTHER"
P=$SQ_ORIGIN_PORT
RULES=$SQ_DIR/gotonet.rules
smp_lint "$RULES"
VERSION=$LIST_VERSION DIGEST=$LIST_DIGEST

# c-icap as tests/icap/lib.sh starts it (one child), then reconfigured to
# StartServers 2, MaxServers 4: the module reloads the list in the main
# process and the two new children are forked with it.
gn_cicap_start "$RULES"
sed -e 's/^StartServers .*/StartServers 2/' -e 's/^MaxServers .*/MaxServers 4/' \
    "$GN_T/c-icap.conf" > "$GN_T/c-icap.conf.new" && mv "$GN_T/c-icap.conf.new" "$GN_T/c-icap.conf"
grep -q '^StartServers 2$' "$GN_T/c-icap.conf" && grep -q '^MaxServers 4$' "$GN_T/c-icap.conf" ||
    sq_fail "could not set StartServers/MaxServers in $GN_T/c-icap.conf"
gn_cicap_reconfigure
children() { pgrep -P "$GN_CICAP_PID" 2> /dev/null | sort; }
i=0
while [ "$(children | wc -l)" -ne 2 ] && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
CHILDREN=$(children)
[ "$(echo "$CHILDREN" | grep -c .)" -eq 2 ]
check "c-icap ($GN_CICAP_PID) runs 2 children: $(echo $CHILDREN)"
gn_icap "$GN_T/options.out" -s gotonet
[ "$(gn_icap_header "$GN_T/options.out" ISTag)" = "\"CI0001-gn$DIGEST\"" ]
check "OPTIONS: ISTag \"CI0001-gn$DIGEST\" (the list's digest)"
gn_icap_header "$GN_T/options.out" X-Gotonet-Rules | grep -q "; version \"$VERSION\"; digest $DIGEST\$"
check "OPTIONS: X-Gotonet-Rules names version \"$VERSION\""
mc=$(gn_icap_header "$GN_T/options.out" Max-Connections)
sq_log "c-icap advertises Max-Connections: ${mc:-none (Squid sets no limit)}"

sq_conf parent
sq_start parent
gn_squid_icap_conf single > "$SQ_DIR/gotonet-icap.conf"
fmt=$(printf '%s\n' "$GN_SQUID_LOGFORMAT" | sed -n 's/^logformat gntest /logformat gntest_smp port=%>p /p')
[ -n "$fmt" ] || sq_fail "no gntest logformat in tests/icap/lib.sh"
SQ_BUMP=1 SQ_LOGFORMAT=gntest_smp SQ_TAIL="cache_peer 127.0.0.1 parent $SQ_PORT_parent 0 no-query no-digest default name=up
never_direct allow all" smp_conf main 2 "$fmt" "include $SQ_DIR/gotonet-icap.conf"
smp_start main
W1=$(smp_kid main squid-1)
W2=$(smp_kid main squid-2)
[ -n "$W1" ] && [ -n "$W2" ]
check "squid master $SQ_PID_main runs workers squid-1 ($W1) and squid-2 ($W2)"

# smp_fetch checks each fetch in the access log of the worker that served it;
# the ICAP snippet logs ssl=splice and the rule's label for spliced CONNECTs.
SMP_SPLICED_LOG="ssl=splice gotonet=[^-]"
SMP_BUMPED_LOG=

# 1. Both workers serve through c-icap with the same verdicts.
smp_rounds main 8 40 '[ $SPLICED_1 -gt 0 ] && [ $SPLICED_2 -gt 0 ] && [ $BUMPED_1 -gt 0 ] && [ $BUMPED_2 -gt 0 ]'
check "both workers served: squid-1 spliced $SPLICED_1 bumped $BUMPED_1, squid-2 spliced $SPLICED_2 bumped $BUMPED_2"
# Each worker keeps its own ICAP connections (Squid divides the service's
# Max-Connections among the workers).
conns=$(ss -Htnp state established "( dport = :$GN_CICAP_PORT )" 2> /dev/null)
echo "$conns" | grep -q "pid=$W1," && echo "$conns" | grep -q "pid=$W2,"
check "each worker has its own connection to c-icap"
held=$(ss -Htnp state established "( sport = :$GN_CICAP_PORT )" 2> /dev/null |
    sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | sort | uniq -c | awk '{ printf " %s:%s", $2, $1 }')
sq_log "c-icap children holding Squid's connections (pid:count):$held"
[ "$(children)" = "$CHILDREN" ]
check "c-icap still runs the same 2 children"
grep -q "^REQMOD gotonet [0-9]* bypass meet.goto.com:$P" "$GN_T/access.log"
check "c-icap's access log has the bypass verdicts ($(grep -c ' bypass ' "$GN_T/access.log") lines)"

# 2. Kill worker squid-2: the master restarts it, and it serves again.
kill -KILL "$W2"
check "killed worker squid-2 (PID $W2)"
N2=$(smp_wait_restart main squid-2 "$W2")
check "the master restarted squid-2 (new PID ${N2:-none})"
smp_reset_counts
smp_rounds main 4 30 '[ $SPLICED_2 -gt 0 ] && [ $BUMPED_2 -gt 0 ]'
check "after the restart squid-2 spliced $SPLICED_2 and bumped $BUMPED_2 (squid-1: $SPLICED_1, $BUMPED_1)"
[ "$(smp_kid main squid-1)" = "$W1" ]
check "squid-1 (PID $W1) was not disturbed"

# 3. Kill the c-icap child that holds Squid's connections: c-icap starts a
# new one (StartServers 2), the list is already loaded in it (forked from the
# main process), and serving resumes. A transaction caught by the kill may
# fail (bypass=off: an error, never a splice); none may get the wrong verdict.
victim=$(ss -Htnp state established "( sport = :$GN_CICAP_PORT )" 2> /dev/null |
    sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -1)
echo "$CHILDREN" | grep -qx "${victim:-none}"
check "the c-icap child holding Squid's connections is one of ours (${victim:-none})"
[ -n "$victim" ] && kill -KILL "$victim"
i=0
while [ $i -lt 100 ]; do
	now=$(children)
	[ "$(echo "$now" | grep -c .)" -eq 2 ] && ! echo "$now" | grep -qx "$victim" && break
	i=$((i + 1))
	sleep 0.1
done
[ "$(echo "$now" | grep -c .)" -eq 2 ] && ! echo "$now" | grep -qx "${victim:-none}"
check "c-icap replaced the killed child: $(echo $now)"
# settle HOST WANT: fetch until the outcome is WANT (at most 5 times); the
# outcome must never be the other verdict.
settle() {
	j=0
	while [ $j -lt 5 ]; do
		j=$((j + 1))
		got=$(sq_outcome main "https://$1:$P/")
		case $got in
		"$2") return 0 ;;
		refused) sleep 0.2 ;;
		*) echo "# $1: $got"; return 1 ;;
		esac
	done
	return 1
}
settle meet.goto.com spliced
check "meet.goto.com spliced again after the c-icap child died (attempt $j)"
settle evil.example.test bumped
check "evil.example.test bumped again after the c-icap child died (attempt $j)"
smp_reset_counts
smp_rounds main 4 4 'true'
check "and the next fetches get their verdicts at once"

smp_stop main
sq_stop parent
for f in "$GN_T"/sanitizer.*; do
	[ -f "$f" ] || continue
	bad "sanitizer report from c-icap: $f"
	cat "$f"
done
exit $fail
