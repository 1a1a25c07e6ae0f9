#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# A deliberately failing external ACL helper for the fail-closed test; wraps the real one where it answers.
"""usage: broken-helper.py MODE LOG HELPER [HELPER ARGS...]

MODE:
  bh        answer BH to everything
  step2-bh  let HELPER answer requests without an SNI (the pre-check), BH for the rest
  die       let HELPER answer the first request, then exit without answering
  hang      read requests, never answer
Every request and what was done with it is appended to LOG.
"""
import subprocess
import sys

mode, logpath, helper = sys.argv[1], sys.argv[2], sys.argv[3:]
real = None
if mode in ("step2-bh", "die"):
    real = subprocess.Popen(helper + ["-d", "none"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def log(what, line):
    with open(logpath, "a") as f:
        f.write("%s %s\n" % (what, line.rstrip("\n")))


def ask(line):
    real.stdin.write(line.encode())
    real.stdin.flush()
    return real.stdout.readline().decode()


n = 0
for line in sys.stdin:
    n += 1
    fields = line.split()
    chan = fields[0] + " " if fields and fields[0].isdigit() else ""
    sni = fields[1] if chan else (fields[0] if fields else "-")
    if mode == "hang":
        log("hang", line)
        continue
    if mode == "die" and n > 1:
        log("die", line)
        sys.exit(1)
    if mode == "bh" or (mode == "step2-bh" and sni != "-"):
        log("BH", line)
        sys.stdout.write(chan + "BH message=broken%20on%20purpose\n")
    else:
        answer = ask(line)
        log("real:" + answer.split()[1 if chan else 0], line)
        sys.stdout.write(answer)
    sys.stdout.flush()
