#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Fail closed: with a broken helper, Squid configured from etc/squid/gotonet.conf bumps or refuses, never splices.
#
# The helper is replaced by tests/helper/broken-helper.py in four ways (BH to
# everything; BH only at step 2 after a truthful pre-check; dying after its
# first answer; never answering). A control run with the fail-closed lines
# removed from the snippet shows that Squid 5.7 itself splices in that case.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/squid-env.sh"
sq_init

fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

vendor="meet.goto.com launch.getgo.com global.gotowebinar.com egw.gotomeeting.com"
other="evil.example.test www.example.test api.example.test"
sq_gotonet_setup "$vendor" "$other"
P=$SQ_ORIGIN_PORT
cp "$top_srcdir/tests/helper/broken-helper.py" "$SQ_DIR/bin/"
chmod 755 "$SQ_DIR/bin/broken-helper.py"

# run MODE NAME [SED]: squid NAME with the helper broken in MODE; SED edits the snippet.
run() {
	mode=$1 name=$2
	sq_conf_gotonet "$SQ_DIR/bin/broken-helper.py $mode $SQ_DIR/$name.helper.log $SQ_DIR/bin/ext_gotonet_acl" \
	    "$SQ_DIR/gotonet.rules" | sed -e "${3:-}" > "$SQ_DIR/$name-gotonet.conf"
	SQ_BUMP=1 SQ_LOGFORMAT=gotonet sq_conf "$name" "include $SQ_DIR/$name-gotonet.conf"
	sq_start "$name"
}

# fetch NAME HOST...: one HTTPS fetch per host; sets RESULT to "host=outcome ...".
fetch() {
	name=$1
	shift
	RESULT=
	for h in "$@"; do
		RESULT="$RESULT $h=$(sq_outcome "$name" "https://$h:$P/")"
	done
	RESULT=${RESULT# }
}

# never_spliced MODE: no fetch in RESULT was spliced; non-vendor ones bumped or refused.
never_spliced() {
	case " $RESULT" in
	*=spliced*) bad "$1: a connection was spliced while the helper was broken: $RESULT" ;;
	*) ok "$1: nothing spliced: $RESULT" ;;
	esac
}

# 1. BH to everything: the pre-check says "don't know", so everything is bumped.
run bh bh
fetch bh evil.example.test meet.goto.com www.example.test launch.getgo.com
never_spliced bh
[ "$RESULT" = "evil.example.test=bumped meet.goto.com=bumped www.example.test=bumped launch.getgo.com=bumped" ] &&
    ok "bh: all bumped" || bad "bh: expected all bumped"
grep -q '^BH ' "$SQ_DIR/bh.helper.log" && ok "bh: the helper did answer BH" || bad "bh: the helper was not asked"
sq_stop bh

# 2. A truthful pre-check, then BH at step 2: listed hosts pass the pre-check,
# Squid splices on "don't know", and the guard refuses the internal CONNECT.
run step2-bh s2
fetch s2 meet.goto.com evil.example.test launch.getgo.com www.example.test
never_spliced step2-bh
[ "$RESULT" = "meet.goto.com=refused evil.example.test=bumped launch.getgo.com=refused www.example.test=bumped" ] &&
    ok "step2-bh: listed hosts refused, the rest bumped" || bad "step2-bh: unexpected outcome"
grep -q "^BH [0-9]* meet.goto.com meet.goto.com $P" "$SQ_DIR/s2.helper.log" &&
    ok "step2-bh: the step-2 question got BH" || bad "step2-bh: no BH at step 2"
sleep 1
grep -Eq "TCP_DENIED/403 .* CONNECT meet.goto.com:$P " "$SQ_DIR/s2/access.log" &&
    ok "step2-bh: access.log shows the internal CONNECT denied" || bad "step2-bh: no TCP_DENIED in access.log"
sq_stop s2

# 3. A helper that dies after its first answer (Squid restarts it each time).
run die die
fetch die evil.example.test www.example.test meet.goto.com launch.getgo.com api.example.test global.gotowebinar.com
never_spliced die
grep -q '^die ' "$SQ_DIR/die.helper.log" && ok "die: the helper died on a request" || bad "die: the helper never died"
grep -q "WARNING: external_acl_type #Hlpr[0-9]* exited" "$SQ_DIR/die/cache.log" &&
    ok "die: squid saw its helper exit" || bad "die: no exit in cache.log"
kill -0 "$SQ_PID_die" 2> /dev/null && ok "die: squid still running" || bad "die: squid exited"
sq_stop die

# 4. A helper that never answers: connections wait, none is spliced.
run hang hang
SQ_CURL_TIMEOUT=4 fetch hang evil.example.test meet.goto.com
never_spliced hang
sq_stop hang

# 5. Control: the same BH helper without the fail-closed lines. Squid 5.7
# splices on "don't know"; if it does not, the documentation must change.
run bh ctl '/^http_access deny CONNECT gotonet_step2/d;/^cache deny CONNECT/d;/^ssl_bump bump gotonet_step2 !gotonet_host_ok/d'
fetch ctl evil.example.test
case $RESULT in
*=spliced) ok "control: without the guard lines Squid splices an unlisted host when the helper fails" ;;
*) bad "control: expected Squid to fail open without the guard lines, got $RESULT" ;;
esac
sq_stop ctl
exit $fail
