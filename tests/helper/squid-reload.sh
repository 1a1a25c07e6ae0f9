#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Squid's answer cache after the rules change (doc/security.md, B7): a SIGHUP
# reloads the helpers' rules, yet Squid keeps using its cached OK for the same
# (SNI, host, port) until ttl=300 runs out; `squid -k reconfigure` drops the
# cache, and the next connection gets the new verdict.
#
# All on 127.0.0.1: an HTTPS origin (its own CA) and the squid under test with
# the shipped snippet and rules; meet.goto.com reaches 127.0.0.1 through
# hosts_file only.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/squid-env.sh"
sq_init

fail=0

# helper_loads: how many times the helpers of this squid have loaded rules.
helper_loads() {
	grep -c 'ext_gotonet_acl.*: loaded ' "$SQ_DIR/main/cache.log" 2> /dev/null
}

# wait_loads N: until the helpers have loaded rules N times (10 s at most).
wait_loads() {
	i=0
	while [ "$(helper_loads)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
	return 0
}

sq_gotonet_setup "meet.goto.com" "www.example.test"
P=$SQ_ORIGIN_PORT
url="https://meet.goto.com:$P/"
rules=$SQ_DIR/gotonet.rules

sq_conf_gotonet "$SQ_DIR/bin/ext_gotonet_acl" "$rules" "-d all" > "$SQ_DIR/gotonet.conf"
SQ_BUMP=1 SQ_LOGFORMAT=gotonet sq_conf main "include $SQ_DIR/gotonet.conf" \
    "acl gn_test_clients src 127.0.0.0/8" "http_access allow gn_test_clients"
sq_start main
sq_log "squid $SQ_PID_main on 127.0.0.1:$SQ_PORT_main, origin on $P"

# 1. Listed: spliced, and Squid now holds the helper's OK for ttl=300.
[ "$(sq_outcome main "$url")" = spliced ]
check "meet.goto.com spliced with the shipped rules"
[ "$(sq_outcome main "https://www.example.test:$P/")" = bumped ]
check "www.example.test bumped"
wait_loads 1 || sq_fail "no helper said it loaded the rules"
before=$(helper_loads)

# 2. The admin excepts the name and signals the helpers. The new rules say
# ERR (asked directly), and every helper of this squid reloaded them.
printf 'except meet.goto.com\n' >> "$rules"
printf 'meet.goto.com meet.goto.com %s 127.0.0.1 -\n' "$P" |
    "$SQ_DIR/bin/ext_gotonet_acl" -d none -r "$rules" 2> /dev/null | grep -q '^ERR '
check "the changed rules refuse meet.goto.com"
helpers=$(sq_children "$SQ_PID_main" ext_gotonet_acl)
[ -n "$helpers" ]
check "squid runs its helpers ($(echo $helpers))"
# shellcheck disable=SC2086
kill -HUP $helpers
n=$(echo $helpers | wc -w)
wait_loads $((before + n))
check "every helper reloaded on SIGHUP ($(helper_loads) loads, $before before)"

# 3. Within ttl Squid does not ask again: the name is still spliced.
[ "$(sq_outcome main "$url")" = spliced ]
check "meet.goto.com still spliced after SIGHUP (Squid's cached OK)"

# 4. squid -k reconfigure drops the external ACL and its cache: bumped now.
loads=$(helper_loads)
"$SQ_SQUID" -k reconfigure -f "$SQ_DIR/main.conf" -n "${SQ_RUN}main" > "$SQ_DIR/reconf.log" 2>&1
check "squid -k reconfigure"
wait_loads $((loads + 1))
check "a new helper loaded the rules after reconfigure"
out=
i=0
while [ $i -lt 20 ]; do	# the old helpers may still be winding down
	out=$(sq_outcome main "$url")
	[ "$out" = bumped ] && break
	i=$((i + 1))
	sleep 0.5
done
[ "$out" = bumped ]
check "meet.goto.com bumped after reconfigure ($out, attempt $((i + 1)))"
sleep 1	# access.log is written when the tunnel closes
grep -E "CONNECT meet.goto.com:$P " "$SQ_DIR/main/access.log" | tail -1 | grep -q ' bypass=- '
check "access.log: the last meet.goto.com tunnel was not bypassed"

exit $fail
