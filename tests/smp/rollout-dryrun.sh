#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# contrib/rollout/rollout.sh in dry-run mode: the printed plan, its order and its scripts; no host is ever contacted.
#
# ssh and scp are replaced (first in PATH) by stubs that only record that they
# were called and fail: a dry run must not call them at all. Host names are
# under .invalid (RFC 6761), which never resolves.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

ROLLOUT=$top_srcdir/contrib/rollout/rollout.sh
GOTONET=$top_builddir/gotonet
[ -x "$GOTONET" ] || { echo "SKIP: $GOTONET not built"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/gn-rollout.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
mkdir "$T/bin"
for stub in ssh scp; do
	printf '#!/bin/sh\necho "%s $*" >> "%s/contacted"\nexit 255\n' "$stub" "$T" > "$T/bin/$stub"
	chmod 755 "$T/bin/$stub"
done
PATH=$T/bin:$PATH
export PATH

fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
check() {	# check DESCRIPTION: report the status of the last command
	if [ $? -eq 0 ]; then ok "$1"; else bad "$1"; fi
}

# What an admin reads from gotonet lint: the plan must carry the same.
RULES=$top_srcdir/etc/gotonet.rules
lint=$("$GOTONET" lint -R -r "$RULES")
VERSION=$(echo "$lint" | sed -n 's/^.*: list \(.*\): [0-9]* rules* (.*/\1/p')
DIGEST=$(echo "$lint" | sed -n 's/.*, digest \([0-9a-f]*\):.*/\1/p')
[ -n "$VERSION" ] && [ -n "$DIGEST" ] || { echo "ERROR: cannot read gotonet lint: $lint"; exit 99; }

printf '# the farm\nproxy2.example.invalid\n\nadmin@proxy3.example.invalid  # canary last\n' > "$T/hosts"

# plan OUT ARGS...: a dry run, its output in $T/OUT, its status in RC.
plan() {
	out=$1
	shift
	sh "$ROLLOUT" --dry-run --gotonet "$GOTONET" "$@" > "$T/$out" 2>&1
	RC=$?
}

# line_of FILE PATTERN [FROM]: the number of the first line at or after FROM
# matching PATTERN (grep -E), or 0.
line_of() {
	awk -v re="$2" -v from="${3:-1}" 'NR >= from && $0 ~ re { print NR; found = 1; exit }
	    END { if (!found) print 0 }' "$1"
}

# scripts_parse FILE: every remote script in the plan is valid sh.
scripts_parse() {
	awk -v dir="$T" '
		/^   would run: .* sh -s <</ { n++; f = dir "/script." n; printf "" > f; s = 1; next }
		s && /^   EOF$/ { s = 0; close(f); next }
		s { sub(/^   \| /, ""); print >> f }
		END { print n > (dir "/nscripts") }' "$1"
	n=$(cat "$T/nscripts")
	i=1
	while [ "$i" -le "$n" ]; do
		sh -n "$T/script.$i" 2> "$T/script.err" || { cat "$T/script.$i" "$T/script.err"; return 1; }
		i=$((i + 1))
	done
	[ "$n" -gt 0 ]
}

# 1. The full plan: three hosts (arguments and a hosts file), in order.
plan full -r "$RULES" proxy1.example.invalid -H "$T/hosts"
[ $RC -eq 0 ]
check "dry run exits 0"
grep -q "^== list \"$VERSION\", digest $DIGEST, to 3 host(s): proxy1.example.invalid proxy2.example.invalid admin@proxy3.example.invalid\$" "$T/full"
check "the plan names the list (\"$VERSION\", digest $DIGEST) and the 3 hosts in order"
grep -q "list $VERSION: .*digest $DIGEST: 0 warnings" "$T/full"
check "gotonet lint -R ran here first"
[ ! -e "$T/contacted" ]
check "no ssh or scp was run$(head -3 "$T/contacted" 2> /dev/null)"
grep -q '^== dry run: nothing was copied or reloaded; 3 host(s) planned$' "$T/full"
check "the plan ends saying nothing was done"

prev=0
for h in proxy1.example.invalid proxy2.example.invalid admin@proxy3.example.invalid; do
	start=$(line_of "$T/full" "^== $h\$")
	[ "$start" -gt "$prev" ]
	check "$h comes after the previous host (line $start)"
	at=$start
	steps_ok=1
	# Each step of the recipe, in this order, within this host's part.
	for step in \
	    "^-- \[$h\] copy .*gotonet.rules to /etc/gotonet/gotonet.rules.new\$" \
	    "^   would run: scp -o BatchMode=yes -q '.*/etc/gotonet.rules' $h:'/etc/gotonet/gotonet.rules.new'\$" \
	    "^-- \[$h\] lint the copy on the proxy\$" \
	    "^   \| gotonet lint -R -r '/etc/gotonet/gotonet.rules.new' && chmod 0644 " \
	    "^-- \[$h\] install: keep /etc/gotonet/gotonet.rules.prev, rename " \
	    "^   \| .*cp -p '/etc/gotonet/gotonet.rules' '/etc/gotonet/gotonet.rules.prev'.* mv -f '/etc/gotonet/gotonet.rules.new' '/etc/gotonet/gotonet.rules'\$" \
	    "^-- \[$h\] reload Squid \(squid -k reconfigure\), .*digest $DIGEST\$" \
	    "^   would run: ssh -o BatchMode=yes $h sh -s <<'EOF'\$" \
	    "^   \| squid -k reconfigure \|\| exit 1\$" \
	    "^   \| .*grep -q 'ext_gotonet_acl: loaded /etc/gotonet/gotonet.rules: \.\*, digest $DIGEST\\\$'\$" \
	    "^-- \[$h\] reload c-icap \(reconfigure on /var/run/c-icap/c-icap.ctl\)" \
	    "^   \| printf reconfigure > '/var/run/c-icap/c-icap.ctl' \|\| exit 1\$" \
	    "^   \| .*grep -q 'ISTag CI0001-gn$DIGEST\)'\$" \
	    "^-- \[$h\] check: the list on disk" \
	    "^   \| gotonet lint -R -r '/etc/gotonet/gotonet.rules'\$" \
	    "^   expect: list $VERSION: \.\.\. digest $DIGEST: 0 warnings\$" \
	    "^-- \[$h\] check: c-icap OPTIONS" \
	    "^   \| c-icap-client -i 127.0.0.1 -p 1344 -s gotonet -v " \
	    "^   expect: ISTag: \"CI0001-gn$DIGEST\" and X-Gotonet-Rules: \.\.\. version \"$VERSION\"; digest $DIGEST\$" \
	    "^-- \[$h\] check: which list versions decided the latest access.log lines\$" \
	    "^   \| tail -n 2000 '/var/log/squid/access.log' \| grep -o 'version=" \
	    "^   expect: version=$(printf '%s' "$VERSION" | sed 's/ /%20/g') on the newest lines\$"; do
		n=$(line_of "$T/full" "$step" "$at")
		if [ "$n" -eq 0 ]; then
			echo "# $h: missing or out of order after line $at: $step"
			steps_ok=0
			break
		fi
		at=$n
	done
	next=$(awk -v from="$start" 'NR > from && /^== / { print NR; exit }' "$T/full")
	[ $steps_ok = 1 ] && [ "$at" -lt "${next:-0}" ]
	check "$h: copy, lint there, install, reload Squid, reload c-icap, then the three checks, in order"
	prev=$start
done
scripts_parse "$T/full"
check "every remote script in the plan is valid sh ($(cat "$T/nscripts") scripts)"

# 2. Options change the plan.
plan opts -r "$RULES" --no-icap --sudo --squid "squid -n proxyb" -d /opt/gotonet \
    --cache-log /srv/squid/cache.log proxy9.example.invalid
[ $RC -eq 0 ] && ! grep -q -i 'c-icap' "$T/opts"
check "--no-icap: no c-icap step or check"
grep -q "^   would run: ssh -o BatchMode=yes proxy9.example.invalid sudo -n sh -s <<'EOF'\$" "$T/opts"
check "--sudo runs the remote scripts with sudo -n"
grep -q "^   | squid -n proxyb -k reconfigure || exit 1\$" "$T/opts" &&
    grep -q "^   | log='/srv/squid/cache.log'\$" "$T/opts"
check "--squid and --cache-log reach the reload script"
grep -q "proxy9.example.invalid:'/opt/gotonet/gotonet.rules.new'\$" "$T/opts" &&
    ! grep -q -e "'/etc/gotonet/" -e " /etc/gotonet/" "$T/opts"
check "-d /opt/gotonet: every path is under it"
scripts_parse "$T/opts"
check "the scripts with these options are valid sh"
plan noquid -r "$RULES" --no-squid proxy9.example.invalid
[ $RC -eq 0 ] && ! grep -q -e 'squid -k' -e 'access.log' "$T/noquid" && grep -q 'c-icap-client' "$T/noquid"
check "--no-squid: c-icap only"

# 3. What must stop the rollout before any host.
sed -e 's/^\*\.goto\.com  /*.goto.com critcal=yes /' "$RULES" > "$T/bad.rules"
plan bad -r "$T/bad.rules" proxy1.example.invalid
[ $RC -eq 2 ] && grep -q "no host was touched" "$T/bad" && ! grep -q '^== proxy1' "$T/bad" &&
    grep -q "bad.rules:[0-9]*: " "$T/bad"
check "a rules file with errors: exit 2 with the errors, no host step (exit $RC)"
grep -v '^version ' "$RULES" > "$T/nover.rules"
plan nover -r "$T/nover.rules" proxy1.example.invalid
[ $RC -eq 2 ] && grep -q "has no version line" "$T/nover" && ! grep -q '^== proxy1' "$T/nover"
check "a list without a version line is refused (exit $RC)"
plan nohost -r "$RULES"
[ $RC -eq 2 ] && grep -q "no hosts" "$T/nohost"
check "no hosts: usage error (exit $RC)"
plan norules proxy1.example.invalid
[ $RC -eq 2 ] && grep -q "no rules file" "$T/norules"
check "no rules file: usage error (exit $RC)"
plan evil -r "$RULES" 'proxy1.example.invalid;touch /tmp/x'
[ $RC -eq 2 ] && grep -q "not a host name" "$T/evil"
check "a host argument with shell syntax is refused (exit $RC)"
plan unknown -r "$RULES" --frobnicate proxy1.example.invalid
[ $RC -eq 2 ] && grep -q "unknown option --frobnicate" "$T/unknown"
check "unknown option: usage error (exit $RC)"
plan reldest -r "$RULES" -d etc/gotonet proxy1.example.invalid
[ $RC -eq 2 ] && grep -q -- "--dest must be absolute" "$T/reldest"
check "a relative --dest is refused (exit $RC)"

[ ! -e "$T/contacted" ]
check "no ssh or scp was run by any of these"
[ $fail -eq 0 ] || for f in full opts; do echo "--- $f"; cat "$T/$f"; done
exit $fail
