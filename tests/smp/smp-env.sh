# SPDX-License-Identifier: BSD-2-Clause
# Sourceable additions to tests/lib/squid-env.sh for Squid in SMP mode (workers N): start, kids, IPC sockets, cleanup, per-worker checks.
#
# Usage (after ". tests/lib/squid-env.sh"):
#	smp_init			# sq_init, then the IPC directory and the cleanup trap
#	smp_conf NAME WORKERS [LINE...]	# sq_conf + "workers N", one access log per kid
#	smp_start NAME			# squid --foreground (master + kids); SQ_PID_NAME = master
#	smp_kid NAME squid-1		# PID of a kid (squid-N workers, squid-coord-M)
#	smp_wait_helpers NAME KID HELPER [SECONDS]	# until KID has a HELPER child
#	smp_stop NAME
# and what both SMP tests check the same way:
#	ok, bad, check; fail	# result lines; fail=1 after any failure
#	smp_lint RULES		# LIST_VERSION, LIST_DIGEST
#	smp_fetch NAME HOST vendor|other	# one fetch traced to its worker (WORKER)
#	smp_rounds NAME MIN MAX CONDITION	# fetch SMP_VENDOR and SMP_OTHER in turn
#	smp_wait_restart NAME KID OLDPID	# the PID of the restarted kid
#
# Why not sq_start: "squid -N" ignores "workers" (no master, no kids); SMP
# needs "--foreground", where the master forks one process per worker plus a
# coordinator. Each kid writes SQ_DIR/NAME/access-<process number>.log.
#
# Squid's kids talk through Unix sockets in DEFAULT_STATEDIR (from
# --localstatedir: /var/run/squid on Debian), named after -n; the path is
# compiled in and no directive changes it. Squid does not remove them at
# exit: the cleanup removes this run's sockets (and the directory if it made
# it). The shared memory segments (/dev/shm/<-n name>-*.shm) are removed by
# sq_cleanup.

SMP_NAMES=
SMP_MADE_IPCDIR=0

smp_init() {
	sq_init
	SMP_IPCDIR=$("$SQ_SQUID" -v | tr ' ' '\n' | sed -n "s/^'--localstatedir=\(.*\)'$/\1/p")
	SMP_IPCDIR=${SMP_IPCDIR:-/usr/local/squid/var}/run/squid
	[ -d /dev/shm ] && [ -w /dev/shm ] || sq_skip "SMP squid needs a writable /dev/shm"
	if [ ! -d "$SMP_IPCDIR" ]; then
		[ "$(id -u)" = 0 ] ||
		    sq_skip "$SMP_IPCDIR (squid's IPC socket directory, compiled in) is missing; run as root"
		mkdir "$SMP_IPCDIR" || sq_fail "cannot make $SMP_IPCDIR"
		SMP_MADE_IPCDIR=1
		chown "$SQ_USER" "$SMP_IPCDIR"
	fi
	if [ "$(id -u)" != 0 ] && [ ! -w "$SMP_IPCDIR" ]; then
		sq_skip "$SMP_IPCDIR (squid's IPC socket directory, compiled in) is not writable by $(id -un); run as root"
	fi
	trap smp_cleanup EXIT
}

# smp_conf NAME WORKERS [LINE...]: SQ_DIR/NAME.conf as sq_conf writes it, with
# WORKERS workers, a small shared memory cache, and the access log split per kid
# (two stdio writers on one file would overwrite each other's lines).
smp_conf() {
	name=$1 workers=$2
	shift 2
	sq_conf "$name" "workers $workers" "cache_mem 8 MB" "$@"
	conf=$SQ_DIR/$name.conf
	sed -e "s|^access_log stdio:$SQ_DIR/$name/access.log |access_log stdio:$SQ_DIR/$name/access-\${process_number}.log |" \
	    "$conf" > "$conf.tmp" && mv "$conf.tmp" "$conf"
	grep -q "^access_log stdio:$SQ_DIR/$name/access-\${process_number}.log " "$conf" ||
	    sq_fail "smp_conf: no access_log line to split in $conf"
}

# smp_start NAME: the master in the foreground (our child, so it can be waited
# for) with its own -n; returns once a worker accepts connections.
smp_start() {
	sq_start "$1" --foreground
	SMP_NAMES="$SMP_NAMES $1"
}

# smp_kid NAME KID: the PID of kid KID ("squid-1", "squid-coord-3") of squid
# NAME, from the master's children and their "--kid KID" argument.
smp_kid() {
	eval "master=\$SQ_PID_$1"
	for p in $(pgrep -P "$master" 2> /dev/null); do
		tr '\0' ' ' 2> /dev/null < "/proc/$p/cmdline" | grep -q -- "--kid $2 " && echo "$p"
	done
}

# The kids of squid NAME, one "KID PID" a line.
smp_kids() {
	eval "master=\$SQ_PID_$1"
	for p in $(pgrep -P "$master" 2> /dev/null); do
		k=$(tr '\0' ' ' 2> /dev/null < "/proc/$p/cmdline" | sed -n 's/.*--kid \([^ ]*\) .*/\1/p')
		[ -n "$k" ] && echo "$k $p"
	done
}

# smp_wait_helpers NAME KID HELPER [SECONDS]: wait until kid KID of squid NAME
# runs and has at least one child named HELPER; prints the kid's PID.
smp_wait_helpers() {
	i=0
	while [ $i -lt $((${4:-20} * 10)) ]; do
		kid=$(smp_kid "$1" "$2")
		if [ -n "$kid" ] && [ -n "$(sq_children "$kid" "$3")" ]; then
			echo "$kid"
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

# Is PID still a process of squid instance NAME (not a recycled PID)?
smp_is_ours() {
	tr '\0' ' ' 2> /dev/null < "/proc/$1/cmdline" | grep -q -- "-n $SQ_RUN$2"
}

# smp_stop NAME: TERM the master (it stops the kids; shutdown_lifetime is 1 s),
# then any kid still there.
smp_stop() {
	name=$1
	eval "pid=\${SQ_PID_$name:-}"
	[ -n "$pid" ] || return 0
	kids=$(smp_kids "$name" | awk '{ print $2 }')
	sq_kill "$pid" 10
	for k in $kids; do
		smp_is_ours "$k" "$name" && sq_kill "$k" 5
	done
	return 0
}

smp_cleanup() {
	rc=$?
	for n in $SMP_NAMES; do
		smp_stop "$n"
		rm -f "$SMP_IPCDIR/$SQ_RUN$n"-*.ipc
	done
	[ "$SMP_MADE_IPCDIR" = 1 ] && rmdir "$SMP_IPCDIR" 2> /dev/null
	(exit $rc)
	sq_cleanup
}

# --- What both SMP tests check, the same way ---

# ok/bad print a result line; check reports the status of the last command.
# Any failure sets fail=1 (the tests end with "exit $fail").
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
check() {	# check DESCRIPTION
	if [ $? -eq 0 ]; then ok "$1"; else bad "$1"; fi
}

# smp_lint RULES: the list's version and digest as an admin reads them
# (gotonet lint -R), in LIST_VERSION and LIST_DIGEST.
smp_lint() {
	lint=$("$top_builddir/gotonet" lint -R -r "$1") || sq_fail "gotonet lint -R $1 failed: $lint"
	LIST_VERSION=$(echo "$lint" | sed -n 's/^[^:]*: list \(.*\): [0-9]* rules* (.*/\1/p')
	LIST_DIGEST=$(echo "$lint" | sed -n 's/.*, digest \([0-9a-f]*\):.*/\1/p')
	[ -n "$LIST_VERSION" ] && [ -n "$LIST_DIGEST" ] || sq_fail "cannot read version and digest from: $lint"
}

# The per-worker counts of smp_fetch: SPLICED_1, SPLICED_2, BUMPED_1, BUMPED_2.
smp_reset_counts() {
	SPLICED_1=0 SPLICED_2=0 BUMPED_1=0 BUMPED_2=0
}
smp_reset_counts

# smp_fetch NAME HOST KIND: one HTTPS fetch of HOST on the origin through squid
# NAME, traced to the worker that served it by the client port, which the
# test's logformat must put first ("port=%>p ..."), and checked there. KIND
# is vendor (spliced by the origin's CA, CONNECT logged HIER_DIRECT and
# matching the regex SMP_SPLICED_LOG after it) or other (bumped by Squid's CA,
# the GET logged FIRSTUP_PARENT and matching SMP_BUMPED_LOG after it). Sets
# WORKER to the process number, or - when not found, and counts it.
smp_fetch() {
	name=$1 host=$2 kind=$3
	out=$(sq_curl "$name" "https://$host:$SQ_ORIGIN_PORT/" -w 'port=%{local_port}\n')
	rc=$?
	cport=$(echo "$out" | sed -n 's/^port=//p')
	issuer=$(echo "$out" | grep -v '^port=' | head -1)
	origin="^origin $host:$SQ_ORIGIN_PORT"
	if [ "$kind" = vendor ]; then
		want="^port=$cport .* CONNECT $host:$SQ_ORIGIN_PORT HIER_DIRECT/127.0.0.1 ${SMP_SPLICED_LOG:-}"
		ca=$SQ_ORIGIN_CA origin="$origin sni=$host" wrong=FIRSTUP_PARENT
		what="spliced and DIRECT" counter=SPLICED
	else
		want="^port=$cport .* GET https://$host:$SQ_ORIGIN_PORT/ FIRSTUP_PARENT/127.0.0.1 ${SMP_BUMPED_LOG:-}"
		ca=$SQ_BUMP_CA wrong=HIER_DIRECT
		what="bumped and via the parent" counter=BUMPED
	fi
	logs="$SQ_DIR/$name/access-*.log"
	# access.log is written when the transaction (the tunnel) ends.
	WORKER=-
	i=0
	while [ -n "$cport" ] && [ $i -lt 50 ]; do
		for f in $logs; do
			if grep -Eq "$want" "$f"; then
				WORKER=${f##*/access-}
				WORKER=${WORKER%.log}
				break 2
			fi
		done
		i=$((i + 1))
		sleep 0.1
	done
	# Exactly one worker logged this client port, and not the other route.
	# shellcheck disable=SC2086
	nlogs=$(grep -l "^port=$cport " $logs 2> /dev/null | wc -l)
	# shellcheck disable=SC2086
	[ $rc -eq 0 ] && [ "$issuer" = "$ca" ] && grep -q "$origin" "$SQ_DIR/body" &&
	    [ "$WORKER" != - ] && [ "$nlogs" -eq 1 ] && ! grep -q "^port=$cport .* $wrong/" $logs
	check "$host $what by worker $WORKER (port ${cport:-?}, issuer ${issuer:-none})"
	case $WORKER in
	1 | 2) eval "${counter}_$WORKER=\$((${counter}_$WORKER + 1))" ;;
	esac
	return 0
}

# smp_rounds NAME MIN MAX CONDITION: through squid NAME, fetch the names of
# SMP_VENDOR (each followed by one of SMP_OTHER, in turn) at least MIN and at
# most MAX times, until CONDITION (shell code) holds. Which worker accepts a
# connection is the kernel's choice, hence the rounds.
smp_rounds() {
	n=0
	# shellcheck disable=SC2086
	nother=$(set -- $SMP_OTHER; echo $#)
	while [ $n -lt "$3" ]; do
		for v in $SMP_VENDOR; do
			o=$(echo "$SMP_OTHER" | tr ' ' '\n' | sed -n "$(( (n / 2) % nother + 1 ))p")
			smp_fetch "$1" "$v" vendor
			smp_fetch "$1" "$o" other
			n=$((n + 2))
			[ $n -ge "$2" ] && eval "$4" && return 0
			[ $n -lt "$3" ] || return 1
		done
	done
	return 1
}

# smp_wait_restart NAME KID OLDPID: wait (at most 20 s) until the master of
# squid NAME runs kid KID again under another PID; prints that PID.
smp_wait_restart() {
	i=0
	while [ $i -lt 200 ]; do
		pid=$(smp_kid "$1" "$2")
		if [ -n "$pid" ] && [ "$pid" != "$3" ]; then
			echo "$pid"
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}
