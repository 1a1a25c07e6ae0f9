# SPDX-License-Identifier: BSD-2-Clause
# Sourceable shell library for tests that run a real Squid (and an HTTPS origin) on 127.0.0.1.
#
# Usage (POSIX sh):
#	. "$top_srcdir/tests/lib/squid-env.sh"
#	sq_init			# skips (exit 77) without squid-openssl, curl, openssl, python3
#	sq_make_ca bump "gotonet test bump CA"
#	sq_make_ca origin "gotonet test origin CA"
#	sq_make_cert origin site meet.goto.com evil.example.test
#	sq_origin_start site	# sets SQ_ORIGIN_PORT; names -> 127.0.0.1 via sq_hosts
#	sq_hosts meet.goto.com evil.example.test
#	sq_conf_gotonet HELPER RULES > "$SQ_DIR/gotonet.conf"
#	SQ_BUMP=1 sq_conf main "include $SQ_DIR/gotonet.conf"	# SQ_DIR/main.conf
#	sq_start main		# sets SQ_PORT_main, SQ_PID_main
#	curl ... --proxy "http://127.0.0.1:$SQ_PORT_main" ...
#	sq_stop main		# or leave it to the EXIT trap
#
# Everything lives in SQ_DIR (a mktemp directory removed at exit unless
# SQ_KEEP=1). Squid runs in the foreground (-N) with a unique -n name per
# instance, kill by PID only. When run as root Squid drops to SQ_USER (proxy):
# SQ_DIR and what is in it are handed to that user.

SQ_SQUID=${SQ_SQUID:-/usr/sbin/squid}
SQ_CERTGEN=${SQ_CERTGEN:-/usr/lib/squid/security_file_certgen}
SQ_USER=${SQ_USER:-proxy}
SQ_PIDS=

sq_skip() {
	echo "SKIP: $*"
	exit 77
}

sq_fail() {
	echo "FAIL: $*"
	exit 1
}

sq_log() {
	echo "# $*"
}

# check DESCRIPTION: report the status of the last command, "ok:" or "FAIL:"
# (then fail=1; the caller sets fail=0 and exits with it).
check() {
	if [ $? -eq 0 ]; then
		echo "ok: $1"
	else
		echo "FAIL: $1"
		fail=1
	fi
}

# Check the tools, make SQ_DIR, install the cleanup trap.
sq_init() {
	[ -x "$SQ_SQUID" ] || sq_skip "$SQ_SQUID not found (install the Debian package squid-openssl)"
	"$SQ_SQUID" -v 2>/dev/null | grep -q -- '--with-openssl' ||
	    sq_skip "$SQ_SQUID is built without OpenSSL (install squid-openssl, not squid)"
	[ -x "$SQ_CERTGEN" ] || sq_skip "$SQ_CERTGEN not found (squid-openssl)"
	for t in curl openssl python3; do
		command -v $t > /dev/null 2>&1 || sq_skip "$t not found"
	done
	SQ_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gn-squid.XXXXXX") || sq_fail "mktemp"
	chmod 755 "$SQ_DIR"
	SQ_RUN=gn$$$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	if [ "$(id -u)" = 0 ]; then
		id "$SQ_USER" > /dev/null 2>&1 || sq_skip "running as root but user $SQ_USER does not exist"
		SQ_EFFECTIVE_USER=$SQ_USER
	else
		SQ_EFFECTIVE_USER=$(id -un)
	fi
	trap sq_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# Give SQ_DIR to the user Squid and its helpers run as.
sq_own() {
	if [ "$(id -u)" = 0 ]; then
		chown -R "$SQ_USER" "$SQ_DIR"
	fi
}

# A port nobody listens on right now (the kernel's choice; tiny race).
sq_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until 127.0.0.1:PORT accepts connections (at most SECONDS, default 20).
sq_wait_port() {
	python3 - "$1" "${2:-20}" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# sq_make_ca NAME SUBJECT_CN: SQ_DIR/NAME-ca.pem and NAME-ca.key.
sq_make_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
	    -keyout "$SQ_DIR/$1-ca.key" -out "$SQ_DIR/$1-ca.pem" -subj "/CN=$2" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign > /dev/null 2>&1 ||
	    sq_fail "cannot make CA $1"
}

# sq_make_cert CA NAME DNSNAME...: SQ_DIR/NAME.pem and NAME.key signed by CA.
sq_make_cert() {
	ca=$1 name=$2
	shift 2
	san=
	for n in "$@"; do
		san="${san:+$san,}DNS:$n"
	done
	openssl req -newkey rsa:2048 -nodes -keyout "$SQ_DIR/$name.key" \
	    -out "$SQ_DIR/$name.csr" -subj "/CN=$1" > /dev/null 2>&1 || sq_fail "csr $name"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" \
	    > "$SQ_DIR/$name.ext"
	openssl x509 -req -in "$SQ_DIR/$name.csr" -CA "$SQ_DIR/$ca-ca.pem" \
	    -CAkey "$SQ_DIR/$ca-ca.key" -CAcreateserial -days 2 -sha256 \
	    -extfile "$SQ_DIR/$name.ext" -out "$SQ_DIR/$name.pem" > /dev/null 2>&1 ||
	    sq_fail "cannot sign $name"
}

# sq_hosts NAME...: map names to 127.0.0.1 in SQ_DIR/hosts (Squid's hosts_file).
sq_hosts() {
	for n in "$@"; do
		case $n in
		'*'*) ;;	# a certificate's wildcard: no hosts file entry
		*) echo "127.0.0.1 $n" ;;
		esac
	done >> "$SQ_DIR/hosts"
}

# Remember a background process for cleanup.
sq_track() {
	SQ_PIDS="$SQ_PIDS $1"
}

# sq_origin_start CERTNAME: HTTPS origin on 127.0.0.1; sets SQ_ORIGIN_PORT and
# SQ_ORIGIN_PID; its log (SNI and requests) is SQ_DIR/origin.log.
sq_origin_start() {
	: > "$SQ_DIR/origin.log"
	python3 "$top_srcdir/tests/lib/origin.py" "$SQ_DIR/$1.pem" "$SQ_DIR/$1.key" \
	    "$SQ_DIR/origin.port" "$SQ_DIR/origin.log" 2> "$SQ_DIR/origin.err" &
	SQ_ORIGIN_PID=$!
	sq_track $SQ_ORIGIN_PID
	i=0
	while [ ! -s "$SQ_DIR/origin.port" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && sq_fail "origin did not start: $(cat "$SQ_DIR/origin.err")"
		sleep 0.05
	done
	SQ_ORIGIN_PORT=$(cat "$SQ_DIR/origin.port")
}

# sq_conf_gotonet HELPER RULES [EXTRA_HELPER_ARGS]: the shipped snippet
# (etc/squid/gotonet.conf) with the placeholders filled in, on stdout.
sq_conf_gotonet() {
	sed -e "s|@HELPER@|$1|g" -e "s|@RULES@|$2${3:+ $3}|g" "$top_srcdir/etc/squid/gotonet.conf"
}

# sq_conf NAME [LINE...]: write SQ_DIR/NAME.conf, a complete squid.conf for
# instance NAME on a free port (SQ_PORT_NAME). The lines given go after
# http_port and before "http_access allow localhost". Variables read:
# SQ_BUMP=1 adds ssl-bump with the "bump" CA and trusts the "origin" CA;
# SQ_LOGFORMAT names the access.log format; SQ_TAIL holds lines for the end
# (cache_peer, never_direct...).
sq_conf() {
	name=$1
	shift
	port=$(sq_free_port)
	eval "SQ_PORT_$name=$port"
	mkdir -p "$SQ_DIR/$name"
	conf=$SQ_DIR/$name.conf
	if [ "${SQ_BUMP:-0}" = 1 ]; then
		[ -d "$SQ_DIR/$name/ssldb" ] || "$SQ_CERTGEN" -c -s "$SQ_DIR/$name/ssldb" -M 4MB > /dev/null ||
		    sq_fail "security_file_certgen -c"
		cat > "$conf" <<EOF
http_port 127.0.0.1:$port ssl-bump tls-cert=$SQ_DIR/bump-ca.pem tls-key=$SQ_DIR/bump-ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=4MB
sslcrtd_program $SQ_CERTGEN -s $SQ_DIR/$name/ssldb -M 4MB
sslcrtd_children 3 startup=1 idle=1
tls_outgoing_options cafile=$SQ_DIR/origin-ca.pem
EOF
	else
		echo "http_port 127.0.0.1:$port" > "$conf"
	fi
	cat >> "$conf" <<EOF
visible_hostname $name.$SQ_RUN.test
pid_filename $SQ_DIR/$name/squid.pid
cache_log $SQ_DIR/$name/cache.log
cache_store_log none
coredump_dir $SQ_DIR/$name
netdb_filename none
pinger_enable off
cache_effective_user $SQ_EFFECTIVE_USER
hosts_file $SQ_DIR/hosts
dns_nameservers 127.0.0.1
shutdown_lifetime 1 seconds
forwarded_for delete
EOF
	for line in "$@"; do
		printf '%s\n' "$line"
	done >> "$conf"
	cat >> "$conf" <<EOF
access_log stdio:$SQ_DIR/$name/access.log ${SQ_LOGFORMAT:-squid}
http_access allow localhost
http_access deny all
${SQ_TAIL:-}
EOF
}

# sq_start NAME [MODE]: run squid with SQ_DIR/NAME.conf in the foreground
# (its own -n), wait until it listens; sets SQ_PID_NAME. MODE is -N (the
# default: one process, "workers" ignored) or --foreground (the SMP master,
# which forks the kids; tests/smp/smp-env.sh).
sq_start() {
	name=$1
	sq_own
	eval "port=\$SQ_PORT_$name"
	"$SQ_SQUID" -k parse -f "$SQ_DIR/$name.conf" -n "$SQ_RUN$name" > "$SQ_DIR/$name/parse.log" 2>&1 ||
	    sq_fail "squid -k parse $name: $(grep -E 'FATAL|ERROR' "$SQ_DIR/$name/parse.log" | head -5)"
	"$SQ_SQUID" "${2:--N}" -f "$SQ_DIR/$name.conf" -n "$SQ_RUN$name" > "$SQ_DIR/$name/stdout.log" 2>&1 &
	pid=$!
	eval "SQ_PID_$name=$pid"
	sq_track $pid
	if ! sq_wait_port "$port" 30; then
		cat "$SQ_DIR/$name/cache.log" "$SQ_DIR/$name/stdout.log" 2> /dev/null | tail -20
		sq_fail "squid $name did not listen on 127.0.0.1:$port"
	fi
}

# Stop one PID: TERM, then KILL after SECONDS (default 5).
sq_kill() {
	pid=$1
	kill -0 "$pid" 2> /dev/null || return 0
	kill -TERM "$pid" 2> /dev/null
	i=0
	while kill -0 "$pid" 2> /dev/null; do
		i=$((i + 1))
		if [ $i -gt $((${2:-5} * 20)) ]; then
			kill -KILL "$pid" 2> /dev/null
			break
		fi
		sleep 0.05
	done
	wait "$pid" 2> /dev/null
	return 0
}

# sq_stop NAME: stop that squid (shutdown_lifetime is 1 s).
sq_stop() {
	eval "pid=\${SQ_PID_$1:-}"
	[ -n "$pid" ] && sq_kill "$pid" 10
}

# Children of PID named NAME (e.g. the helpers of one squid).
sq_children() {
	for p in $(pgrep -P "$1" 2> /dev/null); do
		[ "$(cat "/proc/$p/comm" 2> /dev/null)" = "$2" ] && echo "$p"
	done
}

sq_cleanup() {
	rc=$?
	for pid in $SQ_PIDS; do
		sq_kill "$pid" 10
	done
	# Squid leaves shared memory segments behind after a crash.
	rm -f /dev/shm/"$SQ_RUN"* 2> /dev/null
	if [ "${SQ_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "${SQ_KEEP_ON_FAIL:-0}" = 1 ]; }; then
		echo "# state kept in $SQ_DIR"
	else
		rm -rf "$SQ_DIR"
	fi
	exit $rc
}

# sq_curl NAME URL [CURL ARGS...]: fetch through squid NAME, trusting both test
# CAs. Prints the issuer CN curl saw; the body goes to SQ_DIR/body, curl's
# verbose output to SQ_DIR/curl.err. Returns curl's status.
sq_curl() {
	eval "port=\$SQ_PORT_$1"
	url=$2
	shift 2
	cat "$SQ_DIR/origin-ca.pem" "$SQ_DIR/bump-ca.pem" > "$SQ_DIR/trust.pem"
	curl -sv --max-time "${SQ_CURL_TIMEOUT:-15}" --noproxy '' --proxy "http://127.0.0.1:$port" \
	    --cacert "$SQ_DIR/trust.pem" -o "$SQ_DIR/body" "$@" "$url" 2> "$SQ_DIR/curl.err"
	rc=$?
	sed -n 's/^\*  issuer: .*CN *= *\([^,;]*\).*/\1/p' "$SQ_DIR/curl.err" | head -1
	return $rc
}

# sq_sclient NAME CONNECT_HOST:PORT SNI: TLS through squid NAME's CONNECT with
# a chosen SNI; prints the issuer CN of the certificate the client got.
sq_sclient() {
	eval "port=\$SQ_PORT_$1"
	printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" |
	    timeout "${SQ_CURL_TIMEOUT:-15}" openssl s_client -proxy "127.0.0.1:$port" -connect "$2" \
	    -servername "$3" -ign_eof > "$SQ_DIR/sclient.out" 2> "$SQ_DIR/sclient.err"
	sed -n 's/^issuer=.*CN *= *\([^,;]*\).*/\1/p' "$SQ_DIR/sclient.out" | head -1
}

# sq_gotonet_setup "VENDOR NAMES" "OTHER NAMES": the usual gotonet scene. Copies
# ext_gotonet_acl (from top_builddir) to SQ_DIR/bin and etc/gotonet.rules to
# SQ_DIR, makes the origin and bump CAs (CNs in SQ_ORIGIN_CA and SQ_BUMP_CA),
# a certificate for every name (wildcards too), starts the origin
# (SQ_ORIGIN_PORT) and maps every name but the wildcards to 127.0.0.1.
sq_gotonet_setup() {
	mkdir -p "$SQ_DIR/bin"
	cp "$top_builddir/ext_gotonet_acl" "$SQ_DIR/bin/" || sq_fail "no helper in $top_builddir"
	cp "$top_srcdir/etc/gotonet.rules" "$SQ_DIR/gotonet.rules"
	SQ_ORIGIN_CA="gotonet test origin CA"
	SQ_BUMP_CA="gotonet test bump CA"
	sq_make_ca origin "$SQ_ORIGIN_CA"
	sq_make_ca bump "$SQ_BUMP_CA"
	set -f		# names may be wildcards (*.goto.com): split them, never glob
	# shellcheck disable=SC2086
	sq_make_cert origin site $1 $2
	# shellcheck disable=SC2086
	sq_hosts $1 $2
	set +f
	sq_origin_start site
}

# sq_outcome NAME URL [curl options]: what happened to one HTTPS fetch through
# squid NAME: "spliced" (the origin CA signed the certificate the client saw,
# whatever came after: a splice is what fail-closed tests must not miss),
# "bumped" (Squid's CA did, and the origin answered) or "refused" (no TLS
# session with the origin's content; curl's log stays in SQ_DIR/curl.err).
sq_outcome() {
	issuer=$(sq_curl "$@")
	rc=$?
	if [ "$issuer" = "$SQ_ORIGIN_CA" ]; then
		echo spliced
	elif [ "$issuer" = "$SQ_BUMP_CA" ] && [ $rc -eq 0 ] && grep -q '^origin ' "$SQ_DIR/body"; then
		echo bumped
	else
		echo refused
	fi
}
