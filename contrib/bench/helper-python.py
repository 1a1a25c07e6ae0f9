#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# A typical hand-written Python external ACL helper, the benchmark's comparison: a line loop with a flush per line.
"""usage: helper-python.py RULES | --loop

--loop answers OK to every line without looking (the loop and the flush
alone). Otherwise it reads the patterns of a gotonet.rules file (first token of each rule line:
exact names, *.wildcards, IPv4/IPv6 prefixes; no attributes, regexes or
exceptions) and answers each "[ID ]SNI HOST PORT CLIENT ..." line OK when the
host (and the SNI, if any) is listed, as such helpers are usually written.
"""
import ipaddress
import sys
from urllib.parse import unquote

if sys.argv[1] == "--loop":
    for line in sys.stdin:
        f = line.split(" ", 1)
        sys.stdout.write((f[0] + " OK\n") if f[0].isdigit() else "OK\n")
        sys.stdout.flush()
    sys.exit(0)

names, nets = set(), []
with open(sys.argv[1]) as f:
    for line in f:
        tok = line.split("#", 1)[0].split()
        if not tok or tok[0] in ("version", "include", "except") or tok[0].startswith("~"):
            continue
        pat = tok[0].lower()
        if "/" in pat or pat.replace(".", "").isdigit() or ":" in pat:
            nets.append(ipaddress.ip_network(pat, strict=False))
        else:
            names.add(pat[2:] if pat.startswith("*.") else pat)


def listed(host):
    host = unquote(host).strip("[]").rstrip(".").lower()
    try:
        addr = ipaddress.ip_address(host)
        return any(addr in n for n in nets)
    except ValueError:
        pass
    labels = host.split(".")
    return any(".".join(labels[i:]) in names for i in range(len(labels)))


for line in sys.stdin:
    f = line.split()
    chan = ""
    if f and f[0].isdigit():
        chan = f.pop(0) + " "
    ok = len(f) >= 2 and f[1] != "-" and listed(f[1]) and (f[0] == "-" or listed(f[0]))
    sys.stdout.write(chan + ("OK\n" if ok else "ERR\n"))
    sys.stdout.flush()
