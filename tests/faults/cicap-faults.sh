#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# srv_gotonet under faults: rules files cut, deleted, emptied or unreadable at reconfigure; c-icap down behind Squid with bypass=off and bypass=on.
#
# tests/icap/cicap.sh already proves a broken file (two errors) on reconfigure
# (:215-229: errors logged, no bypass header, OPTIONS 500) and broken, empty
# and missing files at start (:232-258). This test adds, on reconfigure: a
# file cut in the middle of its last line, a deleted file, an emptied file and
# a file the c-icap user cannot read; for each it asserts what the c-icap section of README.md
# documents (every error as file:line, "service gotonet disabled", REQMOD
# answered ICAP 500, the c-icap main process alive, other services working)
# and that a good file plus reconfigure brings the service back. Then, with
# Squid in front (the shipped etc/squid/gotonet-icap.conf), c-icap is broken
# and then stopped: with bypass=off (the shipped setting) nothing is spliced
# and nothing reaches the origin; with bypass=on a CONNECT carrying a
# client-sent X-Gotonet-Action header is spliced (doc/security.md C6: the
# warning holds), which is why the shipped snippet must say bypass=off.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/icap/lib.sh"
gn_need_cicap
. "$top_srcdir/tests/lib/squid-env.sh"
sq_init
trap gn_sq_cleanup EXIT
GN_T=$SQ_DIR
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

# The lib's start, with our conf (it rewrites c-icap.conf: redo ours after it).
GN_CICAP_PORT=$(gn_free_port)
conf
rm -f "$GN_T/c-icap.pid"
# shellcheck disable=SC2086
$CI_AS env $GN_CICAP_ENV ASAN_OPTIONS="detect_leaks=0:log_path=$GN_T/sanitizer" \
    c-icap -f "$GN_T/c-icap.conf" </dev/null >"$GN_T/c-icap.out" 2>&1
i=0
while [ ! -s "$GN_T/c-icap.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$GN_T/c-icap.pid" ] || gn_fatal "c-icap did not start: $(cat "$GN_T/c-icap.out")"
GN_CICAP_PID=$(cat "$GN_T/c-icap.pid")
GN_PIDS="$GN_PIDS $GN_CICAP_PID"
gn_wait_listening "$GN_CICAP_PORT" "$GN_CICAP_PID" || gn_fatal "c-icap does not listen"
MAIN=$GN_CICAP_PID
sq_log "c-icap $MAIN on 127.0.0.1:$GN_CICAP_PORT${CI_USER:+, running as $CI_USER}"

# reqmod_status REQUEST-LINE [HEADER]: the ICAP status of one REQMOD sent on a
# new connection (c-icap-client sends OPTIONS first and gives up on a 500).
reqmod_status()
{
	python3 - "$GN_CICAP_PORT" "$1" "${2:-}" <<'PY'
import socket, sys
port, line, extra = int(sys.argv[1]), sys.argv[2], sys.argv[3]
host = line.split()[1].split("/")[2] if "://" in line else line.split()[1]
http = "%s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (line, host, extra + "\r\n" if extra else "")
icap = ("REQMOD icap://127.0.0.1:%d/gotonet ICAP/1.0\r\nHost: 127.0.0.1\r\nAllow: 204\r\n"
        "Encapsulated: req-hdr=0, null-body=%d\r\n\r\n" % (port, len(http)))
try:
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    s.sendall((icap + http).encode())
    data = s.recv(4096).decode(errors="replace")
    print(data.split(" ")[1] if data.startswith("ICAP/1.0 ") else "none")
except OSError:
    print("none")
PY
}

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

# disabled DESCRIPTION: what the c-icap section of README.md says of a broken reload.
disabled()
{
	gn_check "$1: 'service gotonet disabled' logged" \
	    test "$(grep -c 'service gotonet disabled' "$GN_T/server.log")" -gt "$nd"
	gn_icap "$O" -s gotonet
	gn_check "$1: OPTIONS answered 500" test "$(gn_icap_status "$O")" = 500
	_s=$(reqmod_status "CONNECT meet.goto.test:443")
	gn_check "$1: REQMOD of a listed CONNECT answered ICAP 500 (got $_s)" test "$_s" = 500
	_s=$(reqmod_status "CONNECT other.test:443" "X-Gotonet-Action: splice,direct")
	gn_check "$1: REQMOD with a client-sent X-Gotonet-Action answered 500, not passed (got $_s)" test "$_s" = 500
	gn_check "$1: the c-icap main process ($MAIN) is alive" kill -0 "$MAIN"
	gn_icap "$O" -s echo
	gn_check "$1: the echo service still answers" test "$(gn_icap_status "$O")" = 200
}

# reload DESCRIPTION: reconfigure with the current file, expect disabled, restore.
broken_reload()
{
	nd=$(grep -c 'service gotonet disabled' "$GN_T/server.log")
	gn_cicap_reconfigure
	disabled "$1"
	cp "$top_srcdir/tests/icap/data/test.rules" "$R.new"
	chmod 644 "$R.new"
	mv "$R.new" "$R"
	gn_cicap_reconfigure
	in_force "$1, then a good file and reconfigure"
}

in_force "start"

# 1. A last line cut inside its quoted label.
{ cat "$top_srcdir/tests/icap/data/test.rules"; printf '*.new.test label="New (te'; } > "$R"
n=$(wc -l < "$R")
broken_reload "cut inside a label"
gn_check "cut inside a label: error logged as file:line" \
    grep -q "gotonet: $R:$((n + 1)): last line has no newline" "$GN_T/server.log"

# 2. A last line cut after its pattern.
{ cat "$top_srcdir/tests/icap/data/test.rules"; printf '*.new.te'; } > "$R"
broken_reload "cut after the pattern"
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
gn_cicap_reconfigure
gn_icap "$O" -s gotonet -method CONNECT -req inspect.goto.test:443
if [ "$(gn_icap_status "$O")" = 200 ] && grep -q X-Gotonet-Bypass "$O"; then
	gn_fail "an exception cut to 'except inspect.goto' is lost: inspect.goto.test marked (doc/security.md B6)"
else
	echo "ok - a cut exception never turns into a bypass (the file is refused: no newline at its end)"
fi
cp "$top_srcdir/tests/icap/data/test.rules" "$R"
chmod 644 "$R"
gn_cicap_reconfigure
in_force "after the B6 probe"

# --- Squid in front -----------------------------------------------------------
names="meet.goto.test other.test"
SQ_ORIGIN_CA="gotonet test origin CA"
SQ_BUMP_CA="gotonet test bump CA"
sq_make_ca origin "$SQ_ORIGIN_CA"
sq_make_ca bump "$SQ_BUMP_CA"
# shellcheck disable=SC2086
sq_make_cert origin site $names
sq_origin_start site
# shellcheck disable=SC2086
sq_hosts $names
o=$SQ_ORIGIN_PORT

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

# outcome SQUID URL [curl options]: spliced, bumped (origin reached through
# Squid's CA) or refused (an error page or no TLS session).
outcome()
{
	_sq=$1
	shift
	_issuer=$(sq_curl "$_sq" "$@")
	_rc=$?
	if [ "$_issuer" = "$SQ_ORIGIN_CA" ] && [ $_rc -eq 0 ]; then
		echo spliced
	elif [ "$_issuer" = "$SQ_BUMP_CA" ] && [ $_rc -eq 0 ] && grep -q '^origin ' "$SQ_DIR/body"; then
		echo bumped
	else
		echo refused
	fi
}
SPOOF="X-Gotonet-Action: splice,direct"

# expect SQUID DESCRIPTION WANT URL [curl options]
expect()
{
	_sq=$1 _d=$2 _want=$3
	shift 3
	_got=$(outcome "$_sq" "$@")
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

# c-icap up, the service disabled by a broken reload. Squid holds keep-alive
# ICAP connections to the c-icap child of before the reload; that child still
# has the old module and rules loaded. How long does it go on answering?
printf 'version broken\n*.goto.test label="x" critcal=yes\n' > "$R"
chmod 644 "$R"
gn_cicap_reconfigure
for sq in main on; do
	t0=$(date +%s)
	n=1
	first=$(outcome $sq "https://meet.goto.test:$o/dis-first")
	last=$first
	while [ "$last" = spliced ] && [ $(($(date +%s) - t0)) -lt 30 ]; do
		sleep 0.2
		n=$((n + 1))
		last=$(outcome $sq "https://meet.goto.test:$o/dis-wait")
	done
	if [ "$first" = spliced ]; then
		echo "XFAIL: $sq: after a broken reconfigure a listed CONNECT was still spliced ($((n - 1)) of $n requests, $(($(date +%s) - t0)) s): the old c-icap child serves the old rules on Squid's kept-alive ICAP connection (new defect; the c-icap section of README.md says the service is disabled)"
		[ "${GN_FAULTS_STRICT:-0}" = 1 ] && gn_fail "stale children (strict mode)"
	fi
	gn_check "$sq: service disabled: listed CONNECT no longer spliced after $n requests (got $last)" test "$last" != spliced
done
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
