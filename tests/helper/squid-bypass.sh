#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ext_gotonet_acl inside a real Squid with ssl_bump: vendor names spliced and DIRECT, the rest bumped via a parent.
#
# All on 127.0.0.1: an HTTPS origin serving every test name (its own CA), a
# parent squid, and the squid under test configured from etc/squid/gotonet.conf
# with the shipped rules; names reach 127.0.0.1 through hosts_file only.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/squid-env.sh"
sq_init

fail=0
vendor="meet.goto.com launch.getgo.com builds.getgocdn.com global.gotowebinar.com egw.gotomeeting.com"
other="evil.example.test www.example.test getgocdn.com"
sq_gotonet_setup "$vendor" "$other"
ORIGIN_CA=$SQ_ORIGIN_CA
BUMP_CA=$SQ_BUMP_CA
P=$SQ_ORIGIN_PORT

sq_conf parent
sq_start parent

sq_conf_gotonet "$SQ_DIR/bin/ext_gotonet_acl" "$SQ_DIR/gotonet.rules" "-d all" > "$SQ_DIR/gotonet.conf"
SQ_BUMP=1 SQ_LOGFORMAT=gotonet SQ_TAIL="cache_peer 127.0.0.1 parent $SQ_PORT_parent 0 no-query no-digest default name=up
never_direct allow all" sq_conf main "include $SQ_DIR/gotonet.conf" \
    "acl gn_test_clients src 127.0.0.0/8" "http_access allow gn_test_clients"
sq_start main
sq_log "squid $SQ_PID_main on 127.0.0.1:$SQ_PORT_main, parent on $SQ_PORT_parent, origin on $P"

# 1. Vendor names are spliced: the client sees the origin's own certificate.
for n in meet.goto.com launch.getgo.com builds.getgocdn.com; do
	issuer=$(sq_curl main "https://$n:$P/")
	[ "$issuer" = "$ORIGIN_CA" ] && grep -q "^origin $n:$P sni=$n" "$SQ_DIR/body"
	check "$n spliced (issuer: ${issuer:-none})"
done

# 2. Everything else is bumped: Squid's CA signed what the client saw.
for n in evil.example.test www.example.test getgocdn.com; do
	issuer=$(sq_curl main "https://$n:$P/")
	[ "$issuer" = "$BUMP_CA" ] && grep -q "^origin $n:$P" "$SQ_DIR/body"
	check "$n bumped (issuer: ${issuer:-none})"
done

# 3. Routing: spliced vendor traffic went DIRECT, bumped traffic through the
# parent, and the parent saw only the latter.
sleep 1	# access.log is written when the tunnel closes
log=$SQ_DIR/main/access.log
grep -E "CONNECT meet.goto.com:$P HIER_DIRECT/127.0.0.1 .*bypass=yes" "$log" | grep -q "label=Central"
check "meet.goto.com tunnel logged HIER_DIRECT with bypass=yes and its label"
grep -Eq "GET https://evil.example.test:$P/ FIRSTUP_PARENT/127.0.0.1" "$log"
check "evil.example.test logged FIRSTUP_PARENT"
! grep -E "CONNECT ($(echo "$vendor" | tr ' ' '|')):$P " "$log" | grep -v HIER_NONE | grep -qv HIER_DIRECT
check "every vendor connection went DIRECT (child's log)"
grep -q "CONNECT evil.example.test:$P" "$SQ_DIR/parent/access.log"
check "the parent's log has the bumped traffic"
! grep -Eq "CONNECT ($(echo "$vendor" | tr ' ' '|')):" "$SQ_DIR/parent/access.log"
check "the parent's log has no vendor name"
grep "CONNECT meet.goto.com:$P HIER_DIRECT" "$log" | grep -q "rule=$SQ_DIR/gotonet.rules:40 version=goto-v10"
check "access.log names the deciding rule file:line and the list version"

# 3b. Squid's answer cache is keyed on (SNI, host, port), not on the client:
# another client (127.0.0.2) connecting to a name already decided for
# 127.0.0.1 is spliced on the cached answers, without asking the helper.
asked() { grep -c "^ext_gotonet_acl: .* ch=[0-9]* sni=[^ ]* host=meet.goto.com port=$P " "$SQ_DIR/main/cache.log"; }
before=$(asked)
issuer=$(sq_curl main "https://meet.goto.com:$P/" --interface 127.0.0.2)
[ "$issuer" = "$ORIGIN_CA" ]
check "meet.goto.com from another client (127.0.0.2) spliced (issuer: ${issuer:-none})"
sleep 1	# access.log is written when the tunnel closes
grep -Eq "^[0-9.]+ +[0-9]+ 127\.0\.0\.2 .* CONNECT meet.goto.com:$P HIER_DIRECT/127.0.0.1 .*bypass=yes" "$log"
check "access.log shows that client's address on its tunnel"
after=$(asked)
[ "$before" -ge 2 ] && [ "$after" -eq "$before" ]
check "the helper was not asked again for that client ($before decision lines for meet.goto.com, then $after)"

# 4. SNI spoofing: CONNECT to an unlisted host with a listed SNI, and the
# reverse, are both bumped.
issuer=$(sq_sclient main "evil.example.test:$P" meet.goto.com)
[ "$issuer" = "$BUMP_CA" ]
check "CONNECT evil.example.test with SNI meet.goto.com bumped (issuer: ${issuer:-none})"
issuer=$(sq_sclient main "meet.goto.com:$P" evil.example.test)
[ "$issuer" = "$BUMP_CA" ]
check "CONNECT meet.goto.com with SNI evil.example.test bumped (issuer: ${issuer:-none})"
grep -q "ERR ch=[0-9]* sni=evil.example.test host=meet.goto.com .*reason=\"SNI not listed\"" \
    "$SQ_DIR/main/cache.log"
check "the helper refused the unlisted SNI (cache.log)"

sleep 1
grep -Eq "CONNECT meet.goto.com:$P FIRSTUP_PARENT/127.0.0.1 sni=evil.example.test bypass=-" "$log"
check "the spoofed vendor CONNECT was not sent direct: it went to the parent"

# 5. The helper logs its decisions into cache.log.
grep -q "^ext_gotonet_acl: .* OK ch=[0-9]* sni=meet.goto.com host=meet.goto.com .*rule=$SQ_DIR/gotonet.rules:40" \
    "$SQ_DIR/main/cache.log"
check "cache.log has the helper's decision lines"

# 6. A helper killed mid-run is restarted by Squid and serving resumes.
pids=$(sq_children "$SQ_PID_main" ext_gotonet_acl)
[ -n "$pids" ]
check "found the helper processes of this squid: $(echo $pids)"
for pid in $pids; do
	kill -KILL "$pid"
done
resumed=0
i=0
while [ $i -lt 10 ]; do
	i=$((i + 1))
	issuer=$(sq_curl main "https://global.gotowebinar.com:$P/")
	if [ "$issuer" = "$ORIGIN_CA" ]; then
		resumed=$i
		break
	fi
	sleep 0.5
done
[ $resumed -gt 0 ]
check "after killing the helper a new vendor name is spliced again (attempt $resumed)"
grep -q "WARNING: external_acl_type #Hlpr[0-9]* exited" "$SQ_DIR/main/cache.log"
check "cache.log reports the dead helper"
new=$(sq_children "$SQ_PID_main" ext_gotonet_acl)
[ -n "$new" ] && [ "$new" != "$pids" ]
check "squid started a new helper ($(echo $new))"
issuer=$(sq_curl main "https://www.example.test:$P/")
[ "$issuer" = "$BUMP_CA" ]
check "and other names are still bumped"
kill -0 "$SQ_PID_main"
check "squid survived"

sq_stop main
sq_stop parent
! grep -E "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$SQ_DIR/main/cache.log"
check "no sanitizer report from the helper in cache.log"
grep -q "^ext_gotonet_acl: .* stats (exit): requests=[1-9]" "$SQ_DIR/main/cache.log"
check "the helpers logged their counters when squid stopped"
exit $fail
