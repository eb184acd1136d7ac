#!/usr/bin/env python3
"""Read throughput from Python: pmem_aff4 (our Rust reader) against pyaff4 on the same
container, with same-run baselines. Each run is a separate process, so its CPU time and
peak RSS are its own (wait4).

Usage: bench/python-read.py [SIZE_MIB (default 512)]
  Run with the Python of a venv that has pmem_aff4 (pip install ./python) and pyaff4
  (../shared/oracles/setup-venv.sh). BENCH_DIR: where the corpus and container live
  (default /tmp/pmem-aff4-bench). The pmem-aff4 binary is target/release/pmem-aff4.

Rows: MB/s of image bytes read (the whole address space, 8 MiB reads, in order), wall
and CPU seconds, peak RSS. Baselines: Python reading the raw export of the same image
from the page cache (the ceiling for any reader that hands bytes to Python), and the
imager's own `--export` (Rust, no Python).
"""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "pmem-aff4")
READ = 8 << 20

PMEM = """
import sys, pmem_aff4
img = pmem_aff4.open(sys.argv[1]).image()
for off in range(0, img.size, %d):
    img.read(off, %d)
""" % (READ, READ)

PMEM_THREADS = """
import sys, threading, pmem_aff4
img = pmem_aff4.open(sys.argv[1]).image()
n = int(sys.argv[2])
offs = list(range(0, img.size, %d))
def work(part):
    for off in part:
        img.read(off, %d)
ts = [threading.Thread(target=work, args=(offs[i::n],)) for i in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
""" % (READ, READ)

PYAFF4 = """
import sys
from pyaff4 import container, rdfvalue
c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(sys.argv[1]))
s = c.image.dataStream
size = s.Size()
s.seek(0)
pos = 0
while pos < size:
    b = s.read(min(%d, size - pos))
    if not b:
        raise SystemExit("pyaff4 stopped at %%d" %% pos)
    pos += len(b)
""" % READ

RAW = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
for off in range(0, size, %d):
    os.pread(fd, %d, off)
""" % (READ, READ)


def measure(label, cmd, nbytes):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if status != 0:
        raise SystemExit(f"{label}: exit status {status}")
    cpu = ru.ru_utime + ru.ru_stime
    mbs = nbytes / 1e6 / max(wall, 1e-3)
    print(f"| {label} | {mbs:.0f} | {wall:.2f} s | {cpu:.2f} s | {ru.ru_maxrss // 1024} MiB |")
    return mbs, cpu


def main():
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    d = os.environ.get("BENCH_DIR", "/tmp/pmem-aff4-bench")
    os.makedirs(d, exist_ok=True)
    corpus = os.path.join(d, f"corpus-{size_mib}.lime")
    if not os.path.exists(corpus):
        subprocess.check_call([sys.executable, os.path.join(ROOT, "bench", "corpus.py"), str(size_mib), corpus])
    py = sys.executable
    rate = {}
    print(f"corpus {corpus}; {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print("| run | MB/s | wall | CPU | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for codec in ("snappy", "zlib"):
        c = os.path.join(d, f"py-{size_mib}-{codec}.aff4")
        subprocess.check_call([BIN, "-q", "--source", f"lime:{corpus}", "-o", c, "-c", codec, "--force"])
        raw = os.path.join(d, f"py-{size_mib}.raw")
        subprocess.check_call([BIN, "-q", "--export", raw, "--force", c])
        import pmem_aff4
        nbytes = pmem_aff4.open(c).image().size
        subprocess.run(["cat", raw], stdout=subprocess.DEVNULL, check=True)  # page cache
        subprocess.run(["cat", c], stdout=subprocess.DEVNULL, check=True)
        rate["raw"] = measure(f"baseline: Python pread of the raw export ({codec} run)", [py, "-c", RAW, raw], nbytes)
        rate["export"] = measure(f"baseline: pmem-aff4 --export raw ({codec})", [BIN, "-q", "--export", raw, "--force", c], nbytes)
        rate[f"pmem-{codec}"] = measure(f"pmem_aff4 read, 1 thread ({codec})", [py, "-c", PMEM, c], nbytes)
        n = os.cpu_count() or 2
        rate[f"pmemt-{codec}"] = measure(f"pmem_aff4 read, {n} threads ({codec})", [py, "-c", PMEM_THREADS, c, str(n)], nbytes)
        rate[f"pyaff4-{codec}"] = measure(f"pyaff4 0.34 read ({codec})", [py, "-c", PYAFF4, c], nbytes)
        ours, theirs = rate[f"pmem-{codec}"], rate[f"pyaff4-{codec}"]
        print(f"| ratio pmem_aff4 (1 thread) / pyaff4 ({codec}) | {ours[0] / theirs[0]:.1f}x | | "
              f"{theirs[1] / max(ours[1], 1e-3):.1f}x less | |")
        os.unlink(raw)


if __name__ == "__main__":
    main()
