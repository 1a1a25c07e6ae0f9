#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ext_gotonet_acl under Squid SMP (workers 2): helpers per worker, verdicts whichever worker serves, a killed worker restarted.
#
# All on 127.0.0.1, as tests/helper/squid-bypass.sh: an HTTPS origin for every
# test name (its own CA), a parent squid, and the squid under test, configured
# from etc/squid/gotonet.conf with the shipped rules, now with "workers 2".
# Every fetch is traced to the worker that served it by the client port
# (%>p) in the per-worker access logs, and checked there: vendor names
# spliced (the client sees the origin's CA) and DIRECT, the rest bumped
# (Squid's CA) and sent to the parent. Then one worker is killed with SIGKILL:
# Squid's master must start a new one with new helpers, and that worker must
# serve with the same verdicts.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/squid-env.sh"
. "$top_srcdir/tests/smp/smp-env.sh"
smp_init

HELPER=ext_gotonet_acl
SMP_VENDOR="meet.goto.com launch.getgo.com builds.getgocdn.com global.gotowebinar.com egw.gotomeeting.com"
SMP_OTHER="evil.example.test www.example.test getgocdn.com"
# late.example.test is listed only by the second list (section 4).
sq_gotonet_setup "$SMP_VENDOR" "$SMP_OTHER late.example.test"
P=$SQ_ORIGIN_PORT
RULES=$SQ_DIR/gotonet.rules

# The list's version and digest as an admin reads them; every helper and
# every access.log line must show the same.
smp_lint "$RULES"
VERSION=$LIST_VERSION DIGEST=$LIST_DIGEST
# Squid logs the note URL-escaped; spliced CONNECTs must show the version.
VERSION_LOGGED=$(printf '%s' "$VERSION" | sed 's/ /%20/g')
SMP_SPLICED_LOG=".*bypass=yes .*version=$VERSION_LOGGED\$"
SMP_BUMPED_LOG=".*bypass=- "
sq_log "list \"$VERSION\", digest $DIGEST"

sq_conf parent
sq_start parent

sq_conf_gotonet "$SQ_DIR/bin/$HELPER" "$RULES" "-d all" > "$SQ_DIR/gotonet.conf"
# The shipped logformat, led by the client port to find the serving worker.
fmt=$(sed -n 's/^logformat gotonet /logformat gotonet_smp port=%>p /p' "$SQ_DIR/gotonet.conf")
[ -n "$fmt" ] || sq_fail "no 'logformat gotonet' in etc/squid/gotonet.conf"
SQ_BUMP=1 SQ_LOGFORMAT=gotonet_smp SQ_TAIL="cache_peer 127.0.0.1 parent $SQ_PORT_parent 0 no-query no-digest default name=up
never_direct allow all" smp_conf main 2 "include $SQ_DIR/gotonet.conf" "$fmt"
smp_start main
MASTER=$SQ_PID_main
sq_log "squid master $MASTER on 127.0.0.1:$SQ_PORT_main, parent on $SQ_PORT_parent, origin on $P"

# 1. Each worker starts its own helpers.
W1=$(smp_wait_helpers main squid-1 $HELPER 20)
check "worker squid-1 runs (PID ${W1:-none}) with its own $HELPER"
W2=$(smp_wait_helpers main squid-2 $HELPER 20)
check "worker squid-2 runs (PID ${W2:-none}) with its own $HELPER"
[ -n "$W1" ] && [ -n "$W2" ] || sq_fail "the workers did not come up: $(tail -20 "$SQ_DIR/main/cache.log")"
H1=$(sq_children "$W1" $HELPER)
H2=$(sq_children "$W2" $HELPER)
sq_log "squid-1 ($W1) helpers: $(echo $H1); squid-2 ($W2) helpers: $(echo $H2)"
[ -z "$(sq_children "$MASTER" $HELPER)" ]
check "the master runs no helper itself"
for k in $(smp_kids main | awk '$1 ~ /^squid-coord/ { print $2 }'); do
	# Squid 5.7's coordinator also parses external_acl_type and starts a
	# pool that no request reaches: doc/scaling.md counts it.
	sq_log "coordinator ($k) helpers: $(echo $(sq_children "$k" $HELPER))"
done
n_loaded=$(grep -c "^$HELPER: loaded $RULES: [0-9]* rules, version \"$VERSION\", digest $DIGEST" \
    "$SQ_DIR/main/cache.log")
n_running=$(for k in $(smp_kids main | awk '{ print $2 }'); do sq_children "$k" $HELPER; done | wc -l)
[ "$n_loaded" -ge "$n_running" ] && [ "$n_running" -ge 2 ]
check "every helper ($n_running running) logged the list's version and digest ($n_loaded loaded lines)"
! grep "^$HELPER: loaded " "$SQ_DIR/main/cache.log" | grep -v "digest $DIGEST\$" | grep -q .
check "no helper loaded another list"

# 2. Both workers serve, with the same verdicts: fetch until each has
# spliced and bumped at least once (at most 40 fetches).
smp_rounds main 8 40 '[ $SPLICED_1 -gt 0 ] && [ $SPLICED_2 -gt 0 ] && [ $BUMPED_1 -gt 0 ] && [ $BUMPED_2 -gt 0 ]'
check "both workers served: squid-1 spliced $SPLICED_1 bumped $BUMPED_1, squid-2 spliced $SPLICED_2 bumped $BUMPED_2"

# SNI spoofing is refused whichever worker takes it.
for i in 1 2 3 4; do
	issuer=$(sq_sclient main "evil.example.test:$P" meet.goto.com)
	[ "$issuer" = "$SQ_BUMP_CA" ]
	check "CONNECT evil.example.test with SNI meet.goto.com bumped (try $i, issuer: ${issuer:-none})"
done

# 3. Kill worker squid-1 mid-test: the master starts a new one, with new helpers.
kill -KILL "$W1"
check "killed worker squid-1 (PID $W1)"
N1=$(smp_wait_restart main squid-1 "$W1")
check "the master restarted squid-1 (new PID ${N1:-none})"
# The master reports the death to syslog only; the new kid logs its start.
i=0
while ! grep -q "kid1| Process ID ${N1:-none}\$" "$SQ_DIR/main/cache.log" && [ $i -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
grep -q "kid1| Process ID ${N1:-none}\$" "$SQ_DIR/main/cache.log"
check "cache.log shows the new squid-1 starting (kid1| Process ID ${N1:-none})"
N1=$(smp_wait_helpers main squid-1 $HELPER 20)
NH1=$(sq_children "${N1:-0}" $HELPER)
[ -n "$NH1" ]
check "the new squid-1 started its own helpers ($(echo $NH1))"
i=0
gone=1
while [ $i -lt 50 ]; do
	gone=1
	for h in $H1; do
		[ "$(cat "/proc/$h/comm" 2> /dev/null)" = $HELPER ] && [ "$(awk '{ print $4 }' "/proc/$h/stat" 2> /dev/null)" = "$W1" ] && gone=0
	done
	[ $gone = 1 ] && break
	i=$((i + 1))
	sleep 0.1
done
[ $gone = 1 ]
check "the dead worker's helpers exited ($(echo $H1))"
[ "$(smp_kid main squid-2)" = "$W2" ] && [ "$(sq_children "$W2" $HELPER)" = "$H2" ]
check "squid-2 (PID $W2) and its helpers were not disturbed"

# Serving resumes: the new squid-1 serves with the same verdicts.
smp_reset_counts
smp_rounds main 4 30 '[ $SPLICED_1 -gt 0 ] && [ $BUMPED_1 -gt 0 ]'
check "after the restart squid-1 spliced $SPLICED_1 and bumped $BUMPED_1 (squid-2: $SPLICED_2, $BUMPED_2)"
grep -q "^$HELPER: .* OK ch=[0-9]* sni=meet.goto.com host=meet.goto.com .*rule=$RULES:40" "$SQ_DIR/main/cache.log"
check "cache.log has the helpers' decision lines"

# 4. A new list, as contrib/rollout installs it (rename over the live file),
# then "squid -k reconfigure": every worker restarts its helpers, each loads
# the new list, and both workers decide with it.
issuer=$(sq_curl main "https://late.example.test:$P/")
[ "$issuer" = "$SQ_BUMP_CA" ]
check "late.example.test bumped under the first list (issuer ${issuer:-none})"
{
	sed 's/^version .*/version smp-test 2/' "$RULES"
	echo 'late.example.test label="added by the second list"'
} > "$RULES.new"
chmod 644 "$RULES.new"
mv -f "$RULES.new" "$RULES"
smp_lint "$RULES"
DIGEST2=$LIST_DIGEST
[ "$DIGEST2" != "$DIGEST" ]
check "the second list has another digest ($DIGEST2)"
old_helpers=$(for k in $(smp_kids main | awk '{ print $2 }'); do sq_children "$k" $HELPER; done | sort)
"$SQ_SQUID" -k reconfigure -f "$SQ_DIR/main.conf" -n "${SQ_RUN}main" > "$SQ_DIR/main/reconfigure.log" 2>&1
check "squid -k reconfigure"
want_loaded=$(smp_kids main | wc -l)
i=0
while [ "$(grep -c "^$HELPER: loaded $RULES: .*, version \"smp-test 2\", digest $DIGEST2\$" "$SQ_DIR/main/cache.log")" -lt "$want_loaded" ] &&
    [ $i -lt 200 ]; do
	i=$((i + 1))
	sleep 0.1
done
n2=$(grep -c "^$HELPER: loaded $RULES: .*, version \"smp-test 2\", digest $DIGEST2\$" "$SQ_DIR/main/cache.log")
[ "$n2" -ge "$want_loaded" ]
check "cache.log: $n2 helpers loaded version \"smp-test 2\", digest $DIGEST2 (one pool per kid: $want_loaded)"
for w in squid-1 squid-2; do
	k=$(smp_wait_helpers main $w $HELPER 20)
	new_h=$(sq_children "${k:-0}" $HELPER | sort)
	[ -n "$new_h" ] && [ -z "$(printf '%s\n%s\n' "$old_helpers" "$new_h" | sort | uniq -d)" ]
	check "$w restarted its helpers ($(echo $new_h))"
done
SMP_SPLICED_LOG=".*bypass=yes .*version=smp-test%202\$"
late_1=0 late_2=0
i=0
while [ $i -lt 20 ] && { [ $late_1 -eq 0 ] || [ $late_2 -eq 0 ]; }; do
	i=$((i + 1))
	smp_fetch main late.example.test vendor
	[ "$WORKER" = 1 ] && late_1=$((late_1 + 1))
	[ "$WORKER" = 2 ] && late_2=$((late_2 + 1))
	smp_fetch main evil.example.test other
done
[ $late_1 -gt 0 ] && [ $late_2 -gt 0 ]
check "both workers splice late.example.test under the second list (squid-1 $late_1, squid-2 $late_2)"

# 5. A clean stop: the master takes the kids and their helpers with it.
kids=$(smp_kids main | awk '{ print $2 }')
helpers=$(for k in $kids; do sq_children "$k" $HELPER; done)
smp_stop main
# The helpers exit when they read EOF, just after their worker.
i=0
while :; do
	left=
	for p in $kids $helpers; do
		smp_is_ours "$p" main && left="$left $p"
		[ "$(cat "/proc/$p/comm" 2> /dev/null)" = $HELPER ] && left="$left $p"
	done
	[ -z "$left" ] || [ $i -ge 50 ] && break
	i=$((i + 1))
	sleep 0.1
done
[ -z "$left" ]
check "squid stopped: no kid or helper left${left:+ ($left)}"
grep -q "^$HELPER: .* stats (exit): requests=[1-9]" "$SQ_DIR/main/cache.log"
check "the helpers logged their counters when squid stopped"
! grep -E "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$SQ_DIR/main/cache.log"
check "no sanitizer report from the helpers in cache.log"
sq_stop parent
exit $fail
