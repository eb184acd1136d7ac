#!/usr/bin/env python3
"""Writes a deterministic corpus that looks like real RAM, as a LiME file, modelled on
the bundled real guest sample testdata/linux-6.1-qemu.lime.

How the model is taken from the sample (run `ram_corpus.py --measure` to print it):

1. The sample's 926 whole 4 KiB pages are classified, page by page:
   - zero: every byte 0;
   - text: at least 75 % of the non-zero bytes printable ASCII (or tab/CR/LF) and at
     least a quarter of the page printable;
   - random: byte entropy above 7.5 bits (compressed or encrypted data);
   - pointer: at least 64 of the 512 little-endian 8-byte words are kernel pointers
     (top 16 bits 0xffff), or at least 16 are and pointers plus zero words make up
     three quarters of the page (page tables, struct arrays, slab pages);
   - code: the rest (x86-64 kernel text and rodata).
2. Consecutive pages of one class form a run. The sample gives (2026-12-01): code 447
   pages in 21 runs (mean 21.3), pointer 247 in 31 (mean 8.0), zero 190 in 8 (mean
   23.8), text 37 in 22 (mean 1.7), random 5 in 4 (mean 1.25); 86 runs, a mean run of
   10.8 pages. By pages: code 48 %, pointer 27 %, zero 21 %, text 4 %, random 0.5 %.
3. The corpus is a sequence of runs. Each run's (class, length) is drawn from the
   sample's list of runs (so the class mix by pages and the run-length distribution of
   each class are the sample's), never the class of the run before. Runs start
   anywhere, so 32 KiB chunks mix classes as real memory does.
4. A run's content: zero pages are zeros; random pages are fresh pseudo-random bytes;
   code, pointer and text runs are consecutive pages of that class in the sample,
   starting at a random page of the class (real kernel code, real pointer tables, real
   strings). Pages therefore repeat across the corpus (the sample is 3.6 MiB) but only
   rarely inside one chunk, which is what a per-chunk codec sees.

The sample is the guest's low memory, the first 2 MiB above 1 MiB and one MiB of kernel
rodata, not a whole RAM: a busy host has more page cache and heap, an idle one more
zero pages. The old, friendlier corpus (pages drawn independently: 40 % zero, 30 %
repeated log text, 30 % random) is still bench/corpus.py.

Usage: ram_corpus.py SIZE_MIB OUT [SAMPLE]
       ram_corpus.py --measure [SAMPLE]
"""
import collections
import math
import os
import random
import struct
import sys

PAGE = 4096
LIME_MAGIC = 0x4C694D45
DEFAULT_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "linux-6.1-qemu.lime")
PRINTABLE = frozenset(list(range(32, 127)) + [9, 10, 13])


def sample_pages(path):
    """The whole pages of every LiME range of `path`, in file order."""
    data = open(path, "rb").read()
    pages, off = [], 0
    while off < len(data):
        magic, _ver, start, end, _ = struct.unpack_from("<IIQQQ", data, off)
        if magic != LIME_MAGIC:
            sys.exit(f"{path}: not a LiME file at offset {off}")
        off += 32
        n = end - start + 1
        body = data[off:off + n]
        off += n
        pages.extend(body[i:i + PAGE] for i in range(0, n - n % PAGE, PAGE))
    return pages


def entropy(page):
    return -sum(c / PAGE * math.log2(c / PAGE) for c in collections.Counter(page).values())


def classify(page):
    zeros = page.count(0)
    if zeros == PAGE:
        return "zero"
    nonzero = PAGE - zeros
    printable = sum(1 for b in page if b in PRINTABLE)
    if printable >= 0.75 * nonzero and printable >= PAGE // 4:
        return "text"
    if entropy(page) > 7.5:
        return "random"
    words = struct.unpack("<512Q", page)
    kptr = sum(1 for w in words if w >> 48 == 0xFFFF)
    zw = sum(1 for w in words if w == 0)
    if kptr >= 64 or (kptr >= 16 and kptr + zw >= 384):
        return "pointer"
    return "code"


def model(path):
    """(runs, pages by class): runs is the sample's [(class, length)] in order."""
    pages = sample_pages(path)
    classes = [classify(p) for p in pages]
    runs = []
    for c in classes:
        if runs and runs[-1][0] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    by_class = collections.defaultdict(list)
    for p, c in zip(pages, classes):
        by_class[c].append(p)
    return [tuple(r) for r in runs], by_class


def measure(path):
    runs, by_class = model(path)
    total = sum(n for _, n in runs)
    print(f"{path}: {total} pages, {len(runs)} runs, mean run {total / len(runs):.1f} pages")
    for c in ("code", "pointer", "zero", "text", "random"):
        lens = [n for k, n in runs if k == c]
        if lens:
            print(f"  {c:8} {sum(lens):5} pages ({100 * sum(lens) / total:4.1f} %) in {len(lens):3} runs,"
                  f" mean {sum(lens) / len(lens):5.2f}, max {max(lens)}")


def main():
    args = sys.argv[1:]
    if args and args[0] == "--measure":
        measure(args[1] if len(args) > 1 else DEFAULT_SAMPLE)
        return
    if len(args) not in (2, 3):
        sys.exit(__doc__.rsplit("Usage:", 1)[1])
    size = int(args[0]) * 1024 * 1024
    out = args[1]
    runs, by_class = model(args[2] if len(args) == 3 else DEFAULT_SAMPLE)
    rng = random.Random(13)
    zero = bytes(PAGE)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<IIQQQ", LIME_MAGIC, 1, 0x100000, 0x100000 + size - 1, 0))
        left = size // PAGE
        prev = None
        batch = []
        while left > 0:
            cls, n = rng.choice(runs)
            if cls == prev:
                continue
            prev = cls
            n = min(n, left)
            left -= n
            if cls == "zero":
                batch.extend([zero] * n)
            elif cls == "random":
                batch.extend(rng.randbytes(PAGE) for _ in range(n))
            else:
                pool = by_class[cls]
                at = rng.randrange(len(pool))
                batch.extend(pool[(at + i) % len(pool)] for i in range(n))
            if len(batch) >= 256:
                f.write(b"".join(batch))
                batch = []
        f.write(b"".join(batch))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
