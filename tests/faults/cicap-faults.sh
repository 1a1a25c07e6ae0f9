#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# srv_gotonet under faults: rules files cut, deleted, emptied or unreadable at reconfigure; c-icap down behind Squid with bypass=off and bypass=on.
#
# tests/icap/cicap.sh already proves a broken, an empty and a missing file on
# reconfigure (errors logged, the rules in force kept) and at start (the
# service refuses to run). This test adds, on reconfigure: a file cut in the
# middle of its last line, a deleted file, an emptied file and a file the
# c-icap user cannot read; for each it asserts what srv_gotonet(8) documents
# (every error as file:line, "keeping the rules loaded at ...", OPTIONS still
# 200 with the same ISTag plus X-Gotonet-Reload, raw REQMODs answered with the
# kept rules by the children forked after the reload, spoofed headers still
# stripped, the c-icap main process alive, other services working) and that a
# good file plus reconfigure loads the new rules. Then, with Squid in front
# (the shipped etc/squid/gotonet-icap.conf): a broken reconfigure under
# Squid's kept-alive ICAP connections changes nothing (old and new c-icap
# children agree); a c-icap restarted with a broken file (the service
# disabled) and a stopped c-icap: with bypass=off (the shipped setting)
# nothing is spliced and nothing reaches the origin; with bypass=on a CONNECT
# carrying a client-sent X-Gotonet-Action header is spliced (doc/security.md
# C6: the warning holds), which is why the shipped snippet must say bypass=off.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/icap/lib.sh"
gn_need_cicap
gn_sq_setup
O=$GN_T/out
R=$GN_T/rules/gotonet.rules

# As root, c-icap is started as Squid's user (Debian's runs as c-icap), so
# that a mode 000 file is really unreadable for the module; sq_own hands
# SQ_DIR to that user anyway. (c-icap's own User directive cannot be used:
# after the switch its reconfigure hangs.)
CI_USER= CI_AS=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	CI_USER=$SQ_USER
	CI_AS="setpriv --reuid=$CI_USER --regid=$(id -g "$CI_USER") --clear-groups"
fi

mkdir -p "$GN_T/rules"
chmod 755 "$GN_T/rules"
cp "$top_srcdir/tests/icap/data/test.rules" "$R"
chmod 644 "$R"

# conf: the lib's c-icap.conf, plus the User line when we are root.
conf()
{
	gn_cicap_conf "$R"
	sq_own
}

# cicap_start: start c-icap on GN_CICAP_PORT with our conf (the lib's
# start picks a new port; Squid must find c-icap where it was).
cicap_start()
{
	conf
	rm -f "$GN_T/c-icap.pid"
	# shellcheck disable=SC2086
	$CI_AS env $GN_CICAP_ENV ASAN_OPTIONS="detect_leaks=0:log_path=$GN_T/sanitizer" \
	    c-icap -f "$GN_T/c-icap.conf" </dev/null >"$GN_T/c-icap.out" 2>&1
	_i=0
	while [ ! -s "$GN_T/c-icap.pid" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -s "$GN_T/c-icap.pid" ] || gn_fatal "c-icap did not start: $(cat "$GN_T/c-icap.out")"
	GN_CICAP_PID=$(cat "$GN_T/c-icap.pid")
	GN_PIDS="$GN_PIDS $GN_CICAP_PID"
	gn_wait_listening "$GN_CICAP_PORT" "$GN_CICAP_PID" || gn_fatal "c-icap does not listen"
	MAIN=$GN_CICAP_PID
	sq_log "c-icap $MAIN on 127.0.0.1:$GN_CICAP_PORT${CI_USER:+, running as $CI_USER}"
}
GN_CICAP_PORT=$(gn_free_port)
cicap_start

# in_force DESCRIPTION: the good rules answer (listed CONNECT marked, 200).
in_force()
{
	gn_icap "$O" -s gotonet -method CONNECT -req meet.goto.test:443
	if [ "$(gn_icap_status "$O")" = 200 ] &&
	    [ "$(gn_http_header "$O" X-Gotonet-Bypass)" = "Central domain (test)" ]; then
		gn_ok "$1: listed CONNECT marked (200)"
	else
		gn_fail "$1: listed CONNECT not marked: status $(gn_icap_status "$O")"
	fi
}

# kept DESCRIPTION: what srv_gotonet(8) says of a reload that finds a broken
# file: the rules in force stay, for every child (the old ones are gone when
# gn_cicap_reconfigure returns).
kept()
{
	gn_check "$1: 'rules not loaded, keeping the rules loaded at ... (version, digest)' logged" \
	    test "$(grep -c "rules not loaded, keeping the rules loaded at .* from $R (version \"icap-test 1\", digest $DIGEST)\$" \
	    "$GN_T/server.log")" -gt "$nk"
	gn_check "$1: the service is not disabled" \
	    sh -c '! grep -q "service gotonet disabled" "$1"' _ "$GN_T/server.log"
	gn_icap "$O" -s gotonet
	gn_check "$1: OPTIONS 200 with the ISTag of the kept rules" \
	    test "$(gn_icap_status "$O")" = 200 -a "$(gn_icap_header "$O" ISTag)" = "$ISTAG"
	gn_check "$1: OPTIONS says the reload failed (X-Gotonet-Reload)" \
	    test -n "$(gn_icap_header "$O" X-Gotonet-Reload)"
	gn_reqmod "$O" "CONNECT meet.goto.test:443"
	gn_check "$1: REQMOD of a listed CONNECT still marked (got $(gn_raw_status "$O"))" \
	    test "$(gn_raw_status "$O")" = 200 -a \
	    "$(gn_raw_http_header "$O" X-Gotonet-Bypass)" = "Central domain (test)"
	gn_reqmod "$O" "CONNECT other.test:443" "X-Gotonet-Action: splice,direct"
	gn_check "$1: REQMOD with a client-sent X-Gotonet-Action: 200 with the header removed (got $(gn_raw_status "$O"))" \
	    test "$(gn_raw_status "$O")" = 200 -a -z "$(gn_raw_http_header "$O" X-Gotonet-Action)"
	gn_check "$1: the c-icap main process ($MAIN) is alive" kill -0 "$MAIN"
	gn_icap "$O" -s echo
	gn_check "$1: the echo service still answers" test "$(gn_icap_status "$O")" = 200
}

# broken_reload DESCRIPTION [NAME]: reconfigure with the current file, expect
# the rules kept (and NAME, listed only by the broken file, not marked), then
# restore the file and reconfigure.
broken_reload()
{
	nk=$(grep -c 'rules not loaded, keeping the rules loaded' "$GN_T/server.log")
	gn_cicap_reconfigure
	kept "$1"
	if [ -n "${2:-}" ]; then
		gn_reqmod "$O" "CONNECT $2:443"
		gn_check "$1: $2, listed only by the broken file, not marked (got $(gn_raw_status "$O"))" \
		    test "$(gn_raw_status "$O")" = 204
	fi
	cp "$top_srcdir/tests/icap/data/test.rules" "$R.new"
	chmod 644 "$R.new"
	mv "$R.new" "$R"
	gn_cicap_reconfigure
	in_force "$1, then a good file and reconfigure"
	gn_icap "$O" -s gotonet
	gn_check "$1, then a good file and reconfigure: no X-Gotonet-Reload" \
	    test -z "$(gn_icap_header "$O" X-Gotonet-Reload)"
}

gn_icap "$O" -s gotonet
ISTAG=$(gn_icap_header "$O" ISTag)
DIGEST=$(gn_icap_header "$O" X-Gotonet-Rules | sed -n 's/.*digest \([0-9a-f]*\)$/\1/p')
[ -n "$DIGEST" ] || gn_fatal "no digest in the OPTIONS answer: $(cat "$O")"
in_force "start"

# 1. A last line cut inside its quoted label.
{ cat "$top_srcdir/tests/icap/data/test.rules"; printf '*.new.test label="New (te'; } > "$R"
n=$(wc -l < "$R")
broken_reload "cut inside a label" x.new.test
gn_check "cut inside a label: error logged as file:line" \
    grep -q "gotonet: $R:$((n + 1)): last line has no newline" "$GN_T/server.log"

# 2. A last line cut after its pattern.
{ cat "$top_srcdir/tests/icap/data/test.rules"; printf '*.new.te'; } > "$R"
broken_reload "cut after the pattern" x.new.te
gn_check "cut after the pattern: error logged as file:line" \
    grep -q "gotonet: $R:$((n + 1)): last line has no newline" "$GN_T/server.log"

# 3. Deleted.
rm -f "$R"
broken_reload "file deleted"
gn_check "file deleted: the reason logged" grep -q "gotonet: $R: cannot open: No such file" "$GN_T/server.log"

# 4. Emptied (truncated to 0 bytes).
: > "$R"
broken_reload "file emptied"
gn_check "file emptied: 'has no rules' logged" grep -q "gotonet: $R has no rules" "$GN_T/server.log"

# 5. Unreadable for the c-icap user.
if [ -n "$CI_USER" ]; then
	chmod 000 "$R"
	broken_reload "mode 000"
	gn_check "mode 000: the reason logged" grep -q "gotonet: $R: cannot open: Permission denied" "$GN_T/server.log"
else
	echo "SKIP: mode 000: c-icap runs as root here (not root, or no setpriv), and root reads mode 000 files"
fi

# 6. doc/security.md B6: a file cut where it would still parse (an exception
# that lost its tail) is refused, because it does not end with a newline.
{ grep -v '^except inspect' "$top_srcdir/tests/icap/data/test.rules"; printf 'except inspect.goto'; } > "$R"
nk=$(grep -c 'rules not loaded, keeping the rules loaded' "$GN_T/server.log")
gn_cicap_reconfigure
kept "an exception cut short"
gn_reqmod "$O" "CONNECT inspect.goto.test:443"
gn_check "a cut exception never turns into a bypass: inspect.goto.test still excepted (got $(gn_raw_status "$O"))" \
    test "$(gn_raw_status "$O")" = 204
cp "$top_srcdir/tests/icap/data/test.rules" "$R"
chmod 644 "$R"
gn_cicap_reconfigure
in_force "after the B6 probe"

# --- Squid in front -----------------------------------------------------------
gn_sq_scene meet.goto.test other.test

gn_check "the shipped snippet says bypass=off on the gotonet service" \
    grep -Eq '^icap_service gotonet_req reqmod_precache [^ ]+/gotonet bypass=off( |$)' \
    "$top_srcdir/etc/squid/gotonet-icap.conf"
gn_squid_icap_conf single > "$SQ_DIR/icap-off.conf"
sed 's/ bypass=off / bypass=on /' "$SQ_DIR/icap-off.conf" > "$SQ_DIR/icap-on.conf"
gn_check "the bypass=on copy differs only there" \
    test "$(diff "$SQ_DIR/icap-off.conf" "$SQ_DIR/icap-on.conf" | grep -c '^[<>]')" = 2
SQ_BUMP=1 SQ_LOGFORMAT=gntest sq_conf main "$GN_SQUID_LOGFORMAT" "include $SQ_DIR/icap-off.conf"
SQ_BUMP=1 SQ_LOGFORMAT=gntest sq_conf on "$GN_SQUID_LOGFORMAT" "include $SQ_DIR/icap-on.conf"
sq_start main
sq_start on

SPOOF="X-Gotonet-Action: splice,direct"

# expect SQUID DESCRIPTION WANT URL [curl options]
expect()
{
	_sq=$1 _d=$2 _want=$3
	shift 3
	_got=$(sq_outcome "$_sq" "$@")
	case " $_want " in
	*" $_got "*) gn_ok "$_sq: $_d: $_got" ;;
	*) gn_fail "$_sq: $_d: expected $_want, got $_got" ;;
	esac
}

# The scene works while c-icap does.
for sq in main on; do
	expect $sq "c-icap up, listed" spliced "https://meet.goto.test:$o/up"
	expect $sq "c-icap up, unlisted" bumped "https://other.test:$o/up"
	expect $sq "c-icap up, unlisted with a client-sent X-Gotonet-Action" bumped \
	    "https://other.test:$o/up-spoof" --proxy-header "$SPOOF"
done

# A broken reconfigure with Squid in front. Squid holds kept-alive ICAP
# connections to the c-icap children of before the reload; each answers one
# more request on them with what it had loaded, then closes it (srv_gotonet(8),
# "Reloading"). Those children and the new ones keep the same rules: listed
# names stay spliced, others bumped, spoofed headers bumped, from the first
# request after the reload on, and still once the old children are gone.
old_children=$(pgrep -P "$MAIN" 2>/dev/null)
nk=$(grep -c 'rules not loaded, keeping the rules loaded' "$GN_T/server.log")
printf 'version broken\n*.goto.test label="x" critcal=yes\n' > "$R"
chmod 644 "$R"
gn_cicap_reconfigure nowait
gn_check "broken reconfigure under Squid: the rules kept (server log)" \
    test "$(grep -c 'rules not loaded, keeping the rules loaded' "$GN_T/server.log")" -gt "$nk"
for i in 1 2 3; do
	for sq in main on; do
		expect $sq "broken reconfigure, request $i after it, listed" spliced "https://meet.goto.test:$o/kept-$i"
		expect $sq "broken reconfigure, request $i after it, unlisted" bumped "https://other.test:$o/kept-$i"
		expect $sq "broken reconfigure, request $i after it, spoofed header" bumped \
		    "https://other.test:$o/kept-spoof-$i" --proxy-header "$SPOOF"
	done
done
i=0
for k in $old_children; do
	while kill -0 "$k" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
done
gn_check "broken reconfigure under Squid: the children of before it have exited" \
    sh -c 'for k in $1; do ! kill -0 "$k" 2>/dev/null || exit 1; done' _ "$old_children"
for sq in main on; do
	expect $sq "broken reconfigure, old children gone, listed" spliced "https://meet.goto.test:$o/kept-new"
	expect $sq "broken reconfigure, old children gone, unlisted" bumped "https://other.test:$o/kept-new"
done
gn_check "broken reconfigure under Squid: the c-icap main process is alive" kill -0 "$MAIN"

# c-icap restarted with the broken file: the service refuses to run (ICAP
# 500 to everything) while c-icap runs.
gn_cicap_stop
: > "$GN_T/server.log"
cicap_start
gn_check "restart with a broken file: service disabled (server log)" \
    grep -q "rules not loaded, service gotonet disabled" "$GN_T/server.log"
for sq in main on; do
	: > "$SQ_DIR/origin.log"
	expect $sq "service disabled, listed" "refused bumped" "https://meet.goto.test:$o/dis"
	expect $sq "service disabled, unlisted" "refused bumped" "https://other.test:$o/dis"
done
expect main "bypass=off, service disabled, spoofed header" refused "https://other.test:$o/dis-spoof" \
    --proxy-header "$SPOOF"
expect on "bypass=on, service disabled (ICAP 500), spoofed header: the client's header splices (doc/security.md C6, C7)" \
    spliced "https://other.test:$o/dis-spoof" --proxy-header "$SPOOF"
gn_check "service disabled: the c-icap main process is alive" kill -0 "$MAIN"

# c-icap down.
cp "$top_srcdir/tests/icap/data/test.rules" "$R"
chmod 644 "$R"
gn_cicap_stop
gn_check "c-icap stopped: nothing listens on its port" sh -c '! ss -Hltn "( sport = :$1 )" | grep -q .' _ "$GN_CICAP_PORT"
: > "$SQ_DIR/origin.log"
expect main "bypass=off, c-icap down, listed" refused "https://meet.goto.test:$o/down"
expect main "bypass=off, c-icap down, unlisted" refused "https://other.test:$o/down"
expect main "bypass=off, c-icap down, spoofed header" refused "https://other.test:$o/down-spoof" \
    --proxy-header "$SPOOF"
expect main "bypass=off, c-icap down, spoofed header on a listed name" refused \
    "https://meet.goto.test:$o/down-spoof" --proxy-header "$SPOOF"
gn_check "bypass=off, c-icap down: no request reached the origin" \
    sh -c '! grep -q "/down" "$1"' _ "$SQ_DIR/origin.log"

expect on "bypass=on, c-icap down, listed without a header: not spliced" bumped "https://meet.goto.test:$o/on"
expect on "bypass=on, c-icap down, unlisted: bumped but not inspected" bumped "https://other.test:$o/on"
# The documented hole: the client's own header reaches the acls and splices.
expect on "bypass=on, c-icap down, unlisted with a client-sent X-Gotonet-Action (doc/security.md C6)" \
    spliced "https://other.test:$o/on-spoof" --proxy-header "$SPOOF"
sleep 1
gn_check "bypass=on: Squid's access.log shows the spoofed CONNECT spliced" \
    grep -q "CONNECT other.test:$o .*ssl=splice" "$SQ_DIR/on/access.log"
gn_check "bypass=off: Squid's access.log shows no splice of other.test" \
    sh -c '! grep -q "CONNECT other.test:.*ssl=splice" "$1"' _ "$SQ_DIR/main/access.log"
gn_check "Squid (bypass=off) still running" kill -0 "$SQ_PID_main"
gn_finish
