#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Roll one gotonet rules file out to a farm of Squid/c-icap proxies over ssh, one host at a time, and check what each one loaded.
#
# usage: rollout.sh [options] -r RULES HOST...
#   -n, --dry-run        print every command, run only the local lint
#   -r, --rules FILE     the new rules file (required)
#   -H, --hosts FILE     hosts, one a line (# comments), besides those given
#   -d, --dest DIR       rules directory on the proxies (/etc/gotonet)
#   --sudo               run the remote commands with "sudo -n"
#   --no-squid           no Squid on the proxies (c-icap only)
#   --no-icap            no c-icap on the proxies (external ACL helper only)
#   --squid CMD          squid command on the proxies ("squid"; e.g. "squid -n proxy2")
#   --cache-log FILE     Squid's cache.log (/var/log/squid/cache.log)
#   --access-log FILE    Squid's access.log (/var/log/squid/access.log)
#   --icap-ctl FILE      c-icap's CommandsSocket (/var/run/c-icap/c-icap.ctl)
#   --icap-log FILE      c-icap's ServerLog (/var/log/c-icap/server.log)
#   --icap-port PORT     c-icap's port on the proxy, asked on 127.0.0.1 (1344)
#   --gotonet CMD        gotonet(1) here ("gotonet")
#   --remote-gotonet CMD gotonet(1) on the proxies ("gotonet")
#   --wait SECONDS       how long to wait for the reloads (30)
#   --ssh CMD, --scp CMD ("ssh -o BatchMode=yes", "scp -o BatchMode=yes -q")
#
# Steps: lint the file here (gotonet lint -R: no errors, no warnings but
# deliberate relabels, a version line), then for each host in turn: copy it
# next to the live file, lint it there, keep the old file as .prev and rename
# the new one in place (atomic: a reload never reads half a file), reload
# Squid (squid -k reconfigure restarts the helpers) and c-icap (reconfigure
# on its CommandsSocket), and check that the host now runs the new list: the
# helpers' "loaded" lines in cache.log, gotonet lint on the host, the ISTag
# and X-Gotonet-Rules of an OPTIONS request to the gotonet service, and the
# version column of the latest access.log lines. The first host that fails
# stops the rollout, so the rest of the farm stays on the list in force.
# Exit: 0 all hosts done, 1 a host failed, 2 usage or local lint error.
set -u

prog=rollout.sh
dry=0 rules='' dest=/etc/gotonet sudo='' squid=1 icap=1
squid_cmd=squid cache_log=/var/log/squid/cache.log access_log=/var/log/squid/access.log
icap_ctl=/var/run/c-icap/c-icap.ctl icap_log=/var/log/c-icap/server.log icap_port=1344
gotonet=gotonet rgotonet=gotonet wait=30
ssh="ssh -o BatchMode=yes" scp="scp -o BatchMode=yes -q"
hosts=

usage() {
	sed -n 's/^# \{0,1\}//; 4,23p' "$0" >&2
	exit 2
}

die() {
	echo "$prog: $*" >&2
	exit 2
}

# Quote one word for a POSIX shell (the remote one, or a printed plan).
q() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

need_arg() {
	[ $# -ge 2 ] || die "$1 needs an argument"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n|--dry-run) dry=1 ;;
	-r|--rules) need_arg "$@"; rules=$2; shift ;;
	-H|--hosts) need_arg "$@"
		[ -r "$2" ] || die "cannot read $2"
		hosts="$hosts $(sed -e 's/#.*//' "$2" | awk '{ for (i = 1; i <= NF; i++) print $i }')"
		shift ;;
	-d|--dest) need_arg "$@"; dest=$2; shift ;;
	--sudo) sudo="sudo -n " ;;
	--no-squid) squid=0 ;;
	--no-icap) icap=0 ;;
	--squid) need_arg "$@"; squid_cmd=$2; shift ;;
	--cache-log) need_arg "$@"; cache_log=$2; shift ;;
	--access-log) need_arg "$@"; access_log=$2; shift ;;
	--icap-ctl) need_arg "$@"; icap_ctl=$2; shift ;;
	--icap-log) need_arg "$@"; icap_log=$2; shift ;;
	--icap-port) need_arg "$@"; icap_port=$2; shift ;;
	--gotonet) need_arg "$@"; gotonet=$2; shift ;;
	--remote-gotonet) need_arg "$@"; rgotonet=$2; shift ;;
	--wait) need_arg "$@"; wait=$2; shift ;;
	--ssh) need_arg "$@"; ssh=$2; shift ;;
	--scp) need_arg "$@"; scp=$2; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) hosts="$hosts $1" ;;
	esac
	shift
done
hosts="$hosts $*"
# shellcheck disable=SC2086
set -- $hosts
[ -n "$rules" ] || die "no rules file (-r FILE)"
[ $# -gt 0 ] || die "no hosts"
[ $squid = 1 ] || [ $icap = 1 ] || die "--no-squid and --no-icap: nothing to reload"
case $wait in ''|*[!0-9]*) die "--wait wants whole seconds" ;; esac
case $icap_port in ''|*[!0-9]*) die "--icap-port wants a port number" ;; esac
case $dest in /*) ;; *) die "--dest must be absolute (Squid and c-icap read it from /)" ;; esac
for h in "$@"; do
	case $h in -*|*[!A-Za-z0-9@._:-]*) die "not a host name: $(q "$h")" ;; esac
done
live=$dest/gotonet.rules

# 1. Lint here. Warnings other than deliberate relabels (-R) stop the rollout:
# a list that shadows itself is a mistake on every proxy at once.
echo "== lint $rules"
out=$($gotonet lint -R -r "$rules" 2>&1)
rc=$?
printf '%s\n' "$out"
[ $rc -eq 0 ] || die "gotonet lint failed (exit $rc): fix $rules first; no host was touched"
summary=$(printf '%s\n' "$out" | grep ': list .*, digest [0-9a-f]\{16\}: ' | tail -n 1)
version=$(printf '%s\n' "$summary" | sed -n 's/^.*: list \(.*\): [0-9]* rules\{0,1\} (.*$/\1/p')
digest=$(printf '%s\n' "$summary" | sed -n 's/.*, digest \([0-9a-f]\{16\}\): .*/\1/p')
[ -n "$digest" ] || die "cannot read the digest from gotonet lint's output"
[ -n "$version" ] && [ "$version" != "(no version line)" ] ||
    die "$rules has no version line: proxies could not be told apart by access.log (add 'version NAME')"
echo "== list \"$version\", digest $digest, to $# host(s): $*"

# The remote steps are shell scripts fed to "sh -s" on the proxy: no quoting
# through ssh's command line, and a dry run can print them as they are.
show() {	# show HOST SCRIPT
	printf "   would run: %s %s %ssh -s <<'EOF'\n" "$ssh" "$1" "$sudo"
	printf '%s\n' "$2" | sed 's/^/   | /'
	printf '   EOF\n'
}

rexec() {	# rexec HOST SCRIPT
	# shellcheck disable=SC2086
	printf '%s\n' "$2" | $ssh "$1" "${sudo}sh -s"
}

# remote HOST DESCRIPTION SCRIPT: run SCRIPT on HOST (printed in dry-run).
remote() {
	echo "-- [$1] $2"
	if [ $dry = 1 ]; then
		show "$1" "$3"
		return 0
	fi
	out=$(rexec "$1" "$3" 2>&1)
	rc=$?
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/   /'
	return $rc
}

# copy HOST: the new file next to the live one (same file system: the rename
# is atomic).
copy() {
	echo "-- [$1] copy $rules to $live.new"
	if [ $dry = 1 ]; then
		printf '   would run: %s %s %s:%s\n' "$scp" "$(q "$rules")" "$1" "$(q "$live.new")"
		return 0
	fi
	# shellcheck disable=SC2086
	$scp "$rules" "$1:$live.new"
}

# What each host runs, as shell scripts (variables expanded here, quoted for there).
s_lint="$rgotonet lint -R -r $(q "$live.new") && chmod 0644 $(q "$live.new")"
s_install="if [ -f $(q "$live") ]; then cp -p $(q "$live") $(q "$live.prev"); fi && mv -f $(q "$live.new") $(q "$live")"
# Reload, then wait for the reloaded programs' "loaded" lines; only lines
# written after the reload count (the log's length is taken before it). A
# load error, or a line with another digest, fails the host.
loaded_h="ext_gotonet_acl: loaded $live: "
errors_h="ext_gotonet_acl: [0-9][0-9]* errors\\{0,1\\} in $live;"
s_squid="log=$(q "$cache_log")
before=\$(wc -l < \"\$log\") || exit 1
$squid_cmd -k reconfigure || exit 1
i=0
while :; do
	new=\$(tail -n +\$((before + 1)) \"\$log\")
	printf '%s\\n' \"\$new\" | grep -q -e $(q "$errors_h") -e $(q "$loaded_h.*, digest $digest") && break
	[ \$i -ge $wait ] && break
	sleep 1
	i=\$((i + 1))
done
printf '%s\\n' \"\$new\" | grep -e $(q "$errors_h") -e $(q "$loaded_h")
printf '%s\\n' \"\$new\" | grep -q -e $(q "$errors_h") && exit 1
printf '%s\\n' \"\$new\" | grep $(q "$loaded_h") | grep -v -q $(q ", digest $digest\$") && exit 1
printf '%s\\n' \"\$new\" | grep -q $(q "$loaded_h.*, digest $digest\$")"
s_icap="log=$(q "$icap_log")
before=\$(wc -l < \"\$log\") || exit 1
[ -p $(q "$icap_ctl") ] || { echo $(q "no c-icap CommandsSocket at $icap_ctl"); exit 1; }
printf reconfigure > $(q "$icap_ctl") || exit 1
i=0 pending=0
while :; do
	new=\$(tail -n +\$((before + 1)) \"\$log\" | grep -e 'gotonet: ' -e 'reconfigure pending')
	printf '%s\\n' \"\$new\" | grep -q -e $(q "rules loaded from $live .*ISTag ") -e 'rules not loaded' && break
	[ \$i -ge $wait ] && break
	# the children of a previous reconfigure are still exiting: ask again
	n=\$(printf '%s\\n' \"\$new\" | grep -c 'reconfigure pending')
	if [ \"\$n\" -gt \$pending ]; then
		pending=\$n
		printf reconfigure > $(q "$icap_ctl") || exit 1
	fi
	sleep 1
	i=\$((i + 1))
done
printf '%s\\n' \"\$new\" | grep 'gotonet: '
printf '%s\\n' \"\$new\" | grep -q 'rules not loaded' && exit 1
printf '%s\\n' \"\$new\" | grep -q $(q "ISTag CI0001-gn$digest)")"
s_check_list="$rgotonet lint -R -r $(q "$live")"
s_check_istag="c-icap-client -i 127.0.0.1 -p $icap_port -s gotonet -v 2>&1 | grep -i -e '^[[:space:]]*ISTag:' -e '^[[:space:]]*X-Gotonet-Rules:'"
s_check_access="tail -n 2000 $(q "$access_log") | grep -o 'version=[^ ]*' | sort | uniq -c"

# check_host HOST: the checks after the reloads; fails on a wrong digest.
check_host() {
	h=$1
	echo "-- [$h] check: the list on disk (gotonet lint on the proxy prints version and digest)"
	if [ $dry = 1 ]; then
		show "$h" "$s_check_list"
		echo "   expect: list $version: ... digest $digest: 0 warnings"
	else
		got=$(rexec "$h" "$s_check_list" 2>&1)
		printf '%s\n' "$got" | sed 's/^/   /'
		printf '%s\n' "$got" | grep -q ", digest $digest: " || {
			echo "   FAIL: $h has another list on disk"
			return 1
		}
	fi
	if [ $icap = 1 ]; then
		echo "-- [$h] check: c-icap OPTIONS for the gotonet service (ISTag and X-Gotonet-Rules)"
		if [ $dry = 1 ]; then
			show "$h" "$s_check_istag"
			echo "   expect: ISTag: \"CI0001-gn$digest\" and X-Gotonet-Rules: ... version \"$version\"; digest $digest"
		else
			got=$(rexec "$h" "$s_check_istag" 2>&1)
			printf '%s\n' "$got" | sed 's/^/   /'
			printf '%s\n' "$got" | grep -q "CI0001-gn$digest" || {
				echo "   FAIL: the gotonet ICAP service on $h does not run digest $digest"
				return 1
			}
		fi
	fi
	if [ $squid = 1 ]; then
		# Informational: lines logged before the reload, and answers
		# still in Squid's cache (ttl), show the old version for a while.
		echo "-- [$h] check: which list versions decided the latest access.log lines"
		if [ $dry = 1 ]; then
			show "$h" "$s_check_access"
			echo "   expect: version=$(printf '%s' "$version" | sed 's/ /%20/g') on the newest lines"
		else
			rexec "$h" "$s_check_access" 2>&1 | sed 's/^/   /'
		fi
	fi
	return 0
}

done_hosts=
for h in "$@"; do
	echo "== $h"
	copy "$h" &&
	    remote "$h" "lint the copy on the proxy" "$s_lint" &&
	    remote "$h" "install: keep $live.prev, rename $live.new to $live" "$s_install" &&
	    { [ $squid = 0 ] || remote "$h" "reload Squid ($squid_cmd -k reconfigure), wait for the helpers' loaded lines with digest $digest" "$s_squid"; } &&
	    { [ $icap = 0 ] || remote "$h" "reload c-icap (reconfigure on $icap_ctl), wait for its loaded line" "$s_icap"; } &&
	    check_host "$h"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "== FAILED on $h (exit $rc): stopped; done before it:${done_hosts:- none}"
		echo "   to go back on $h: mv $live.prev $live, then reload as above"
		exit 1
	fi
	done_hosts="$done_hosts $h"
done
if [ $dry = 1 ]; then
	echo "== dry run: nothing was copied or reloaded; $# host(s) planned"
else
	echo "== done: $# host(s) run list \"$version\", digest $digest:$done_hosts"
fi
exit 0
