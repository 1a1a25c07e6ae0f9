#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# srv_gotonet inside the real c-icap server, driven with c-icap-client: OPTIONS,
# REQMOD and RESPMOD answers, spoofed headers, bodies, stats, access log,
# reconfigure with new, shipped, broken, empty and missing rules (the rules in
# force stay), a kept-alive connection across a reload, and broken, empty and
# missing rules at start (the service refuses to run), with raw REQMODs
# where c-icap-client would stop at a failed OPTIONS.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/icap/lib.sh"

gn_need_cicap
command -v python3 >/dev/null 2>&1 || gn_skip "python3 not installed (raw ICAP requests)"
gn_setup
cp "$top_srcdir/tests/icap/data/test.rules" "$GN_T/rules"
gn_cicap_start "$GN_T/rules"
O=$GN_T/out

gn_check "rules loaded at start (server log)" \
    grep -q "gotonet: 8 rules loaded from $GN_T/rules (version \"icap-test 1\"" "$GN_T/server.log"

# --- OPTIONS ---
gn_icap "$O" -s gotonet
gn_check "OPTIONS: 200" test "$(gn_icap_status "$O")" = 200
gn_check "OPTIONS: Methods RESPMOD, REQMOD" test "$(gn_icap_header "$O" Methods)" = "RESPMOD, REQMOD"
gn_check "OPTIONS: Preview 0" test "$(gn_icap_header "$O" Preview)" = 0
gn_check "OPTIONS: Allow 204 (and 206)" test "$(gn_icap_header "$O" Allow)" = "204, 206"
gn_check "OPTIONS: X-Include" test "$(gn_icap_header "$O" X-Include)" = "X-Client-IP, X-Server-IP"
istag1=$(gn_icap_header "$O" ISTag)
digest=$(gn_icap_header "$O" X-Gotonet-Rules | sed -n 's/.*digest \([0-9a-f]*\)$/\1/p')
gn_check "OPTIONS: ISTag from the rules digest ($istag1)" \
    test "$istag1" = "\"CI0001-gn$digest\"" -a ${#digest} -eq 16
gn_check "OPTIONS: X-Gotonet-Rules" \
    test "$(gn_icap_header "$O" X-Gotonet-Rules)" = "8 rules; version \"icap-test 1\"; digest $digest"

# --- REQMOD: listed traffic gets 200 and the bypass headers ---
# expect_bypass DESCRIPTION LABEL ACTION c-icap-client-arguments...
expect_bypass()
{
	_d=$1 _label=$2 _action=$3
	shift 3
	gn_icap "$O" -s gotonet "$@"
	if [ "$(gn_icap_status "$O")" = 200 ] &&
	    [ "$(gn_http_header "$O" X-Gotonet-Bypass)" = "$_label" ] &&
	    [ "$(gn_http_header "$O" X-Gotonet-Action)" = "$_action" ] &&
	    gn_has_icap_header "$O" X-Next-Services &&
	    [ -z "$(gn_icap_header "$O" X-Next-Services)" ]; then
		gn_ok "$_d: 200, X-Gotonet-Bypass: $_label, empty X-Next-Services"
	else
		gn_fail "$_d: expected 200 with X-Gotonet-Bypass: $_label"
		cat "$O"
	fi
}

# expect_untouched DESCRIPTION c-icap-client-arguments...: 204, nothing added
expect_untouched()
{
	_d=$1
	shift
	gn_icap "$O" -s gotonet "$@"
	if [ "$(gn_icap_status "$O")" = 204 ] && ! gn_has_icap_header "$O" X-Next-Services; then
		gn_ok "$_d: 204"
	else
		gn_fail "$_d: expected 204 without X-Next-Services"
		cat "$O"
	fi
}

expect_bypass "CONNECT listed name" "Central domain (test)" splice,direct \
    -method CONNECT -req meet.goto.test:443
expect_bypass "CONNECT listed name, any case, trailing dot" "Central domain (test)" splice,direct \
    -method CONNECT -req MEET.Goto.TEST.:443
expect_bypass "CONNECT the wildcard's own domain" "Central domain (test)" splice,direct \
    -method CONNECT -req goto.test:443
expect_bypass "CONNECT [IPv6]:port in a listed prefix" "IPv6 servers" splice,direct \
    -method CONNECT -req '[2001:db8::7]:443'
expect_bypass "CONNECT IPv4 in a listed prefix" "TEST-NET servers" splice,direct \
    -method CONNECT -req 192.0.2.10:443
expect_bypass "action=splice rule" Listed splice -method CONNECT -req listed.example:443
expect_bypass "ports=8443 rule on 8443" "only 8443" splice,direct \
    -method CONNECT -req portal.goto.test:8443
expect_bypass "unlisted name, X-Server-IP listed" "TEST-NET servers" splice,direct \
    -method CONNECT -req unlisted.test:443 -x "X-Server-IP: 192.0.2.20"
expect_bypass "listed, client header replaced by ours" "Central domain (test)" splice,direct \
    -method CONNECT -req meet.goto.test:443 -hx "X-Gotonet-Bypass: client says so" \
    -hx "X-Gotonet-Action: splice"
gn_check "listed with a client header: exactly one X-Gotonet-Bypass" \
    test "$(gn_http_header "$O" X-Gotonet-Bypass | wc -l)" -eq 1

# --- REQMOD: everything else untouched ---
expect_untouched "CONNECT unlisted name" -method CONNECT -req other.test:443
expect_untouched "CONNECT a look-alike name" -method CONNECT -req evilgoto.test:443
expect_untouched "CONNECT a listed name as a suffix of another" -method CONNECT -req meet.goto.test.evil.test:443
expect_untouched "GET unlisted URL whose Host header is listed" -req http://other.test/ -hx "Host: meet.goto.test"
expect_untouched "GET unlisted URL whose query names a listed host" -req "http://other.test/?u=http://meet.goto.test/"
expect_untouched "exception beats the wildcard" -method CONNECT -req inspect.goto.test:443
expect_untouched "exception on X-Server-IP beats a listed name" \
    -method CONNECT -req meet.goto.test:443 -x "X-Server-IP: 192.0.2.66"
expect_untouched "ports=8443 rule on 443" -method CONNECT -req portal.goto.test:443
expect_untouched "proto=udp prefix does not apply to ICAP (TCP)" -method CONNECT -req 198.51.100.5:443
expect_untouched "https:// URL of a listed name (inside a bumped connection)" \
    -req https://meet.goto.test/
gn_check "access log: bumped verdict" grep -q '^REQMOD gotonet 204 bumped https://meet.goto.test/$' "$GN_T/access.log"
# Only CONNECTs are marked: any other request may come from inside a bumped
# connection to an unlisted host (security review D2).
expect_untouched "GET absolute http:// URL of a listed name" -req http://www.goto.test/index.html
gn_check "access log: plain verdict" \
    grep -q '^REQMOD gotonet 204 plain http://www.goto.test/index.html$' "$GN_T/access.log"
expect_untouched "GET http:// URL with the port of a TLS server" -req http://meet.goto.test:443/
expect_untouched "GET origin-form, Host header listed" -req /join -hx "Host: www.goto.test:8080"
expect_untouched "GET unlisted URL, X-Server-IP listed" -req http://unlisted.test/ -x "X-Server-IP: 192.0.2.20"
expect_untouched "POST http:// URL of a listed name" -method POST -req http://www.goto.test/upload
expect_untouched "malformed CONNECT authority" -method CONNECT -req meet.goto.test:44x3
expect_untouched "ambiguous unbracketed IPv6 CONNECT" -method CONNECT -req 2001:db8::7:443

# --- spoofed headers: always stripped, answer 200 without them ---
expect_stripped()
{
	_d=$1
	shift
	gn_icap "$O" -s gotonet "$@"
	if [ "$(gn_icap_status "$O")" = 200 ] &&
	    [ -z "$(gn_http_header "$O" X-Gotonet-Bypass)" ] &&
	    [ -z "$(gn_http_header "$O" X-Gotonet-Action)" ] &&
	    ! gn_has_icap_header "$O" X-Next-Services; then
		gn_ok "$_d: 200 with the header removed"
	else
		gn_fail "$_d: expected 200 without any X-Gotonet-* header"
		cat "$O"
	fi
}
expect_stripped "CONNECT unlisted with X-Gotonet-Bypass" \
    -method CONNECT -req other.test:443 -hx "X-Gotonet-Bypass: Central domain (test)"
expect_stripped "GET unlisted with lower-case x-gotonet-bypass" \
    -req http://other.test/ -hx "x-gotonet-bypass: 1"
expect_stripped "several spoofed headers" -req http://other.test/ \
    -hx "X-Gotonet-Bypass: a" -hx "X-Gotonet-Bypass: b" -hx "X-Gotonet-Action: splice"
expect_stripped "exception with a spoofed header" \
    -method CONNECT -req inspect.goto.test:443 -hx "X-Gotonet-Bypass: 1"
gn_check "spoofed: other headers kept" test "$(gn_http_header "$O" User-Agent)" != ""

# --- RESPMOD: 204 at once, the chain never ended (a response is never of a CONNECT) ---
gn_icap "$O" -s gotonet -resp http://www.goto.test/
gn_check "RESPMOD listed: 204" test "$(gn_icap_status "$O")" = 204
gn_check "RESPMOD listed: chain unchanged (no X-Next-Services)" \
    sh -c '! grep -q X-Next-Services "$1"' _ "$O"
gn_icap "$O" -s gotonet -resp http://other.test/
gn_check "RESPMOD unlisted: 204, chain unchanged" \
    test "$(gn_icap_status "$O")" = 204 -a "$(gn_icap_header "$O" X-Next-Services)" = ""
gn_check "RESPMOD unlisted: no X-Next-Services" sh -c '! grep -q X-Next-Services "$1"' _ "$O"

# --- bodies: never read when the client allows 206; echoed otherwise ---
head -c 300000 /dev/urandom | od -An -tx1 > "$GN_T/body"
gn_icap "$O" -s gotonet -req http://other.test/upload -f "$GN_T/body" -o "$GN_T/body.out" -206 \
    -hx "X-Gotonet-Bypass: 1"
gn_check "POST spoofed with Allow 206: 206 use-original-body" test "$(gn_icap_status "$O")" = 206
gn_check "POST spoofed with Allow 206: body intact" cmp -s "$GN_T/body" "$GN_T/body.out"
rm -f "$GN_T/body.out"
gn_icap "$O" -s gotonet -req http://www.goto.test/upload -f "$GN_T/body" -o "$GN_T/body.out" -nopreview -no204
gn_check "POST listed, no preview, no 204/206: 200 without a gotonet header" \
    test "$(gn_icap_status "$O")" = 200 -a -z "$(gn_http_header "$O" X-Gotonet-Bypass)"
gn_check "POST listed, no preview, no 204/206: 300 kB body echoed intact" \
    cmp -s "$GN_T/body" "$GN_T/body.out"
rm -f "$GN_T/body.out"
gn_icap "$O" -s gotonet -req http://other.test/upload -f "$GN_T/body" -o "$GN_T/body.out"
gn_check "POST unlisted: 204" test "$(gn_icap_status "$O")" = 204
gn_icap "$O" -s gotonet -req http://other.test/upload -f "$GN_T/body" -o "$GN_T/body.out" \
    -hx "X-Gotonet-Bypass: 1" -nopreview -no204
gn_check "POST unlisted spoofed, no 204/206: 200 without the header" \
    test "$(gn_icap_status "$O")" = 200 -a -z "$(gn_http_header "$O" X-Gotonet-Bypass)"
gn_check "POST unlisted spoofed, no 204/206: body echoed intact" cmp -s "$GN_T/body" "$GN_T/body.out"

# --- what admins see: access log attribute and counters ---
gn_check "access log: bypass verdict with the CONNECT target" \
    grep -q '^REQMOD gotonet 200 bypass meet.goto.test:443$' "$GN_T/access.log"
gn_check "access log: not listed, no verdict attribute" grep -q '^REQMOD gotonet 204 - other.test:443$' "$GN_T/access.log"
gn_check "access log: excepted verdict" grep -q '^REQMOD gotonet 204 excepted inspect.goto.test:443$' "$GN_T/access.log"
gn_check "access log: stripped verdict" grep -q '^REQMOD gotonet 200 stripped other.test:443$' "$GN_T/access.log"
gn_check "access log: invalid verdict" grep -q '^REQMOD gotonet 204 invalid ' "$GN_T/access.log"
gn_check "access log: only CONNECTs marked (no bypass for a URL, REQMOD or RESPMOD)" \
    sh -c '! grep -q "^[A-Z]* gotonet [0-9]* bypass [a-z]*:/" "$1"' _ "$GN_T/access.log"
gn_check "gotonet's own access log (LogFormat gotonet): verdict and rule file:line" \
    grep -q "REQMOD gotonet 200 bypass $GN_T/rules:5 meet.goto.test:443$" \
    "$GN_T/gotonet.log"
gn_icap "$O" -s 'info?view=text' -req http://info/
info_stat()
{
	sed -n "s/^$1 : \([0-9]*\)\$/\1/p" "$O"
}
gn_check "info: bypassed counter ($(info_stat 'gotonet bypassed'))" test "$(info_stat 'gotonet bypassed')" -ge 9
gn_check "info: per-label counter" test "$(info_stat 'gotonet bypassed: Central domain (test)')" -ge 4
gn_check "info: stripped counter ($(info_stat 'gotonet spoofed headers stripped'))" \
    test "$(info_stat 'gotonet spoofed headers stripped')" -ge 6
gn_check "info: excepted counter" test "$(info_stat 'gotonet excepted')" -ge 2
gn_check "info: invalid counter" test "$(info_stat 'gotonet invalid targets')" -ge 2
gn_check "info: bumped counter" test "$(info_stat 'gotonet listed names in bumped connections')" -ge 1
gn_check "info: plain counter ($(info_stat 'gotonet listed names in requests other than CONNECT'))" \
    test "$(info_stat 'gotonet listed names in requests other than CONNECT')" -ge 7
gn_check "info: no errors" test "$(info_stat 'gotonet errors')" = 0

# --- reconfigure: new rules take effect and change the ISTag ---
echo 'newly.test label="added later"' >> "$GN_T/rules"
gn_cicap_reconfigure
gn_icap "$O" -s gotonet
istag2=$(gn_icap_header "$O" ISTag)
gn_check "reconfigure: ISTag changed ($istag1 -> $istag2)" test -n "$istag2" -a "$istag1" != "$istag2"
expect_bypass "reconfigure: the new rule is in force" "added later" splice,direct \
    -method CONNECT -req newly.test:443

# --- the shipped vendor list (ICAP only: no packet goes to the vendor) ---
gn_cicap_conf "$top_srcdir/etc/gotonet.rules"
gn_cicap_reconfigure
expect_bypass "shipped list: meet.goto.com" "Central domain for starting sessions" splice,direct \
    -method CONNECT -req meet.goto.com:443
expect_bypass "shipped list: CONNECT to an address in 173.199.0.0/18" \
    "VCS (Video servers), VGW and Edge (Audio servers)" splice,direct \
    -method CONNECT -req 173.199.1.2:443
expect_untouched "shipped list: notgoto.com" -method CONNECT -req notgoto.com:443

# --- gotonet.LogVerdicts on: one server log line per decision ---
sed -i 's/^gotonet.LogVerdicts off$/gotonet.LogVerdicts on/' "$GN_T/gotonet.conf"
gn_cicap_reconfigure
gn_icap "$O" -s gotonet -method CONNECT -req meet.goto.com:443 -x "X-Client-IP: 10.1.2.3"
gn_icap "$O" -s gotonet -method CONNECT -req www.example.com:443 -x "X-Client-IP: 10.1.2.4"
gn_check "LogVerdicts: bypass logged with rule and label" grep -q \
    "gotonet: REQMOD bypass meet.goto.com port 443 client 10.1.2.3: \*.goto.com ($top_srcdir/etc/gotonet.rules:[0-9]*, label \"Central domain for starting sessions\")" \
    "$GN_T/server.log"
gn_check "LogVerdicts: none logged" \
    grep -q "gotonet: REQMOD none www.example.com port 443 client 10.1.2.4\$" "$GN_T/server.log"

# --- reconfigure with a broken rules file: every error logged, the rules in force stay ---
gn_icap "$O" -s gotonet
istag_kept=$(gn_icap_header "$O" ISTag)
rules_kept=$(gn_icap_header "$O" X-Gotonet-Rules)
digest_kept=$(echo "$rules_kept" | sed -n 's/.*digest \([0-9a-f]*\)$/\1/p')
shipped_version=$(echo "$rules_kept" | sed -n 's/.*version "\(.*\)"; digest.*/\1/p')
cp "$top_srcdir/tests/icap/data/broken.rules" "$GN_T/rules"
gn_cicap_conf "$GN_T/rules"
gn_cicap_reconfigure
gn_check "broken rules on reconfigure: error line 4 logged" \
    grep -q "gotonet: $GN_T/rules:4: unknown attribute 'critcal'" "$GN_T/server.log"
gn_check "broken rules on reconfigure: error line 5 logged" \
    grep -q "gotonet: $GN_T/rules:5: '173.199.12.0/18' has host bits set" "$GN_T/server.log"
gn_check "broken rules on reconfigure: 'keeping the rules loaded at ... from ... (version, digest)' logged" \
    grep -q "gotonet: 2 errors in $GN_T/rules; rules not loaded, keeping the rules loaded at [0-9-]* [0-9:]* UTC from $top_srcdir/etc/gotonet.rules (version \"$shipped_version\", digest $digest_kept)\$" \
    "$GN_T/server.log"
gn_check "broken rules on reconfigure: the service is not disabled" \
    sh -c '! grep -q "service gotonet disabled" "$1"' _ "$GN_T/server.log"
# What Squid gets (raw REQMODs, each on a new connection, all answered by the
# children forked after the reload).
gn_reqmod "$O" "CONNECT meet.goto.com:443"
gn_check "broken rules on reconfigure: REQMOD of a CONNECT listed before is still 200 with its label" \
    test "$(gn_raw_status "$O")" = 200 -a \
    "$(gn_raw_http_header "$O" X-Gotonet-Bypass)" = "Central domain for starting sessions"
gn_check "broken rules on reconfigure: ... and the ISTag of the kept rules" \
    test "$(gn_raw_icap_header "$O" ISTag)" = "$istag_kept"
gn_reqmod "$O" "CONNECT meet.goto.test:443"
gn_check "broken rules on reconfigure: a name listed only in the broken file is not marked (204)" \
    test "$(gn_raw_status "$O")" = 204
gn_reqmod "$O" "CONNECT other.test:443" "X-Gotonet-Bypass: x" "X-Gotonet-Action: splice,direct"
gn_check "broken rules on reconfigure: client-sent X-Gotonet-* headers still stripped (200 without them)" \
    test "$(gn_raw_status "$O")" = 200 -a -z "$(gn_raw_http_header "$O" X-Gotonet-Bypass)" -a \
    -z "$(gn_raw_http_header "$O" X-Gotonet-Action)"
gn_icap "$O" -s gotonet
gn_check "broken rules on reconfigure: OPTIONS 200, same ISTag and X-Gotonet-Rules" \
    test "$(gn_icap_status "$O")" = 200 -a "$(gn_icap_header "$O" ISTag)" = "$istag_kept" -a \
    "$(gn_icap_header "$O" X-Gotonet-Rules)" = "$rules_kept"
gn_check "broken rules on reconfigure: OPTIONS says the reload failed (X-Gotonet-Reload)" \
    sh -c 'echo "$1" | grep -q "^failed at [0-9-]* [0-9:]* UTC; rules loaded at [0-9-]* [0-9:]* UTC kept$"' \
    _ "$(gn_icap_header "$O" X-Gotonet-Reload)"
# an empty file and a missing one are refused the same way
: > "$GN_T/rules"
gn_cicap_reconfigure
gn_check "empty rules on reconfigure: refused, the rules kept" \
    grep -q "gotonet: $GN_T/rules has no rules; rules not loaded, keeping the rules loaded at .* digest $digest_kept)\$" \
    "$GN_T/server.log"
gn_cicap_conf "$GN_T/missing.rules"
gn_cicap_reconfigure
gn_check "missing rules on reconfigure: the reason logged" \
    grep -q "gotonet: $GN_T/missing.rules: cannot open: No such file" "$GN_T/server.log"
gn_reqmod "$O" "CONNECT meet.goto.com:443"
gn_check "missing rules on reconfigure: the kept rules still mark a listed CONNECT" \
    test "$(gn_raw_status "$O")" = 200 -a -n "$(gn_raw_http_header "$O" X-Gotonet-Bypass)"
# fixed and reloaded: the new rules, no more X-Gotonet-Reload
cp "$top_srcdir/tests/icap/data/test.rules" "$GN_T/rules"
gn_cicap_conf "$GN_T/rules"
gn_cicap_reconfigure
gn_reqmod "$O" "CONNECT meet.goto.test:443"
gn_check "fixed and reloaded: the new rules in force" \
    test "$(gn_raw_status "$O")" = 200 -a "$(gn_raw_http_header "$O" X-Gotonet-Bypass)" = "Central domain (test)"
gn_icap "$O" -s gotonet
gn_check "fixed and reloaded: ISTag of the new rules ($istag1), no X-Gotonet-Reload" \
    test "$(gn_icap_header "$O" ISTag)" = "$istag1" -a -z "$(gn_icap_header "$O" X-Gotonet-Reload)"

# --- a kept-alive connection opened before a reload ---
# c-icap's children of before the reload answer one more request on each
# kept-alive connection they hold, with what they had loaded, then close it
# (srv_gotonet(8), "Reloading"). Here the reload adds a rule.
mkfifo "$GN_T/go"
python3 - "$GN_CICAP_PORT" "$GN_T/go" > "$GN_T/keepalive.out" 2>&1 <<'PY' &
import socket, sys
port, go = int(sys.argv[1]), sys.argv[2]
def reqmod(s, line):
    http = "%s HTTP/1.1\r\nHost: x\r\n\r\n" % line
    s.sendall(("REQMOD icap://127.0.0.1:%d/gotonet ICAP/1.0\r\nHost: 127.0.0.1\r\nAllow: 204\r\n"
               "Encapsulated: req-hdr=0, null-body=%d\r\n\r\n%s" % (port, len(http), http)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return "closed"
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode(errors="replace")
    conn = [h.split(":", 1)[1].strip() for h in head.split("\r\n") if h.lower().startswith("connection:")]
    return "%s connection=%s" % (head.split(" ")[1], conn[0] if conn else "-")
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(10)
print("before", reqmod(s, "CONNECT later.test:443"), flush=True)
open(go).read()
print("after", reqmod(s, "CONNECT later.test:443"))
try:
    print("then", reqmod(s, "CONNECT later.test:443"))
except OSError:
    print("then closed")
PY
ka_pid=$!
GN_PIDS="$GN_PIDS $ka_pid"
i=0
while ! grep -q '^before' "$GN_T/keepalive.out" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo 'later.test label="added later"' >> "$GN_T/rules"
gn_cicap_reconfigure nowait
timeout 10 sh -c 'echo go > "$1"' _ "$GN_T/go"
wait "$ka_pid"
gn_forget_pid "$ka_pid"
gn_check "kept-alive connection: unlisted before the reload (204)" grep -q '^before 204 connection=keep-alive$' "$GN_T/keepalive.out"
gn_check "kept-alive connection: the next request answered by the old child with the old rules, then closed" \
    grep -q '^after 204 connection=close$' "$GN_T/keepalive.out"
gn_check "kept-alive connection: nothing more on it" grep -q '^then closed$' "$GN_T/keepalive.out"
gn_reqmod "$O" "CONNECT later.test:443"
gn_check "a new connection after the reload: the new rule in force" \
    test "$(gn_raw_status "$O")" = 200 -a "$(gn_raw_http_header "$O" X-Gotonet-Bypass)" = "added later"
gn_cicap_stop

# --- a broken rules file at start: the service refuses to run, every error logged ---
# c-icap itself starts (and exits 0); the service answers nothing but 500.
: > "$GN_T/server.log"
cp "$top_srcdir/tests/icap/data/broken.rules" "$GN_T/rules"
gn_cicap_start "$GN_T/rules"
gn_check "broken rules at start: errors logged as file:line" \
    grep -q "gotonet: $GN_T/rules:4: unknown attribute 'critcal'" "$GN_T/server.log"
gn_check "broken rules at start: service disabled" \
    grep -q "gotonet: 2 errors in $GN_T/rules; rules not loaded, service gotonet disabled\$" "$GN_T/server.log"
# broken_refused WHEN: what Squid gets from the disabled service
broken_refused()
{
	gn_reqmod "$O" "CONNECT meet.goto.test:443"
	gn_check "$1: REQMOD of a listed CONNECT answered ICAP 500 (got $(gn_raw_status "$O"))" \
	    test "$(gn_raw_status "$O")" = 500
	gn_check "$1: ... without any X-Gotonet-Bypass" sh -c '! grep -qi "^X-Gotonet-Bypass" "$1"' _ "$O"
	gn_reqmod "$O" "CONNECT other.test:443" "X-Gotonet-Action: splice,direct"
	gn_check "$1: REQMOD with a client-sent X-Gotonet-Action answered 500, not passed (got $(gn_raw_status "$O"))" \
	    test "$(gn_raw_status "$O")" = 500
	gn_reqmod "$O" "GET http://other.test/"
	gn_check "$1: REQMOD of an unlisted URL answered 500 too (got $(gn_raw_status "$O"))" \
	    test "$(gn_raw_status "$O")" = 500
	gn_icap "$O" -s gotonet
	gn_check "$1: OPTIONS answers 500" test "$(gn_icap_status "$O")" = 500
	gn_icap "$O" -s echo
	gn_check "$1: the other services still work" test "$(gn_icap_status "$O")" = 200
}
broken_refused "broken rules at start"
# reloading a file that is still broken leaves it disabled; a fixed one starts it
gn_cicap_reconfigure
gn_check "still broken on reconfigure: disabled again (nothing was ever loaded)" \
    test "$(grep -c "gotonet: 2 errors in $GN_T/rules; rules not loaded, service gotonet disabled\$" "$GN_T/server.log")" -eq 2
broken_refused "still broken on reconfigure"
cp "$top_srcdir/tests/icap/data/test.rules" "$GN_T/rules"
gn_cicap_reconfigure
gn_reqmod "$O" "CONNECT meet.goto.test:443"
gn_check "broken at start, fixed, reconfigure: the service runs" \
    test "$(gn_raw_status "$O")" = 200 -a "$(gn_raw_http_header "$O" X-Gotonet-Bypass)" = "Central domain (test)"
gn_cicap_stop

# an empty list is refused too: never run without rules
: > "$GN_T/server.log"
cp "$top_srcdir/tests/icap/data/empty.rules" "$GN_T/rules"
gn_cicap_start "$GN_T/rules"
gn_check "empty rules at start: refused" \
    grep -q "gotonet: $GN_T/rules has no rules; rules not loaded, service gotonet disabled" "$GN_T/server.log"
gn_reqmod "$O" "CONNECT meet.goto.test:443"
gn_check "empty rules at start: REQMOD answered 500" test "$(gn_raw_status "$O")" = 500
gn_cicap_stop

# a missing rules file
: > "$GN_T/server.log"
gn_cicap_start "$GN_T/missing.rules"
gn_check "missing rules file at start: refused with the reason" \
    grep -q "gotonet: $GN_T/missing.rules: cannot open: No such file" "$GN_T/server.log"
gn_check "missing rules file at start: service disabled" \
    grep -q "rules not loaded, service gotonet disabled" "$GN_T/server.log"
gn_reqmod "$O" "CONNECT meet.goto.test:443"
gn_check "missing rules file at start: REQMOD answered 500" test "$(gn_raw_status "$O")" = 500
gn_cicap_stop

gn_finish
