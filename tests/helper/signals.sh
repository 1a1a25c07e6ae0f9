#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ext_gotonet_acl under signals: SIGHUP reloads atomically and reopens -l, SIGUSR1 and exit print hit counters.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
helper=$top_builddir/ext_gotonet_acl
if [ ! -x "$helper" ]; then
	echo "ERROR: $helper is not built" >&2
	exit 99
fi
if ! command -v python3 > /dev/null; then
	echo "SKIP: python3 is needed to drive the helper"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gn-signals.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 - "$helper" "$tmp" <<'EOF'
import os, signal, subprocess, sys, time

helper, tmp = sys.argv[1], sys.argv[2]
rules, log, errf = tmp + "/r.rules", tmp + "/decisions.log", tmp + "/stderr"
failed = 0

def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed = 1

def write(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.rename(path + ".new", path)

def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""

def wait_for(path, text, count=1, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if read(path).count(text) >= count:
            return True
        time.sleep(0.02)
    return False

write(rules, 'version one\n*.old.test label="old"\n*.kept.test label="kept"\n')
err = open(errf, "w")
p = subprocess.Popen([helper, "-d", "all", "-l", log, "-r", rules],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
n = 0

def ask(host):
    global n
    n += 1
    p.stdin.write(b"%d - %s 443 192.0.2.1 -\n" % (n, host.encode()))
    p.stdin.flush()
    line = p.stdout.readline().decode()
    if not line.startswith("%d " % n):
        sys.exit("answer %r does not carry channel %d" % (line, n))
    return line.split()[1]

check(ask("a.old.test") == "OK" and ask("a.new.test") == "ERR", "first rules in force")

# A good new file replaces the rules as a whole.
write(rules, 'version two\n*.new.test label="new"\n*.kept.test label="kept"\n')
p.send_signal(signal.SIGHUP)
check(wait_for(errf, 'version "two"'), "SIGHUP loads the new file")
check(ask("a.old.test") == "ERR" and ask("a.new.test") == "OK", "new rules in force")
check("stats (reload)" in read(log) and 'hits 1 ' in read(log) and '*.old.test' in read(log),
      "counters of the old rules logged before the swap")

# A broken file: every error with file:line, the rules in force stay.
write(rules, 'version three\n*.new.test critcal=yes label="x"\n*.other.test\n10.1.2.3/8 label="y"\n')
p.send_signal(signal.SIGHUP)
check(wait_for(errf, "keeping the rules in force"), "broken file refused")
e = read(errf)
check(rules + ":2: unknown attribute 'critcal'" in e and rules + ":3:" in e and rules + ":4:" in e,
      "every error logged as file:line")
check(ask("a.new.test") == "OK" and ask("a.other.test") == "ERR", "old rules still in force")

# An empty file (truncated by a failed copy) is refused too.
write(rules, "# nothing left\n")
p.send_signal(signal.SIGHUP)
check(wait_for(errf, "no rules in the file; keeping the rules in force"), "empty file refused")
check(ask("a.new.test") == "OK", "old rules still in force after an empty file")

# A vanished file changes nothing either.
os.unlink(rules)
p.send_signal(signal.SIGHUP)
check(wait_for(errf, "keeping the rules in force", 3), "missing file refused")
check(ask("a.kept.test") == "OK", "still serving after the file vanished")

# logrotate: rename, SIGHUP, new decisions go to the new file.
os.rename(log, log + ".1")
write(rules, 'version four\n*.kept.test label="kept"\n')
p.send_signal(signal.SIGHUP)
check(wait_for(errf, 'version "four"'), "reload after rotation")
ask("rotated.kept.test")
check(wait_for(log, "host=rotated.kept.test"), "decision log reopened on SIGHUP")
check("host=rotated.kept.test" not in read(log + ".1"), "old log left alone")

p.send_signal(signal.SIGUSR1)
check(wait_for(log, "stats (SIGUSR1)"), "SIGUSR1 writes the counters")
check(wait_for(log, 'hits 1 ' + rules + ':2 *.kept.test label="kept"'), "per-rule hits with file:line")

# EOF: exit 0 with the final counters.
p.stdin.close()
rc = p.wait(timeout=5)
check(rc == 0, "exit status 0 on EOF (got %s)" % rc)
check("stats (exit)" in read(log), "counters at exit")

# SIGTERM: the same.
write(rules, '*.kept.test label="kept"\n')
q = subprocess.Popen([helper, "-d", "none", "-r", rules], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
time.sleep(0.2)
q.send_signal(signal.SIGTERM)
out = q.communicate(timeout=5)[1].decode()
check(q.returncode == 0 and "stats (exit)" in out, "SIGTERM: exit 0 with counters")

# A big list: SIGUSR1 lists every rule that matched, exit only the 100 most matched.
write(rules, "".join('*.r%d.test label="r%d"\n' % (i, i) for i in range(150)))
q = subprocess.Popen([helper, "-d", "none", "-l", tmp + "/big.log", "-r", rules],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
reqs = "".join("%d - a.r%d.test 443 192.0.2.1 -\n" % (n, i) for n, i in
               enumerate([i for i in range(150) for _ in range(1 + (i == 7) * 2)]))
q.stdin.write(reqs.encode())
q.stdin.flush()
for _ in range(152):
    q.stdout.readline()
q.send_signal(signal.SIGUSR1)
check(wait_for(tmp + "/big.log", "stats (SIGUSR1)"), "SIGUSR1 on a big list")
time.sleep(0.2)
q.stdin.close()
q.wait(timeout=5)
big = read(tmp + "/big.log").split("stats (exit)")
check(len(big) == 2 and big[0].count(" hits ") == 150, "SIGUSR1 lists all 150 rules that matched")
check(len(big) == 2 and big[1].count(" hits ") == 100 and "50 more rules matched" in big[1]
      and big[1].split(" hits ")[1].startswith("3 "), "exit lists the 100 most matched, most first")

# Nobody reading the answers: a clean error, no death by SIGPIPE.
r, w = os.pipe()
os.close(r)
q = subprocess.Popen([helper, "-d", "none", "-r", rules], stdin=subprocess.PIPE,
                     stdout=w, stderr=subprocess.PIPE)
os.close(w)
out = q.communicate(b"1 - a.kept.test 443 192.0.2.1 -\n", timeout=5)[1].decode()
check(q.returncode == 1 and "writing replies" in out, "closed stdout: exit 1 with a message (got %s)" % q.returncode)
# fd 1 closed from the start: exit 1 at once; the -l log file must not become the answer channel.
q = subprocess.Popen(["sh", "-c", 'echo "1 - a.kept.test 443 192.0.2.1 -" | "$0" -d all -l "$2" -r "$1" >&-',
                      helper, rules, tmp + "/fd1.log"], stderr=subprocess.PIPE)
out = q.communicate(timeout=5)[1].decode()
check(q.returncode == 1 and "standard output is closed" in out and " OK " not in read(tmp + "/fd1.log"),
      "fd 1 closed at start: exit 1, nothing answered into the log (got %s)" % q.returncode)

# An empty rules file at start: every request refused, the reason logged.
write(rules, "version empty\n")
q = subprocess.Popen([helper, "-d", "none", "-r", rules], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = q.communicate(b"1 - a.kept.test 443 192.0.2.1 -\n", timeout=5)
check(out.decode().startswith("1 ERR message=no%20rules%20loaded") and "no rules in the file" in err.decode(),
      "empty file at start: ERR to everything")
sys.exit(failed)
EOF
# (not exec: the trap must still remove the directory)
exit $?
