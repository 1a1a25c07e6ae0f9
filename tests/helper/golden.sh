#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Protocol golden tests: pipe each tests/helper/NAME.in through ext_gotonet_acl and diff with NAME.out/.err.
#
# NAME.args holds the helper's arguments (default: -r etc/gotonet.rules); the
# helper runs in top_srcdir with -d none first, so rule paths print relative
# and an .args file can raise the log level. In NAME.err, times, digests and
# durations are masked. GOLDEN_UPDATE=1 rewrites the expected files (review
# the diff before committing them).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
helper=$top_builddir/ext_gotonet_acl
if [ ! -x "$helper" ]; then
	echo "ERROR: $helper is not built" >&2
	exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gn-golden.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$top_srcdir" || exit 99
fail=0

mask() {
	sed -E -e 's#[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?#TIME#' \
	    -e 's/digest [0-9a-f]{16}/digest X/' -e 's/ us=[0-9.]+/ us=N/'
}

# Lines in a file, counting a last line without its newline.
nlines() {
	n=$(tr -cd '\n' < "$1" | wc -c)
	if [ -s "$1" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; then
		n=$((n + 1))
	fi
	echo "$n"
}

check() {	# name: compare $tmp/out and $tmp/err with the expected files
	name=$1
	if [ "${GOLDEN_UPDATE:-}" = 1 ]; then
		cp "$tmp/out" "tests/helper/$name.out"
		cp "$tmp/err" "tests/helper/$name.err"
		echo "updated $name"
		return
	fi
	if ! diff -u "tests/helper/$name.out" "$tmp/out"; then
		echo "FAIL: $name: replies differ"
		fail=1
	fi
	if ! diff -u "tests/helper/$name.err" "$tmp/err"; then
		echo "FAIL: $name: log differs"
		fail=1
	fi
}

for in in tests/helper/*.in; do
	name=$(basename "$in" .in)
	args="-r etc/gotonet.rules"
	[ -f "tests/helper/$name.args" ] && args=$(cat "tests/helper/$name.args")
	# shellcheck disable=SC2086
	"$helper" -d none $args < "$in" > "$tmp/out" 2> "$tmp/raw"
	rc=$?
	mask < "$tmp/raw" > "$tmp/err"
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name: exit status $rc, expected 0"
		fail=1
	fi
	# Whatever the expected file says: one answer per request, never BH.
	if [ "$(nlines "$in")" -ne "$(nlines "$tmp/out")" ]; then
		echo "FAIL: $name: $(nlines "$in") requests but $(nlines "$tmp/out") answers"
		fail=1
	fi
	if grep -Eq '^([0-9]+ )?BH' "$tmp/out"; then
		echo "FAIL: $name: BH answer"
		fail=1
	fi
	check "$name"
	echo "ok: $name ($(nlines "$in") requests)"
done

# A 1 MiB line (ID 5) is drained and refused; the lines around it are answered.
{
	echo "4 - meet.goto.com 443 192.0.2.10 -"
	printf '5 - '
	head -c 1048576 /dev/zero | tr '\0' 'a'
	echo " 443 192.0.2.10 -"
	echo "6 - meet.goto.com 443 192.0.2.10 -"
	head -c 1048576 /dev/zero | tr '\0' 'b'
	echo
	echo "7 - evil.example.test 443 192.0.2.10 -"
} > "$tmp/long.in"
"$helper" -d none -C -r etc/gotonet.rules < "$tmp/long.in" > "$tmp/out" 2> /dev/null
sed -e 's/ gotonet_rule=.*//' -e 's/ gotonet_version=.*//' "$tmp/out" > "$tmp/short"
cat > "$tmp/expect" <<'EOF'
4 OK gotonet_label=Central%20domain%20for%20starting%20sessions
5 ERR message=request%20line%20too%20long
6 OK gotonet_label=Central%20domain%20for%20starting%20sessions
ERR message=request%20line%20too%20long
7 ERR message=host%20not%20listed
EOF
if diff -u "$tmp/expect" "$tmp/short"; then
	echo "ok: 1 MiB lines"
else
	echo "FAIL: 1 MiB lines"
	fail=1
fi

# Squid writes a request at a time and waits: every answer must come out
# before the helper blocks in read() again (no reply held in a buffer).
if command -v python3 > /dev/null; then
	if python3 - "$helper" <<'EOF'
import subprocess, sys, select
p = subprocess.Popen([sys.argv[1], "-d", "none", "-r", "etc/gotonet.rules"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
for i, host in enumerate(["meet.goto.com", "evil.example.test"] * 50):
    p.stdin.write(b"- %s 443 192.0.2.10 -\n" % host.encode())
    p.stdin.flush()
    r, _, _ = select.select([p.stdout], [], [], 5)
    if not r:
        sys.exit("no answer to request %d within 5 s" % (i + 1))
    line = p.stdout.readline()
    want = b"OK" if host == "meet.goto.com" else b"ERR"
    if not line.startswith(want):
        sys.exit("request %d: got %r" % (i + 1, line))
p.stdin.close()
sys.exit(p.wait())
EOF
	then
		echo "ok: one request at a time"
	else
		echo "FAIL: one request at a time"
		fail=1
	fi
fi

# -n checks a rules file without serving.
printf '# no rules\n' > "$tmp/empty.rules"
if "$helper" -n -r etc/gotonet.rules 2> /dev/null && ! "$helper" -n -r tests/helper/data/bad.rules 2> /dev/null &&
    ! "$helper" -n -r "$tmp/empty.rules" 2> /dev/null; then
	echo "ok: -n"
else
	echo "FAIL: -n"
	fail=1
fi
exit $fail
