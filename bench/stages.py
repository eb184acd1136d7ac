#!/usr/bin/env python3
"""CPU per pipeline stage of one acquisition, from `perf record -e cpu-clock -g` (user and
kernel): runs the acquisition under perf, assigns every sample to a stage (the user-space
leaf function with its inlined frames, via addr2line; for kernel samples, the system call
in the kernel call chain) and prints each stage's share and its seconds per GiB (each
cpu-clock sample of the imager's threads stands for 1/2000 s of CPU). Shares vary by a few percent from run to run on a shared
machine; docs/PERFORMANCE.md quotes them against the medians of bench/run.

Usage: bench/stages.py CORPUS OUTPUT [pmem-aff4 options...]
  e.g. bench/stages.py /tmp/pb/ram-1024.lime /dev/shm/o.aff4 --footprint low -c snappy
  PMEM_AFF4 (default target/release/pmem-aff4)."""
import collections
import os
import re
import subprocess
import sys
import tempfile

corpus, output, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
binary = os.path.abspath(os.environ.get("PMEM_AFF4", "target/release/pmem-aff4"))
data = tempfile.mktemp(suffix=".perf")
if os.path.exists(output):
    os.remove(output)
HZ = 2000
subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(HZ), "-g", "-o", data, binary, "-q",
                "--source", f"lime:{corpus}", "-o", output, "--force", *extra], check=True)
gib = os.path.getsize(corpus) / (1 << 30)
os.remove(output)

# perf reports user addresses as file offsets: map them to virtual addresses for addr2line.
segs = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
delta = 0
for line in segs.splitlines():
    f = line.split()  # LOAD offset vaddr paddr filesz memsz flags... align
    if len(f) > 7 and f[0] == "LOAD" and "E" in "".join(f[6:-1]):
        delta = int(f[2], 16) - int(f[1], 16)
txt = subprocess.run(["perf", "script", "-i", data, "-F", "tid,ip,sym,dso"],
                     capture_output=True, text=True).stdout
os.remove(data)
samples, cur = [], None
for line in txt.split("\n"):
    if not line.strip():
        if cur:
            samples.append(cur)
        cur = None
        continue
    if cur is None:
        cur = []
        continue
    m = re.match(r"\s*([0-9a-f]+)\s+(.*?)\s*\((.*)\)\s*$", line)
    if m:
        cur.append((int(m.group(1), 16), m.group(2), m.group(3)))
if cur:
    samples.append(cur)

name = os.path.basename(binary)
leaves = sorted({s[0][0] for s in samples if s and s[0][2].endswith(name)})
frames = {}
if leaves:
    out = subprocess.run(["addr2line", "-a", "-f", "-C", "-i", "-e", binary] + [hex(a + delta) for a in leaves],
                         capture_output=True, text=True).stdout.split("\n")
    at = None
    for line in out:
        if line.startswith("0x"):
            at = int(line, 16) - delta
            frames[at] = []
        elif at is not None and not line.startswith(("/", "??:")):
            frames[at].append(line)

USER = [("snap::", "snappy"), ("lz4_flex", "lz4"), ("miniz_oxide", "zlib"), ("flate2", "zlib"),
        ("sha2::", "SHA-256 (linear hash)"), ("sha256", "SHA-256 (linear hash)"), ("sha512", "SHA-512"),
        ("crc32fast", "CRC-32"), ("clmul", "CRC-32"), ("is_zero", "zero detection"),
        ("crossbeam", "channels, locks (user)"), ("std::sync", "channels, locks (user)"),
        ("pipeline", "pipeline bookkeeping"), ("zip::", "bevy assembly, ZIP"), ("stream::write", "bevy assembly, ZIP"),
        ("map::", "map, writer bookkeeping"), ("writer", "map, writer bookkeeping"), ("nocache", "output staging"),
        ("hash_thread", "hash thread bookkeeping")]


def stage(chain):
    ip, sym, dso = chain[0]
    if "kernel" in dso:
        j = " ".join(c[1] for c in chain)
        if "exc_page_fault" in j:
            return "kernel: page faults"
        if "filemap_read" in j or "pread" in j or "_copy_to_iter" in chain[0][1]:
            return "kernel: read (pread, copy out of the page cache)"
        if "write" in j or "iomap" in j:
            return "kernel: write (copy into the output, page allocation)"
        if "futex" in j or "schedule" in j or "finish_task_switch" in j or "sched_yield" in j:
            return "kernel: futex, scheduling"
        return "kernel: other (exec, exit, mmap, ...)"
    if "libc" in dso:
        if "memmove" in sym or "memcpy" in sym:
            return "memcpy (libc)"
        if "memset" in sym:
            return "memset (libc)"
        return "libc: other (malloc, locks, ...)"
    if dso.endswith(name):
        s = " | ".join(frames.get(ip, []))
        for key, st in USER:
            if key in s:
                return st
        return "other user code"
    return "other: " + os.path.basename(dso)


c = collections.Counter(stage(s) for s in samples if s)
n = sum(c.values())
cpu = n / HZ
print(f"{' '.join(extra) or 'defaults'}: {n} samples, {cpu:.2f} s CPU for {gib:.2f} GiB ({cpu / gib:.2f} s/GiB)")
for k, v in c.most_common():
    print(f"  {v / n * 100:5.1f} %  {cpu / gib * v / n:6.3f} s/GiB  {k}")
