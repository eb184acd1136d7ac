#!/usr/bin/env python3
"""The measuring half of bench/run: runs every command once per round (so each round's
ratios compare runs made seconds apart, on the same machine state), then prints medians.
Usage: measure.py CORPUS OUTDIR ROUNDS PMEM_AFF4"""
import os
import statistics
import subprocess
import sys

corpus, outdir, rounds, binary = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
out = os.path.join(outdir, "out.aff4")
gib = os.path.getsize(corpus) / (1 << 30)


def acquire(codec, footprint):
    return [binary, "-q", "--source", f"lime:{corpus}", "-o", out, "--force", "-c", codec,
            "--footprint", footprint]


# (key, label, command, output to measure)
RUNS = [
    ("openssl", "baseline: openssl dgst -sha256", ["openssl", "dgst", "-sha256", corpus], None),
    ("sha256sum", "baseline: sha256sum", ["sha256sum", corpus], None),
    ("cat", "baseline: cat (page cache)", ["cat", corpus], None),
    ("cp", "baseline: cp to output dir", ["cp", corpus, os.path.join(outdir, "copy.bin")], None),
]
# --footprint fast is the default for imports (a reader per core, buffered output);
# --footprint low is what a live source gets by default (one reader, a few MiB of fixed
# buffers, O_DIRECT output: the write path of the target-impact work, docs/FOOTPRINT.md).
for codec in ("snappy", "lz4", "zlib", "none"):
    for fp in ("fast", "low") if codec in ("snappy", "lz4") else ("fast",):
        RUNS.append((f"{codec}-{fp}", f"acquire {codec} --footprint {fp}", acquire(codec, fp), out))
RUNS.append(("verify", "verify (snappy)", [binary, "-q", "--verify", out], None))
RUNS.append(("export", "export raw (snappy)",
             [binary, "-q", "--export", os.path.join(outdir, "export.raw"), "--force", out], None))


def writes(cmd):
    """The file `cmd` writes: after -o or --export, or cp's destination."""
    for flag in ("-o", "--export"):
        if flag in cmd:
            return cmd[cmd.index(flag) + 1]
    return cmd[-1] if cmd[0] == "cp" else None


def timed(cmd):
    """(wall, cpu, peak RSS KiB) of one run, by /usr/bin/time. The file it writes is removed
    first, so no run pays for freeing the pages of the one before (a rename over them)."""
    target = writes(cmd)
    if target and os.path.exists(target):
        os.remove(target)
    r = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    wall, user, sys_, rss = r.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(sys_), int(rss)


subprocess.run(["cat", corpus], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
res = {k: [] for k, *_ in RUNS}
sizes = {}
for _ in range(rounds):
    for key, _label, cmd, product in RUNS:
        if key == "verify":  # verify and export read the default (snappy) acquisition
            subprocess.run(acquire("snappy", "fast"), check=True)
        res[key].append(timed(cmd))
        if product:
            sizes[key] = os.path.getsize(product)
for f in ("copy.bin", "export.raw", "out.aff4"):
    try:
        os.remove(os.path.join(outdir, f))
    except FileNotFoundError:
        pass

med = statistics.median
print(f"{rounds} rounds, medians; ratio = wall (CPU) / wall (CPU) of openssl in the same round,"
      " median of the rounds")
print(f"{'run':34} {'MB/s':>6} {'wall':>7} {'CPU/GiB':>8} {'peak RSS':>9} {'output':>9} {'ratio':>6}"
      f" {'CPU ratio':>9}")
ratio = {}
for key, label, _cmd, _p in RUNS:
    wall = med(r[0] for r in res[key])
    cpu = med(r[1] for r in res[key])
    rss = med(r[2] for r in res[key]) / 1024
    ratio[key] = med(a[0] / max(b[0], 1e-3) for a, b in zip(res[key], res["openssl"]))
    cpu_ratio = med(a[1] / max(b[1], 1e-3) for a, b in zip(res[key], res["openssl"]))
    size = f"{sizes[key] / (1 << 20):.0f} MiB" if key in sizes else ""
    mbs = os.path.getsize(corpus) / 1e6 / max(wall, 1e-3)
    print(f"{label:34} {mbs:6.0f} {wall:6.2f}s {cpu / gib:7.2f}s {rss:6.1f} MiB {size:>9} {ratio[key]:6.2f}"
          f" {cpu_ratio:9.2f}")
print("targets (issue 13), for the default codec (snappy) and lz4: wall <= 1.5 x openssl,"
      " CPU <= 1.6 s/GiB, peak RSS <= 64 MiB; zlib and none are listed (no target)")
for key in ("snappy-fast", "snappy-low", "lz4-fast", "lz4-low", "zlib-fast", "none-fast"):
    cpu = med(r[1] for r in res[key]) / gib
    rss = med(r[2] for r in res[key]) / 1024
    targeted = not key.startswith(("zlib", "none"))
    ok = lambda c: ("met" if c else "NOT met") if targeted else ""
    print(f"  {key:12} wall ratio {ratio[key]:.2f} {ok(ratio[key] <= 1.5)}, CPU {cpu:.2f} s/GiB {ok(cpu <= 1.6)},"
          f" RSS {rss:.0f} MiB {ok(rss <= 64)}".replace(" ,", ","))
