#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Squid 5 -> c-icap [gotonet, then c-icap's echo standing in for an inspection
# service] with routing=on (the example chain of etc/squid/gotonet-icap.conf):
# listed CONNECTs never reach the inspection service, all other requests do,
# including plain HTTP to listed names and absolute http:// URLs of listed
# names sent inside a bumped connection (security review D2).
. "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/icap/lib.sh"
gn_need_cicap
gn_sq_setup

gn_sq_scene meet.goto.test www.goto.test other.test inspect.goto.test
gn_http_origin_start
sq_track "$GN_HTTP_PID"
gn_cicap_start "$top_srcdir/tests/icap/data/test.rules"
gn_squid_icap_conf chain > "$SQ_DIR/gotonet-icap.conf"
SQ_BUMP=1 SQ_LOGFORMAT=gntest sq_conf main "$GN_SQUID_LOGFORMAT" "include $SQ_DIR/gotonet-icap.conf"
sq_start main
h=$GN_HTTP_PORT

# gn_curl URL [curl options...]: through Squid; succeeds when curl does
gn_curl()
{
	sq_curl main "$@" >/dev/null
}

gn_check "squid.conf uses the example chain" \
    grep -q '^adaptation_service_chain gotonet_req_chain gotonet_req gotonet_inspect_req' \
    "$SQ_DIR/gotonet-icap.conf"

gn_check "listed plain HTTP fetched" gn_curl "http://www.goto.test:$h/vendor-plain"
gn_check "unlisted plain HTTP fetched" gn_curl "http://other.test:$h/other-plain"
gn_check "excepted plain HTTP fetched" gn_curl "http://inspect.goto.test:$h/excepted-plain"
gn_check "spoofed plain HTTP fetched" gn_curl "http://other.test:$h/spoofed-plain" \
    -H "X-Gotonet-Bypass: Central domain (test)" -H "X-Gotonet-Action: splice,direct"
head -c 100000 /dev/urandom | od -An -tx1 > "$SQ_DIR/post.body"
gn_check "spoofed plain HTTP POST sent" gn_curl "http://other.test:$h/spoofed-post" \
    --data-binary @"$SQ_DIR/post.body" -H 'Content-Type: application/octet-stream' \
    -H "X-Gotonet-Bypass: Central domain (test)"
gn_check "unlisted plain HTTP POST sent" gn_curl "http://other.test:$h/other-post" \
    --data-binary @"$SQ_DIR/post.body" -H 'Content-Type: application/octet-stream'
gn_check "listed HTTPS fetched (spliced)" gn_curl "https://meet.goto.test:$o/vendor-tls"
gn_check "unlisted HTTPS fetched (bumped)" gn_curl "https://other.test:$o/other-tls"
gn_check "SNI spoof fetched (bumped)" gn_curl "https://meet.goto.test:$o/sni-spoof" \
    --connect-to "meet.goto.test:$o:other.test:$o"
# D2: CONNECT other.test (bumped), then inside the TLS an absolute http:// URL
# of a listed name. Squid sends it over the connection to other.test.
gn_check "absolute http:// URL of a listed name inside a bumped CONNECT fetched" \
    gn_curl "https://other.test:$o/" --request-target "http://www.goto.test:$o/abs-http-in-bump"
sleep 1

L=$GN_T/access.log
# seen SERVICE VERDICT-OR-DASH URL: did c-icap log this REQMOD/RESPMOD?
seen()
{
	# seen METHOD SERVICE VERDICT URL [-s STATUS]
	_st='[0-9]*'
	[ "${5:-}" = -s ] && _st=$6
	grep -q "^$1 $2 $_st $3 $4\$" "$L"
}

gn_check "listed plain HTTP: not marked (only CONNECTs are)" \
    seen REQMOD gotonet plain "http://www.goto.test:$h/vendor-plain" -s 204
gn_check "listed plain HTTP: reached the inspection service" \
    seen REQMOD echo - "http://www.goto.test:$h/vendor-plain"
gn_check "listed plain HTTP: its response reached the inspection service" \
    seen RESPMOD echo - "http://www.goto.test:$h/vendor-plain"
gn_check "no response went to gotonet (the RESPMOD chain is the inspection service alone)" \
    sh -c '! grep -q "^RESPMOD gotonet " "$1"' _ "$L"
gn_check "unlisted plain HTTP: response reached the inspection service" \
    seen RESPMOD echo - "http://other.test:$h/other-plain"
gn_check "unlisted plain HTTP: reached the inspection service" \
    seen REQMOD echo - "http://other.test:$h/other-plain"
gn_check "excepted plain HTTP: reached the inspection service" \
    seen REQMOD echo - "http://inspect.goto.test:$h/excepted-plain"
gn_check "spoofed plain HTTP: header stripped by gotonet" \
    seen REQMOD gotonet stripped "http://other.test:$h/spoofed-plain"
gn_check "spoofed plain HTTP: reached the inspection service" \
    seen REQMOD echo - "http://other.test:$h/spoofed-plain"

gn_check "listed CONNECT: gotonet marked it" seen REQMOD gotonet bypass "meet.goto.test:$o"
gn_check "listed CONNECT: never reached the inspection service" \
    sh -c '! grep -q "^REQMOD echo .*meet.goto.test:$2\$" "$1"' _ "$L" "$o"
gn_check "listed CONNECT: nothing of it inspected (spliced)" \
    sh -c '! grep -q "vendor-tls" "$1"' _ "$L"
gn_check "unlisted CONNECT: reached the inspection service" seen REQMOD echo - "other.test:$o"
gn_check "unlisted bumped GET: reached the inspection service" \
    seen REQMOD echo - "https://other.test:$o/other-tls"
gn_check "unlisted bumped response: RESPMOD reached the inspection service" \
    seen RESPMOD echo - "https://other.test:$o/other-tls"
gn_check "SNI spoof: listed Host inside a bumped CONNECT other.test not marked" \
    seen REQMOD gotonet bumped "https://meet.goto.test:$o/sni-spoof"
gn_check "SNI spoof: its request reached the inspection service" \
    seen REQMOD echo - "https://meet.goto.test:$o/sni-spoof"
gn_check "SNI spoof: its response reached the inspection service" \
    seen RESPMOD echo - "https://meet.goto.test:$o/sni-spoof"
gn_check "D2: absolute http:// URL in a bumped CONNECT other.test not marked" \
    seen REQMOD gotonet plain "http://www.goto.test:$o/abs-http-in-bump" -s 204
gn_check "D2: its request reached the inspection service" \
    seen REQMOD echo - "http://www.goto.test:$o/abs-http-in-bump"
gn_check "D2: its response reached the inspection service" \
    seen RESPMOD echo - "http://www.goto.test:$o/abs-http-in-bump"
gn_check "D2: Squid did not see it marked" \
    grep -q "GET http://www.goto.test:$o/abs-http-in-bump .*ssl=bump gotonet=-\$" "$SQ_DIR/main/access.log"
gn_check "D2: it went over the bumped connection to other.test (origin saw SNI other.test)" \
    grep -q "^GET www.goto.test:$o /abs-http-in-bump sni=other.test\$" "$SQ_DIR/origin.log"
gn_check "spoofed POST: header stripped with 206, its body never read by the service" \
    seen REQMOD gotonet stripped "http://other.test:$h/spoofed-post" -s 206
gn_check "spoofed POST: reached the inspection service" \
    seen REQMOD echo - "http://other.test:$h/spoofed-post"
gn_check "unlisted POST: reached the inspection service" \
    seen REQMOD echo - "http://other.test:$h/other-post"
bodies=$(grep -c "^body $(wc -c < "$SQ_DIR/post.body") bytes\$" "$GN_T/http-origin.log")
gn_check "both POST bodies reached the origin intact in size ($bodies)" test "$bodies" -eq 2
gn_check "the origin got all plain requests" \
    test "$(grep -c -e '^GET /' -e '^POST /' "$GN_T/http-origin.log")" -eq 6
gn_check "no X-Gotonet-* header ever left Squid (listed: removed; spoofed: stripped)" \
    sh -c '! grep -qi "^X-Gotonet" "$1"' _ "$GN_T/http-origin.log"

gn_finish
