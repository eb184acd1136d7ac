#!/usr/bin/env python3
"""Host helpers for the anti-forensic test (tests/vm/hidepage/checks.sh); standard library.

  expected NONCE OUT            the hidden page hidepage.ko fills (4096 bytes)
  rdf VIEW_JSON NAME            prints pmem:NAME of `pmem-aff4 -V --json` (lexical form)
  speed TIMES BYTES             MiB/s of a read of BYTES timed by two /proc/uptime values
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vmtool  # noqa: E402  (tests/vm/vmtool.py)

PAGE = 4096


def hidden_page(nonce):
    out = bytearray()
    for line_no in range(PAGE // 64):
        s = f"PMEM-AFF4 HIDDEN {nonce} l{line_no}".encode()[:63]
        out += s + b"." * (63 - len(s)) + b"\n"
    return bytes(out)


def cmd_expected(nonce, out):
    open(out, "wb").write(hidden_page(nonce))


def cmd_rdf(view_json, name):
    import json
    for t in json.load(open(view_json))["triples"]:
        if t["p"] == "https://pmem-aff4.github.io/schema#" + name:
            print(vmtool.literal(t["o"]))
            return
    vmtool.die(f"{view_json}: no pmem:{name}")


def cmd_speed(times, nbytes):
    """MiB/s of reading nbytes between two /proc/uptime readings ("T0 T1")."""
    t0, t1 = (float(x) for x in open(times).read().split())
    if t1 <= t0:
        vmtool.die(f"{times}: no time elapsed ({t0} {t1})")
    print(f"{int(nbytes, 0) / (t1 - t0) / (1 << 20):.0f} MiB/s ({t1 - t0:.2f} s)")


COMMANDS = {"expected": cmd_expected, "rdf": cmd_rdf, "speed": cmd_speed}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        vmtool.die(f"usage: hidecheck.py {{{'|'.join(COMMANDS)}}} ARGS...")
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except TypeError as e:
        vmtool.die(f"hidecheck.py {sys.argv[1]}: bad arguments ({e})")
    except (OSError, ValueError, KeyError) as e:
        vmtool.die(f"hidecheck.py {sys.argv[1]}: {e}")
