#!/usr/bin/env python3
"""Checks a container pmem-aff4.exe acquired from tests/windows/testdriver/fakepmem.sys.

Usage: check_fake.py CONTAINER LIST_JSON RAW_EXPORT VIEW_TTL INFO_YAML CR3 READ_METHOD [PYAFF4]
  LIST_JSON   `pmem-aff4 -l --json CONTAINER`;  RAW_EXPORT  `--export X --format raw`
  VIEW_TTL    `pmem-aff4 -V CONTAINER`;         INFO_YAML   the <map>/information.yaml member
  PYAFF4      "pyaff4": also read every run through pyaff4 (run with the oracle venv's python)
The synthetic memory (runs, failing pages, byte pattern) mirrors fakepmem.c.
"""
import json
import re
import sys

PAGE = 4096
RUNS = [(0x1000, 0x9F000), (0x100000, 0x80000), (0x200000, 0x10000)]
BAD = {0x105000, 0x106000, 0x20F000}
MASK = (1 << 64) - 1


def pattern(start, length):
    out = bytearray(length)
    for i in range(length):
        p = start + i
        x = ((p >> 3) * 0x9E3779B97F4A7C15) & MASK
        out[i] = ((x >> 56) ^ (p & 7) ^ (p >> 12)) & 0xFF
    return bytes(out)


def die(msg):
    print(f"check_fake: {msg}", file=sys.stderr)
    sys.exit(1)


def expected_pages():
    kinds = {}
    for base, length in RUNS:
        for p in range(base, base + length, PAGE):
            kinds[p] = "unreadable" if p in BAD else "data"
    return kinds


def main():
    container, list_json, raw, view, yaml, cr3, method = sys.argv[1:8]
    use_pyaff4 = sys.argv[8:] == ["pyaff4"]
    cr3 = int(cr3, 0)
    want = expected_pages()
    end = max(b + l for b, l in RUNS)

    # 1. The map: every run page is data or unreadable, every other page a hole.
    doc = json.load(open(list_json))
    img = doc["images"][0]
    got = {}
    for r in img["ranges"]:
        if r["kind"] == "hole":
            continue
        for p in range(r["start"], r["start"] + r["length"], PAGE):
            got[p] = r["kind"]
    if got != want:
        diff = sorted(set(got.items()) ^ set(want.items()))[:5]
        die(f"map differs from the fake driver's memory (first differences {diff})")
    if img["size"] != end:
        die(f"image size {img['size']:#x}, want {end:#x}")

    # 2. Every readable page's bytes, from the raw export.
    data = open(raw, "rb").read()
    if len(data) != end:
        die(f"raw export is {len(data):#x} bytes, want {end:#x}")
    for p, kind in sorted(want.items()):
        if kind == "data" and data[p:p + PAGE] != pattern(p, PAGE):
            die(f"page {p:#x}: bytes differ from the fake driver's pattern")
        if kind == "unreadable" and data[p:p + PAGE] == pattern(p, PAGE):
            die(f"page {p:#x} should be unreadable but holds the driver's bytes")

    # 3. Metadata: the DTB, the read method and the unreadable count in RDF.
    ttl = open(view).read()
    for needle in (f'aff4:memoryPageTableEntryOffset "{cr3}"^^xsd:long',
                   f'pmem:readMethod "{method}"^^xsd:string',
                   f'pmem:unreadablePages "{len(BAD)}"^^xsd:long',
                   'pmem:ntBuildNumber "4026550885"^^xsd:long',
                   'pmem:kernelBase "18446735286511882240"^^xsd:unsignedLong',
                   'pmem:acquisitionComplete "true"^^xsd:boolean'):
        if needle not in ttl:
            die(f"-V output lacks {needle}")

    # 4. information.yaml as c-aff4's winpmem writes it (Rekall reads CR3 and Runs).
    y = open(yaml).read()
    for needle in (f"Registers: {{CR3: {cr3:#x}}}\n", "NtBuildNumber: 4026550885\n",
                   "KernBase: 0xfffff80212345000\n", "NtBuildNumberAddr: 0xfffff80212abc440\n"):
        if needle not in y:
            die(f"information.yaml lacks {needle!r}:\n{y}")
    runs = [(int(s, 16), int(l, 16)) for s, l in
            re.findall(r"- start: (0x[0-9a-f]+)\n  length: (0x[0-9a-f]+)", y)]
    if runs != RUNS:
        die(f"information.yaml Runs {runs}, want {RUNS}")

    # 5. pyaff4 reads every run's readable pages.
    if use_pyaff4:
        from pyaff4 import container as c4, rdfvalue
        v = c4.Container.openURNtoContainer(rdfvalue.URN.FromFileName(container))
        s = v.image.dataStream
        for p, kind in sorted(want.items()):
            if kind == "data":
                s.seek(p)
                if s.read(PAGE) != pattern(p, PAGE):
                    die(f"pyaff4 reads different bytes at {p:#x}")
    print(f"fake driver acquisition checked: {len(want)} pages in {len(RUNS)} runs, "
          f"{len(BAD)} unreadable, CR3 {cr3:#x}, read mode {method}"
          + (", pyaff4 agrees" if use_pyaff4 else ""))


if __name__ == "__main__":
    main()
