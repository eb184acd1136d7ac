#!/usr/bin/env python3
"""Generates testdata/sample.lime: a small deterministic RAM-like LiME dump.

Two physical ranges (like a PC's low RAM and the start of high RAM) made of 4 KiB pages:
40 % zero pages, 30 % text pages (a Linux banner, kernel-log-like lines), 30 % pseudo-
random pages. The banner lets `vol banners.Banners` recognise it as a Linux image.
Usage: make-sample.py [OUT]   (default: testdata/sample.lime next to this script)
"""
import os
import random
import struct
import sys

BANNER = (b"Linux version 6.1.0-50-cloud-amd64 (debian-kernel@lists.debian.org) "
          b"(gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) "
          b"#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-10-01)\n\x00")
RANGES = [(0x1000, 0x9f000), (0x100000, 0x100000 + 2 * 1024 * 1024)]  # half-open
PAGE = 4096


def page(rng, kind, n):
    if kind == "zero":
        return bytes(PAGE)
    if kind == "text":
        lines = []
        size = 0
        while size < PAGE:
            line = b"[%8d.%06d] pmem-aff4 sample: page %d line %d ok\n" % (n, rng.randrange(10**6), n, len(lines))
            lines.append(line)
            size += len(line)
        return b"".join(lines)[:PAGE]
    return rng.randbytes(PAGE)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "sample.lime")
    rng = random.Random(20261125)
    with open(out, "wb") as f:
        n = 0
        for start, end in RANGES:
            f.write(struct.pack("<IIQQQ", 0x4C694D45, 1, start, end - 1, 0))
            for addr in range(start, end, PAGE):
                r = rng.random()
                kind = "zero" if r < 0.4 else ("text" if r < 0.7 else "random")
                data = page(rng, kind, n)
                if n == 7:  # one banner page, like the kernel's linux_banner in .rodata
                    data = (BANNER * (PAGE // len(BANNER) + 1))[:PAGE]
                f.write(data)
                n += 1


if __name__ == "__main__":
    main()
