# SPDX-License-Identifier: BSD-2-Clause
# Shell functions for srv_gotonet's integration tests: a private c-icap server
# with the freshly built module, driven by c-icap-client, on 127.0.0.1 with its
# files in one temporary directory. The Squid tests use tests/lib/squid-env.sh
# for Squid, CAs and the HTTPS origin, and these functions for c-icap.
# Sourced by tests/icap/*.sh; kills only what it started, by PID.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
GN_MODULE=$top_builddir/.libs/srv_gotonet.so
GN_FAILS=0
GN_PIDS=

gn_skip()
{
	echo "SKIP: $*" >&2
	exit 77
}

gn_ok()
{
	echo "ok - $*"
}

# A failed assertion: reported, counted, and the test goes on.
gn_fail()
{
	echo "FAIL - $*"
	GN_FAILS=$((GN_FAILS + 1))
}

# A failure after which nothing can be tested: exit 99 (hard error) with the logs.
gn_fatal()
{
	echo "ERROR: $*" >&2
	gn_dump_logs >&2
	exit 99
}

gn_check()
{
	# gn_check DESCRIPTION COMMAND...: pass when the command succeeds
	_d=$1
	shift
	if "$@"; then gn_ok "$_d"; else gn_fail "$_d"; fi
}

gn_dump_logs()
{
	for _f in "$GN_T"/server.log "$GN_T"/access.log "$GN_T"/main/cache.log \
	    "$GN_T"/main/access.log "$GN_T"/origin.log "$GN_T"/http-origin.log; do
		[ -s "$_f" ] || continue
		echo "--- last lines of $_f"
		tail -n 30 "$_f"
	done
}

gn_finish()
{
	for _f in "$GN_T"/sanitizer.*; do
		[ -f "$_f" ] || continue
		gn_fail "sanitizer report from c-icap: $_f"
		cat "$_f"
	done
	if [ "$GN_FAILS" -ne 0 ]; then
		echo "$GN_FAILS check(s) failed"
		gn_dump_logs
		exit 1
	fi
	exit 0
}

gn_need_cicap()
{
	command -v c-icap >/dev/null 2>&1 || gn_skip "c-icap not installed (Debian package c-icap)"
	command -v c-icap-client >/dev/null 2>&1 || gn_skip "c-icap-client not installed (Debian package c-icap)"
	[ -f "$GN_MODULE" ] || gn_skip "$GN_MODULE not built (configure --without-cicap?)"
	command -v ss >/dev/null 2>&1 || gn_skip "ss not installed (Debian package iproute2)"
	command -v pgrep >/dev/null 2>&1 || gn_skip "pgrep not installed (Debian package procps)"
	GN_CICAP_MODDIR=$(c-icap-config --modulesdir 2>/dev/null)
	[ -n "$GN_CICAP_MODDIR" ] || GN_CICAP_MODDIR=/usr/lib/x86_64-linux-gnu/c_icap
	# A sanitizer build (configure --enable-sanitizers): c-icap is not built
	# with ASan, so its runtime must be loaded first. Leak checks are off:
	# they would report c-icap's own allocations.
	GN_CICAP_ENV=
	_asan=$(ldd "$GN_MODULE" 2>/dev/null | awk '/libasan/ { print $3 }')
	_ubsan=$(ldd "$GN_MODULE" 2>/dev/null | awk '/libubsan/ { print $3 }')
	if [ -n "$_asan" ]; then
		GN_CICAP_ENV="LD_PRELOAD=$_asan${_ubsan:+:$_ubsan}"
	elif nm -D "$GN_MODULE" 2>/dev/null | grep -q ' U __asan_'; then
		gn_skip "$GN_MODULE needs a sanitizer runtime that cannot be preloaded into c-icap"
	fi
}

# The temporary directory, for tests without Squid; everything is removed and
# every process started is killed on exit (set GN_KEEP=1 to keep the files).
# Squid tests use sq_init's SQ_DIR instead (GN_T=$SQ_DIR), and gn_sq_cleanup
# as their EXIT trap.
gn_setup()
{
	GN_T=$(mktemp -d "${TMPDIR:-/tmp}/gn-icap.XXXXXX") || gn_fatal "mktemp failed"
	chmod 755 "$GN_T"
	trap gn_cleanup EXIT
	trap 'exit 99' INT TERM HUP
}

gn_cleanup()
{
	_rc=$?
	# a second signal must not cut the cleanup short
	trap '' INT TERM HUP
	[ -z "${GN_CICAP_PID:-}" ] || gn_cicap_stop
	for _p in $GN_PIDS; do
		gn_kill "$_p"
	done
	if [ -n "${GN_KEEP:-}" ]; then
		echo "files kept in $GN_T"
	else
		rm -rf "$GN_T"
	fi
	exit $_rc
}

# Terminate one process we started and wait (up to 10 s) until it is gone.
gn_kill()
{
	kill -TERM "$1" 2>/dev/null || return 0
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	return 0
}

gn_forget_pid()
{
	_new=
	for _p in $GN_PIDS; do
		[ "$_p" = "$1" ] || _new="$_new $_p"
	done
	GN_PIDS=$_new
}

gn_listening()
{
	ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .
}

# A TCP port on 127.0.0.1 that nothing listens on now.
gn_free_port()
{
	_i=0
	while [ $_i -lt 50 ]; do
		_p=$(( $(od -An -N2 -tu2 /dev/urandom) % 40000 + 20000 ))
		if ! gn_listening "$_p"; then
			echo "$_p"
			return 0
		fi
		_i=$((_i + 1))
	done
	gn_fatal "no free port found"
}

gn_wait_listening()
{
	# gn_wait_listening PORT PID: until PORT listens (10 s), while PID lives
	_i=0
	while ! gn_listening "$1"; do
		[ $_i -lt 100 ] || return 1
		[ -z "$2" ] || kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 0
}

# --- c-icap ---------------------------------------------------------------

# gn_cicap_conf RULES: write $GN_T/c-icap.conf and $GN_T/gotonet.conf, the
# latter made from etc/c-icap/gotonet.conf (the shipped snippet, not a copy).
gn_cicap_conf()
{
	sed -e "s|@MODULE@|$GN_MODULE|g" -e "s|@RULES@|$1|g" -e "s|@LOGDIR@|$GN_T|g" \
	    "$top_srcdir/etc/c-icap/gotonet.conf" > "$GN_T/gotonet.conf" ||
	    gn_fatal "cannot make gotonet.conf"
	cat > "$GN_T/c-icap.conf" <<EOF
PidFile $GN_T/c-icap.pid
CommandsSocket $GN_T/c-icap.ctl
Port 127.0.0.1:$GN_CICAP_PORT
StartServers 1
MaxServers 4
ThreadsPerChild 8
MinSpareThreads 2
MaxSpareThreads 8
Timeout 30
KeepAliveTimeout 5
ServerLog $GN_T/server.log
LogFormat test "%im %iu %is %{gotonet:verdict}Sa %huo"
AccessLog $GN_T/access.log test
TmpDir $GN_T
DebugLevel 1
ModulesDir $GN_CICAP_MODDIR
ServicesDir $GN_CICAP_MODDIR
TemplateDir /usr/share/c_icap/templates/
Service echo srv_echo.so
Include $GN_T/gotonet.conf
EOF
}

# gn_cicap_start RULES: start c-icap on a free port with the built module.
# c-icap exits 0 even when its configuration is broken: callers check the log.
# Another program may take the port between the check and the bind: then
# c-icap exits, and another port is tried.
gn_cicap_start()
{
	_try=0
	while :; do
		GN_CICAP_PORT=$(gn_free_port)
		gn_cicap_conf "$1"
		rm -f "$GN_T/c-icap.pid"
		# an absolute -f path: c-icap re-reads it from "/" on reconfigure
		# shellcheck disable=SC2086
		env $GN_CICAP_ENV ASAN_OPTIONS="detect_leaks=0:log_path=$GN_T/sanitizer" \
		    UBSAN_OPTIONS="print_stacktrace=1:log_path=$GN_T/sanitizer" \
		    c-icap -f "$GN_T/c-icap.conf" </dev/null >"$GN_T/c-icap.out" 2>&1
		_i=0
		while [ ! -s "$GN_T/c-icap.pid" ] && [ $_i -lt 100 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		[ -s "$GN_T/c-icap.pid" ] || gn_fatal "c-icap did not start: $(cat "$GN_T/c-icap.out")"
		GN_CICAP_PID=$(cat "$GN_T/c-icap.pid")
		GN_PIDS="$GN_PIDS $GN_CICAP_PID"
		gn_wait_listening "$GN_CICAP_PORT" "$GN_CICAP_PID" && return 0
		gn_cicap_stop
		_try=$((_try + 1))
		[ $_try -lt 3 ] || gn_fatal "c-icap does not listen on 127.0.0.1:$GN_CICAP_PORT"
	done
}

# Stop c-icap and its children: a child serving a keep-alive connection can
# outlive its monitor process.
gn_cicap_stop()
{
	_kids=$(pgrep -P "$GN_CICAP_PID" 2>/dev/null)
	gn_kill "$GN_CICAP_PID"
	for _k in $_kids; do
		gn_kill "$_k"
	done
	gn_forget_pid "$GN_CICAP_PID"
	GN_CICAP_PID=
}

# The EXIT trap of the Squid tests: Squid first (it holds connections to
# c-icap), then c-icap, then tests/lib/squid-env.sh's cleanup of the rest.
gn_sq_cleanup()
{
	_rc=$?
	trap '' INT TERM HUP
	[ -z "${SQ_PID_main:-}" ] || sq_kill "$SQ_PID_main" 10
	[ -z "${GN_CICAP_PID:-}" ] || gn_cicap_stop
	(exit $_rc)
	sq_cleanup
}

# gn_cicap_reconfigure [nowait]: ask c-icap to reload everything and wait
# until it has. c-icap ignores a reconfigure while the children of the
# previous one are still exiting: retry. Then, unless told "nowait", wait
# until the children of before the reload are gone: each of them answers one
# more request on every kept-alive connection it holds, with what it had
# loaded (mpmt_server.c thread_main), so only then does every answer come
# from the new configuration.
gn_cicap_reconfigure()
{
	_old=$(pgrep -P "$GN_CICAP_PID" 2>/dev/null)
	_i=0
	while :; do
		_n=$(grep -c -e 'Going to reconfigure' -e 'reconfigure pending' "$GN_T/server.log")
		printf 'reconfigure' > "$GN_T/c-icap.ctl"
		_j=0
		while [ "$(grep -c -e 'Going to reconfigure' -e 'reconfigure pending' "$GN_T/server.log")" -le "$_n" ]; do
			[ $_j -lt 100 ] || gn_fatal "c-icap did not react to reconfigure"
			sleep 0.1
			_j=$((_j + 1))
		done
		tail -n 1 "$GN_T/server.log" | grep -q 'reconfigure pending' || break
		[ $_i -lt 30 ] || gn_fatal "c-icap kept ignoring reconfigure"
		sleep 0.5
		_i=$((_i + 1))
	done
	# the new children need a moment to come up
	_i=0
	while ! c-icap-client -i 127.0.0.1 -p "$GN_CICAP_PORT" -s echo >/dev/null 2>&1; do
		[ $_i -lt 100 ] || gn_fatal "c-icap does not answer after reconfigure"
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "${1:-}" != nowait ] || return 0
	_i=0
	for _k in $_old; do
		while kill -0 "$_k" 2>/dev/null; do
			[ $_i -lt 400 ] || gn_fatal "c-icap child $_k of before the reconfigure still runs after 40 s"
			sleep 0.1
			_i=$((_i + 1))
		done
	done
}

# gn_icap OUT ARGS...: one c-icap-client exchange, verbose output in OUT.
# c-icap-client sometimes prints nothing when the server answers and closes
# at once (500 answers carry "Connection: close"): then ask again.
gn_icap()
{
	_out=$1
	shift
	_i=0
	while :; do
		c-icap-client -i 127.0.0.1 -p "$GN_CICAP_PORT" -v "$@" >"$_out" 2>&1
		[ -n "$(gn_icap_status "$_out")" ] || [ $_i -ge 2 ] && return 0
		echo "note: no answer read by c-icap-client, asking again" >&2
		_i=$((_i + 1))
	done
}

# gn_reqmod OUT REQUEST-LINE [HTTP-HEADER...]: one REQMOD for the gotonet
# service on a new connection, written by hand: c-icap-client sends OPTIONS
# first and gives up when they fail, so it never shows what a REQMOD gets
# from a disabled service. The HTTP request (with a Host header from the
# request line) has no body; the ICAP request says "Allow: 204" like Squid.
# OUT gets the ICAP status line and headers, an empty line, then the
# encapsulated HTTP headers when there are any, without CRs; "none" alone
# when no ICAP answer came. Read it with gn_raw_status, gn_raw_icap_header
# and gn_raw_http_header.
gn_reqmod()
{
	_out=$1
	shift
	python3 - "$GN_CICAP_PORT" "$@" > "$_out" <<'PY'
import re, socket, sys
port, line, extra = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
target = line.split()[1]
host = target.split("/")[2] if "://" in target else target
http = "%s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (line, host, "".join(h + "\r\n" for h in extra))
icap = ("REQMOD icap://127.0.0.1:%d/gotonet ICAP/1.0\r\nHost: 127.0.0.1\r\nAllow: 204\r\n"
        "Encapsulated: req-hdr=0, null-body=%d\r\n\r\n" % (port, len(http)))
data = b""
try:
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    s.sendall((icap + http).encode())
    # the ICAP head, then as many bytes as Encapsulated says precede null-body
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^Encapsulated:.*null-body=(\d+)", head)
    want = int(m.group(1)) if m and re.search(rb"(?im)^Encapsulated:.*req-hdr=", head) else 0
    while len(rest) < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    s.close()
except OSError:
    pass
if not data.startswith(b"ICAP/1.0 "):
    print("none")
    sys.exit(0)
sys.stdout.write(head.decode(errors="replace").replace("\r", "") + "\n\n")
if want:
    sys.stdout.write(rest[:want].decode(errors="replace").replace("\r", ""))
PY
}

# gn_raw_status OUT: the ICAP status code of a gn_reqmod answer, or "none".
gn_raw_status()
{
	awk 'NR == 1 { print ($1 == "none") ? "none" : $2; exit }' "$1"
}

# gn_raw_icap_header OUT NAME / gn_raw_http_header OUT NAME: the values of a
# header (any case) in the ICAP head or the encapsulated HTTP request of a
# gn_reqmod answer, one a line.
gn_raw_icap_header()
{
	awk 'NR > 1 && $0 == "" { exit } NR > 1 { print }' "$1" | gn_header_values "$2"
}

gn_raw_http_header()
{
	awk 'f { print } !f && NR > 1 && $0 == "" { f = NR }' "$1" | gn_header_values "$2"
}

gn_header_values()
{
	awk -v name="$1" '{
		i = index($0, ":")
		if (i > 0 && tolower(substr($0, 1, i - 1)) == tolower(name)) {
			v = substr($0, i + 1)
			sub(/^[ \t]+/, "", v)
			print v
		}
	}'
}

# ICAP status code in a c-icap-client output.
gn_icap_status()
{
	awk '/^ICAP HEADERS:/ { s = 1; next } s && $1 ~ /^ICAP\// { print $2; exit }' "$1"
}

# gn_section_header OUT SECTION NAME: values of header NAME (any case) in a
# section of c-icap-client's output ("ICAP", "REQMOD", "RESPMOD"), one a line.
gn_section_header()
{
	awk -v sec="$2 HEADERS:" -v name="$3" '
		$0 == sec { s = 1; next }
		/^[A-Z]+ HEADERS:$/ { s = 0 }
		s && /^\t/ {
			line = substr($0, 2)
			i = index(line, ":")
			if (i > 0 && tolower(substr(line, 1, i - 1)) == tolower(name)) {
				v = substr(line, i + 1)
				sub(/^[ \t]+/, "", v)
				print v
			}
		}' "$1"
}

gn_icap_header()
{
	gn_section_header "$1" ICAP "$2"
}

gn_http_header()
{
	gn_section_header "$1" REQMOD "$2"
}

gn_has_icap_header()
{
	awk -v name="$2" '
		/^ICAP HEADERS:$/ { s = 1; next }
		/^[A-Z]+ HEADERS:$/ { s = 0 }
		s && /^\t/ {
			line = substr($0, 2)
			i = index(line, ":")
			if (i > 0 && tolower(substr(line, 1, i - 1)) == tolower(name)) f = 1
		}
		END { exit !f }' "$1"
}

# --- for the Squid tests ------------------------------------------------------

# gn_sq_setup: for the Squid tests, after gn_need_cicap: tests/lib/squid-env.sh
# (sq_init skips without squid-openssl), its temporary directory as GN_T, and
# gn_sq_cleanup at exit.
gn_sq_setup()
{
	. "$top_srcdir/tests/lib/squid-env.sh"
	sq_init
	trap gn_sq_cleanup EXIT
	GN_T=$SQ_DIR
}

# gn_sq_scene NAME...: the TLS scene of the Squid tests (tests/lib/squid-env.sh):
# an origin CA and Squid's bump CA (SQ_ORIGIN_CA, SQ_BUMP_CA), the HTTPS
# origin with a certificate for the names, on port $o, and the names mapped
# to 127.0.0.1 in Squid's hosts_file.
gn_sq_scene()
{
	SQ_ORIGIN_CA="gotonet test origin CA"
	SQ_BUMP_CA="gotonet test bump CA"
	sq_make_ca origin "$SQ_ORIGIN_CA"
	sq_make_ca bump "$SQ_BUMP_CA"
	sq_make_cert origin site "$@"
	sq_origin_start site
	sq_hosts "$@"
	o=$SQ_ORIGIN_PORT
}

# A plain HTTP origin on 127.0.0.1 (a few lines of Perl), on a port the kernel
# picks (GN_HTTP_PORT): answers every request with 200 and appends its request
# headers, and "body N bytes" for a request body, to $GN_T/http-origin.log.
gn_http_origin_start()
{
	command -v perl >/dev/null 2>&1 || gn_skip "perl not installed (needed for the HTTP origin)"
	perl -MIO::Socket::INET -e '
		my ($portfile, $log) = @ARGV;
		my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
		    Listen => 16, ReuseAddr => 1) or die "listen: $!";
		open(my $lf, ">>", $log) or die "$log: $!";
		$lf->autoflush(1);
		open(my $pf, ">", "$portfile.tmp") or die "$portfile: $!";
		print $pf $l->sockport, "\n";
		close $pf;
		rename("$portfile.tmp", $portfile) or die "$portfile: $!";
		while (my $c = $l->accept) {
			my $head = "";
			while (defined(my $line = <$c>)) {
				$head .= $line;
				last if $line eq "\r\n" || $line eq "\n";
			}
			print $lf $head;
			if ($head =~ /^Content-Length:\s*(\d+)/mi) {
				my ($want, $got, $buf) = ($1, 0, "");
				while ($got < $want) {
					my $n = read($c, $buf, $want - $got);
					last if !$n;
					$got += $n;
				}
				print $lf "body $got bytes\n";
			}
			my $body = "hello from the origin\n";
			print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" .
			    "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
			close $c;
		}' "$GN_T/http-origin.port" "$GN_T/http-origin.log" </dev/null >"$GN_T/http-origin.out" 2>&1 &
	GN_HTTP_PID=$!
	GN_PIDS="$GN_PIDS $GN_HTTP_PID"
	_i=0
	while [ ! -s "$GN_T/http-origin.port" ]; do
		if [ $_i -ge 200 ] || ! kill -0 "$GN_HTTP_PID" 2>/dev/null; then
			gn_fatal "the HTTP origin did not start: $(cat "$GN_T/http-origin.out")"
		fi
		sleep 0.05
		_i=$((_i + 1))
	done
	GN_HTTP_PORT=$(cat "$GN_T/http-origin.port")
}

# gn_squid_icap_conf MODE: the shipped squid.conf snippet
# (etc/squid/gotonet-icap.conf) pointing at the test's c-icap, on stdout. MODE
# "chain" turns on its example chain in place of the lone gotonet service.
gn_squid_icap_conf()
{
	if [ "$1" = chain ]; then
		sed -e "s|@ICAP_URL@|icap://127.0.0.1:$GN_CICAP_PORT|g" \
		    -e '/^adaptation_access[[:space:]]gotonet_req[[:space:]]/d' -e 's/^#chain[[:space:]]//' \
		    "$top_srcdir/etc/squid/gotonet-icap.conf"
	else
		sed -e "s|@ICAP_URL@|icap://127.0.0.1:$GN_CICAP_PORT|g" "$top_srcdir/etc/squid/gotonet-icap.conf"
	fi
}

# The Squid access.log format of these tests: how each request was handled.
GN_SQUID_LOGFORMAT='logformat gntest %ts.%03tu %>a %Ss/%03>Hs %rm %ru %Sh/%<a ssl=%ssl::bump_mode gotonet=%{X-Gotonet-Bypass}>ha'
