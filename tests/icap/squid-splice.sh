#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Squid 5 with ssl_bump where only srv_gotonet decides: curl through Squid to
# an HTTPS origin on 127.0.0.1; listed names are spliced (curl sees the
# origin's certificate), everything else is bumped (Squid's CA), including
# clients that send their own X-Gotonet-Bypass header or a listed SNI.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/icap/lib.sh"
gn_need_cicap
gn_sq_setup

gn_sq_scene meet.goto.test other.test inspect.goto.test listed.example
gn_cicap_start "$top_srcdir/tests/icap/data/test.rules"
gn_squid_icap_conf single > "$SQ_DIR/gotonet-icap.conf"
SQ_BUMP=1 SQ_LOGFORMAT=gntest sq_conf main "$GN_SQUID_LOGFORMAT" "include $SQ_DIR/gotonet-icap.conf"
sq_start main

# expect DESCRIPTION spliced|bumped URL [curl options...]
expect()
{
	_d=$1 _want=$2
	shift 2
	_got=$(sq_outcome main "$@")
	if [ "$_got" = "$_want" ]; then
		gn_ok "$_d: $_got"
	else
		gn_fail "$_d: expected $_want, got $_got"
		cat "$SQ_DIR/curl.err"
	fi
}

expect "listed name" spliced "https://meet.goto.test:$o/"
expect "unlisted name" bumped "https://other.test:$o/"
expect "action=splice rule" spliced "https://listed.example:$o/"
expect "exception" bumped "https://inspect.goto.test:$o/"
expect "client-sent X-Gotonet-Bypass and X-Gotonet-Action on the CONNECT" bumped \
    "https://other.test:$o/" --proxy-header "X-Gotonet-Bypass: Central domain (test)" \
    --proxy-header "X-Gotonet-Action: splice,direct"
# CONNECT other.test with the SNI (and Host) of a listed name: the CONNECT decides
expect "SNI of a listed name on an unlisted CONNECT" bumped \
    "https://meet.goto.test:$o/sni-spoof" --connect-to "meet.goto.test:$o:other.test:$o"
gn_check "SNI spoof: Squid got CONNECT other.test" \
    grep -q "CONNECT other.test:$o " "$SQ_DIR/main/access.log"
gn_check "SNI spoof: the bumped request for the listed name is not marked" \
    grep -q "^REQMOD gotonet 204 bumped https://meet.goto.test:$o/sni-spoof\$" "$GN_T/access.log"
# The reverse: CONNECT meet.goto.test with the SNI of an unlisted name. The
# ICAP path decides on the CONNECT alone, before any TLS byte: spliced, to
# the listed host (doc/security.md C1; the helper refuses it, B1).
expect "unlisted SNI on a listed CONNECT (no SNI check on the ICAP path)" spliced \
    "https://other.test:$o/connect-listed" --connect-to "other.test:$o:meet.goto.test:$o"

# What Squid logged: splice for the listed CONNECTs only, with the label.
sleep 1
A=$SQ_DIR/main/access.log
gn_check "squid access.log: meet.goto.test spliced, label logged" \
    grep -q "CONNECT meet.goto.test:$o .*ssl=splice gotonet=Central%20domain%20(test)" "$A"
gn_check "squid access.log: other.test bumped" grep -q "CONNECT other.test:$o .*ssl=bump gotonet=-" "$A"
gn_check "squid access.log: exactly the three listed CONNECTs spliced" \
    test "$(grep -c 'ssl=splice' "$A")" -eq 3
gn_check "origin: the spliced connection carried the client's own SNI" \
    grep -q '^sni meet.goto.test$' "$SQ_DIR/origin.log"
# What c-icap logged: the CONNECTs and the bumped requests went through gotonet.
gn_check "c-icap: CONNECT meet.goto.test marked" \
    grep -q "^REQMOD gotonet 200 bypass meet.goto.test:$o\$" "$GN_T/access.log"
gn_check "c-icap: spoofed header on CONNECT other.test stripped" \
    grep -q "^REQMOD gotonet 200 stripped other.test:$o\$" "$GN_T/access.log"
gn_check "c-icap: bumped GET https://other.test seen and left alone" \
    grep -q "^REQMOD gotonet 204 - https://other.test:$o/\$" "$GN_T/access.log"

gn_finish
