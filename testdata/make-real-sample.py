#!/usr/bin/env python3
"""Cuts testdata/linux-6.1-qemu.lime out of a real memory image of a Linux guest.

The bundled real sample is RAM of the qemu guest that tests/vm/run boots (Debian's cloud
kernel, 512 MiB), acquired through /dev/pmem by pmem-aff4 and exported raw. This script
keeps three LiME ranges of it, at their physical addresses (about 3.6 MiB):

  1. the first System RAM range, exactly (0x1000-0x9fc00 on a PC: real-mode and
     BIOS-era memory; tests/vm/run puts a pattern in 0x9f000-0x9fc00),
  2. 0x100000-0x300000 (the first 2 MiB above 1 MiB),
  3. the 1 MiB-aligned MiB of "Kernel rodata" that holds the kernel's linux_banner
     ("Linux version ..." == the guest's /proc/version), so that Volatility 3's
     banners.Banners recognises the sample as a Linux memory image.

Usage:
  make-real-sample.py RAW IOMEM VERSION [OUT]
    RAW      raw export of the guest's memory (file offset == physical address),
             e.g. `pmem-aff4 --export pmem.raw pmem.aff4`
    IOMEM    the guest's /proc/iomem (read as root)
    VERSION  the guest's /proc/version
    OUT      default: testdata/linux-6.1-qemu.lime next to this script

`tests/vm/run --capture-sample OUT` runs this on the /dev/pmem acquisition of its first
boot. Exit status 1 (with a message) if a range is missing from the image or the banner
is not where the kernel's resources say.
"""
import os
import re
import struct
import sys

LIME_MAGIC = 0x4C694D45
MIB = 1 << 20


def die(msg):
    print(f"make-real-sample.py: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_iomem(path):
    """(depth, start, end_exclusive, name) for each line."""
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$", line.rstrip("\n"))
        if m:
            out.append((len(m.group(1)) // 2, int(m.group(2), 16), int(m.group(3), 16) + 1, m.group(4)))
    return out


def main():
    if len(sys.argv) not in (4, 5):
        die("usage: make-real-sample.py RAW IOMEM VERSION [OUT]")
    raw_path, iomem_path, version_path = sys.argv[1:4]
    out = sys.argv[4] if len(sys.argv) == 5 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "linux-6.1-qemu.lime")
    iomem = parse_iomem(iomem_path)
    ram = [(s, e) for d, s, e, n in iomem if d == 0 and n == "System RAM"]
    if not ram:
        die(f"{iomem_path}: no top-level System RAM (not read as root?)")
    rodata = [(s, e) for d, s, e, n in iomem if n == "Kernel rodata"]
    if not rodata:
        die(f"{iomem_path}: no 'Kernel rodata' resource")
    banner = open(version_path, "rb").read().rstrip(b"\n")
    if not banner.startswith(b"Linux version "):
        die(f"{version_path}: not a /proc/version")

    raw = open(raw_path, "rb")

    def read(start, end):
        raw.seek(start)
        data = raw.read(end - start)
        if len(data) != end - start:
            die(f"{raw_path}: too short for {start:#x}-{end:#x}")
        return data

    low = ram[0]
    if low[1] > 0x100000:
        die(f"{iomem_path}: the first System RAM range {low[0]:#x}-{low[1]:#x} is not below 1 MiB")
    ranges = [low, (0x100000, 0x300000)]
    if not any(s <= 0x100000 and 0x300000 <= e for s, e in ram):
        die(f"{iomem_path}: 0x100000-0x300000 is not all System RAM")

    rs, re_ = rodata[0]
    text = read(rs, re_)
    at = text.find(banner)
    if at < 0:
        die(f"the banner of {version_path} is not in Kernel rodata {rs:#x}-{re_:#x} of {raw_path}")
    b = rs + at
    win = (b // MIB * MIB, b // MIB * MIB + MIB)
    if not any(s <= win[0] and win[1] <= e for s, e in ram):
        die(f"the banner's MiB {win[0]:#x}-{win[1]:#x} is not all System RAM")
    if win[0] < ranges[-1][1]:
        die(f"the banner's MiB {win[0]:#x} overlaps the low ranges")
    ranges.append(win)

    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        for start, end in ranges:
            f.write(struct.pack("<IIQQQ", LIME_MAGIC, 1, start, end - 1, 0))
            f.write(read(start, end))
    os.replace(tmp, out)
    total = sum(e - s for s, e in ranges)
    print(f"{out}: {len(ranges)} ranges, {total} bytes; banner at {b:#x}: {banner[:60].decode(errors='replace')}...")
    for s, e in ranges:
        print(f"  {s:#x}-{e:#x}")


if __name__ == "__main__":
    main()
