#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Helpers killed repeatedly under load: Squid with the shipped snippet never splices what it should not, and serving resumes.
#
# tests/helper/squid-bypass.sh:91-120 kills the helpers once, idle, and sees
# serving resume; tests/helper/squid-failclosed.sh proves fail-closed with
# helpers that are broken on purpose. Here the real helper runs with the
# shipped concurrency while GN_KILL_FETCHES (default 300) HTTPS fetches go
# through Squid in parallel batches, and every helper process of this Squid is
# killed (SIGKILL, by PID, children of our squid only) every GN_KILL_EVERY
# seconds once it has answered a few requests. (Killing a helper before its
# first answer makes Squid 5.7 exit, "crashing too rapidly": an outage, not a
# bypass; the helper itself never dies on its input.) Every fetch is classified by the certificate the client saw:
# nothing but a vendor name may ever be spliced (no unlisted name, no CONNECT
# to an unlisted host carrying a vendor SNI); vendor fetches may be spliced,
# bumped or refused while helpers die (fail closed), and once the killing
# stops vendor names are spliced again and others bumped.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/squid-env.sh"
sq_init
command -v xargs > /dev/null 2>&1 || sq_skip "xargs not found"

. "$top_srcdir/tests/faults/lib.sh"
GN_T=$SQ_DIR

N=${GN_KILL_FETCHES:-300}
PAR=${GN_KILL_PARALLEL:-20}
EVERY=${GN_KILL_EVERY:-0.4}
# Every fetch has its own names, so that Squid's answer cache (ttl=300) does
# not hide the helper: vendor vN.goto.com (listed by *.goto.com), other
# oN.example.test, spoof = CONNECT oN.example.test with SNI vN.goto.com.
sq_gotonet_setup '*.goto.com meet.goto.com' '*.example.test www.example.test'
i=0
while [ $i -lt "$N" ]; do
	echo "127.0.0.1 v$i.goto.com o$i.example.test"
	i=$((i + 1))
done >> "$SQ_DIR/hosts"
P=$SQ_ORIGIN_PORT
sq_conf_gotonet "$SQ_DIR/bin/ext_gotonet_acl" "$SQ_DIR/gotonet.rules" "-d none" > "$SQ_DIR/gotonet.conf"
grep -q 'concurrency=[1-9]' "$SQ_DIR/gotonet.conf" || gn_fail "the shipped snippet has no helper concurrency"
SQ_BUMP=1 SQ_LOGFORMAT=gotonet sq_conf main "include $SQ_DIR/gotonet.conf"
sq_start main
cat "$SQ_DIR/origin-ca.pem" "$SQ_DIR/bump-ca.pem" > "$SQ_DIR/trust.pem"

# The job list: "ID KIND NAME CONNECT-TO" per fetch.
i=0
while [ $i -lt "$N" ]; do
	case $((i % 3)) in
	0) echo "$i vendor v$i.goto.com -" ;;
	1) echo "$i other o$i.example.test -" ;;
	2) echo "$i spoof v$i.goto.com o$i.example.test" ;;
	esac
	i=$((i + 1))
done > "$SQ_DIR/jobs"

# One fetch: prints "ID KIND NAME OUTCOME".
cat > "$SQ_DIR/fetch.sh" <<'EOF'
#!/bin/sh
id=$1 kind=$2 name=$3 via=$4
set -- --connect-to "$name:$P:$via:$P"
[ "$via" = - ] && set --
curl -sv --max-time 20 --noproxy '' --proxy "http://127.0.0.1:$SQPORT" --cacert "$D/trust.pem" \
    -o "$D/out/$id.body" "$@" "https://$name:$P/$kind-$id" 2> "$D/out/$id.err"
rc=$?
issuer=$(sed -n 's/^\*  issuer: .*CN *= *\([^,;]*\).*/\1/p' "$D/out/$id.err" | head -1)
if [ "$issuer" = "gotonet test origin CA" ]; then
	r=spliced
elif [ "$issuer" = "gotonet test bump CA" ] && [ $rc -eq 0 ] && grep -q '^origin ' "$D/out/$id.body"; then
	r=bumped
else
	r=refused
fi
echo "$id $kind $name $r"
EOF
chmod 755 "$SQ_DIR/fetch.sh"
mkdir -p "$SQ_DIR/out"

# The killer: every helper of our squid, by PID, until told to stop.
: > "$SQ_DIR/kills"
(
	while [ ! -e "$SQ_DIR/stop-killing" ] && [ "${GN_KILL_OFF:-0}" != 1 ]; do
		for p in $(sq_children "$SQ_PID_main" ext_gotonet_acl); do
			# Written: its "loaded" line (~150 bytes) and, past 600, answers.
			w=$(sed -n 's/^wchar: //p' "/proc/$p/io" 2> /dev/null)
			[ "${w:-0}" -gt 600 ] || continue
			kill -KILL "$p" 2> /dev/null && echo "$p" >> "$SQ_DIR/kills"
		done
		sleep "$EVERY"
	done
) &
killer=$!
sq_track $killer

t0=$(date +%s)
D=$SQ_DIR SQPORT=$SQ_PORT_main P=$P xargs -P "$PAR" -L 1 "$SQ_DIR/fetch.sh" < "$SQ_DIR/jobs" > "$SQ_DIR/results"
t1=$(date +%s)
touch "$SQ_DIR/stop-killing"
wait $killer 2> /dev/null
kills=$(wc -l < "$SQ_DIR/kills")
sq_log "$N fetches, $PAR in parallel, in $((t1 - t0)) s; $kills helper processes killed"

[ "$(wc -l < "$SQ_DIR/results")" -eq "$N" ] && gn_ok "every fetch finished ($N)" ||
    gn_fail "$(wc -l < "$SQ_DIR/results") of $N fetches finished"
[ "$kills" -ge 1 ] && gn_ok "helpers were killed during the load ($kills)" ||
    gn_fail "no helper was killed: the test proved nothing"
# Squid 5.7 itself does not always survive this: "assertion failed:
# Write.cc:40" right after "helperDispatch: Helper ... has crashed", or FATAL
# "crashing too rapidly". An outage, never a bypass; reported, not failed,
# unless GN_FAULTS_STRICT=1.
alive=1
if ! kill -0 "$SQ_PID_main" 2> /dev/null; then
	alive=0
	gf_xfail "squid exited while its helpers were killed: $(grep -E 'assertion failed|FATAL' "$SQ_DIR/main/cache.log" | head -2 | tr '\n' ' ') (Squid 5.7 defect, not gotonet's)"
else
	gn_ok "squid survived"
fi

for kind in vendor other spoof; do
	for r in spliced bumped refused; do
		c=$(awk -v k=$kind -v r=$r '$2 == k && $4 == r' "$SQ_DIR/results" | wc -l)
		printf '# %-6s %-8s %d\n' "$kind" "$r" "$c"
	done
done
wrong=$(awk '($2 == "other" || $2 == "spoof") && $4 == "spliced"' "$SQ_DIR/results")
[ -z "$wrong" ] && gn_ok "zero wrong verdicts: no unlisted host spliced, no spoofed SNI spliced" ||
    gn_fail "wrongly spliced: $(echo "$wrong" | head -5)"
n=$(awk '$2 == "vendor" && $4 == "spliced"' "$SQ_DIR/results" | wc -l)
if [ "$n" -gt 0 ]; then
	gn_ok "vendor fetches spliced during the load ($n)"
elif [ "$alive" = 0 ]; then
	# Squid's own crash (above) can come before the first vendor fetch: an outage, not a bypass.
	gf_xfail "no vendor fetch spliced before squid exited (Squid 5.7 defect, not gotonet's)"
else
	gn_fail "no vendor fetch spliced"
fi
if [ $alive = 0 ]; then
	# Start it again (same config) to show that serving resumes.
	sq_start main
fi
# A splice must be the helper's: every spliced vendor tunnel is logged with bypass=yes
# (a squid that died before the tunnel closed did not log it).
sleep 1
nb=$(grep -c "CONNECT .* HIER_DIRECT/.* bypass=yes" "$SQ_DIR/main/access.log")
if [ $alive = 0 ]; then
	echo "# (squid died: tunnels open at that moment were never logged; mark check skipped)"
else
	[ "$nb" -ge "$n" ] && gn_ok "every splice carries the helper's mark in access.log ($nb >= $n)" ||
	    gn_fail "$n splices but only $nb tunnels with bypass=yes in access.log"
fi
! grep -E "CONNECT o[0-9]+.example.test:$P .*bypass=yes" "$SQ_DIR/main/access.log" | grep -q . &&
    gn_ok "access.log: no unlisted CONNECT with bypass=yes" || gn_fail "access.log: an unlisted CONNECT has bypass=yes"

# Serving resumes once the killing stops.
resumed=0
i=0
while [ $i -lt 20 ]; do
	i=$((i + 1))
	[ "$(sq_outcome main "https://meet.goto.com:$P/after")" = spliced ] && { resumed=$i; break; }
	sleep 0.5
done
[ $resumed -gt 0 ] && gn_ok "after the load a vendor name is spliced again (attempt $resumed)" ||
    gn_fail "vendor names not spliced after the load"
r=$(sq_outcome main "https://www.example.test:$P/after")
[ "$r" = bumped ] && gn_ok "after the load other names are bumped" || gn_fail "www.example.test after the load: $r"
[ -n "$(sq_children "$SQ_PID_main" ext_gotonet_acl)" ] && gn_ok "squid runs new helpers" || gn_fail "no helper running"
if grep -Eq "WARNING: external_acl_type #Hlpr[0-9]* exited|Helper external_acl_type #Hlpr[0-9]* has crashed" \
    "$SQ_DIR/main/cache.log"; then
	gn_ok "cache.log reports the dead helpers"
elif [ "$alive" = 0 ]; then
	gf_xfail "squid died before it logged the dead helpers (Squid 5.7 defect, not gotonet's)"
else
	gn_fail "no helper exit in cache.log"
fi
sq_stop main
gn_finish
