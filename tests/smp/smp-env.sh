# SPDX-License-Identifier: BSD-2-Clause
# Sourceable additions to tests/lib/squid-env.sh for Squid in SMP mode (workers N): start, kids, IPC sockets, cleanup.
#
# Usage (after ". tests/lib/squid-env.sh"):
#	smp_init			# sq_init, then the IPC directory and the cleanup trap
#	smp_conf NAME WORKERS [LINE...]	# sq_conf + "workers N", one access log per kid
#	smp_start NAME			# squid --foreground (master + kids); SQ_PID_NAME = master
#	smp_kid NAME squid-1		# PID of a kid (squid-N workers, squid-coord-M)
#	smp_wait_helpers NAME KID HELPER [SECONDS]	# until KID has a HELPER child
#	smp_stop NAME
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

SMP_MASTERS=
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
	name=$1
	sq_own
	eval "port=\$SQ_PORT_$name"
	"$SQ_SQUID" -k parse -f "$SQ_DIR/$name.conf" -n "$SQ_RUN$name" > "$SQ_DIR/$name/parse.log" 2>&1 ||
	    sq_fail "squid -k parse $name: $(grep -E 'FATAL|ERROR' "$SQ_DIR/$name/parse.log" | head -5)"
	"$SQ_SQUID" --foreground -f "$SQ_DIR/$name.conf" -n "$SQ_RUN$name" \
	    > "$SQ_DIR/$name/stdout.log" 2>&1 &
	pid=$!
	eval "SQ_PID_$name=$pid"
	SMP_MASTERS="$SMP_MASTERS $pid"
	SMP_NAMES="$SMP_NAMES $name"
	if ! sq_wait_port "$port" 30; then
		cat "$SQ_DIR/$name/cache.log" "$SQ_DIR/$name/stdout.log" 2> /dev/null | tail -20
		sq_fail "squid $name did not listen on 127.0.0.1:$port"
	fi
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
