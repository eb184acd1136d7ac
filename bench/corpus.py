#!/usr/bin/env python3
"""Writes a deterministic RAM-like corpus as a LiME file: 4 KiB pages, 40 % zero,
30 % text, 30 % random. Usage: corpus.py SIZE_MIB OUT"""
import random
import struct
import sys

PAGE = 4096


def main():
    size = int(sys.argv[1]) * 1024 * 1024
    out = sys.argv[2]
    rng = random.Random(7)
    text = b"".join(b"[%8d.%06d] kernel: sample log line %d for the pmem-aff4 benchmark\n" % (i, i * 7 % 10**6, i)
                    for i in range(200))
    with open(out, "wb") as f:
        f.write(struct.pack("<IIQQQ", 0x4C694D45, 1, 0x100000, 0x100000 + size - 1, 0))
        batch = []
        for n in range(size // PAGE):
            r = rng.random()
            if r < 0.4:
                batch.append(bytes(PAGE))
            elif r < 0.7:
                off = rng.randrange(len(text) - PAGE)
                batch.append(text[off:off + PAGE])
            else:
                batch.append(rng.randbytes(PAGE))
            if len(batch) == 256:
                f.write(b"".join(batch))
                batch = []
        f.write(b"".join(batch))


if __name__ == "__main__":
    main()
