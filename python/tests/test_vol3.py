"""Volatility 3 itself (the `vol` command) reads our layer: banners at the LiME
sample's offsets, layerwriter's bytes = our raw export = the stored aff4:hash, the layer
listed, pickling (--parallelism processes), --save-config/-c, the console script.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pmem_aff4
from pmem_aff4.vol3 import plugin_dir
import vol3run
from conftest import CHUNK_SIZES, SAMPLE, SAMPLE_BANNER_OFFSET, reference_images, run_pmem, sha256_file


def run_vol(vol, args, cwd, with_layer=True):
    """`vol -q --offline -r json [-p DIR] ARGS` -> parsed JSON rows."""
    env = dict(os.environ, XDG_CACHE_HOME=str(Path(cwd) / "cache"))
    cmd = [str(vol), "-q", "--offline", "-r", "json"]
    if with_layer:
        cmd += ["-p", plugin_dir()]
    p = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env)
    assert p.returncode == 0, f"{' '.join(cmd + list(map(str, args)))}: {p.stderr[-2000:]}"
    return json.loads(p.stdout[p.stdout.index("["):])


def banners(vol, f, cwd, *extra):
    return sorted((r["Offset"], r["Banner"]) for r in run_vol(vol, [*extra, "-f", f, "banners.Banners"], cwd))


def layerwriter_sha(vol, f, cwd):
    out = Path(cwd) / ("lw-" + Path(f).stem)
    out.mkdir()
    run_vol(vol, ["-f", f, "-o", out, "layerwriter.LayerWriter"], cwd)
    (written,) = list(out.iterdir())
    sha = sha256_file(written)
    written.unlink()
    return sha


@pytest.fixture(scope="session")
def lime_banners(vol, work):
    got = banners(vol, SAMPLE, work)
    assert [o for o, _ in got] == [SAMPLE_BANNER_OFFSET]
    return got


def raw_export_sha(pmem_bin, container, work):
    raw = work / (container.stem + ".raw")
    run_pmem(pmem_bin, "-q", "--export", raw, "--format", "raw", "--force", container)
    sha = sha256_file(raw)
    raw.unlink()
    return sha


def stored_sha(container):
    return pmem_aff4.open(str(container)).image().hashes.get("sha256")


def test_frameworkinfo_lists_the_layer(vol, work):
    rows = run_vol(vol, ["frameworkinfo.FrameworkInfo"], work)
    names = json.dumps(rows)
    assert "pmem_aff4.vol3.layer.Aff4Layer" in names or "Aff4Layer" in names
    assert "Aff4Layer" not in json.dumps(run_vol(vol, ["frameworkinfo.FrameworkInfo"], work, with_layer=False))


def test_vol_cli_banners_and_layerwriter(vol, work, sample_aff4, lime_banners, pmem_bin):
    assert banners(vol, sample_aff4, work) == lime_banners
    lw = layerwriter_sha(vol, sample_aff4, work)
    assert lw == raw_export_sha(pmem_bin, sample_aff4, work) == stored_sha(sample_aff4)
    rows = run_vol(vol, ["-f", sample_aff4, "layerwriter.LayerWriter", "--list"], work)
    assert {(r["Layer name"], r["Layer type"]) for r in rows} >= {("primary", "Aff4Layer"), ("base_layer", "FileLayer")}


def test_every_codec_and_chunk_size_in_vol3(work, matrix, lime_banners, pmem_bin):
    """banners.Banners at the LiME offsets; LayerWriter's SHA-256 == the stored
    aff4:hash (== our raw export, checked at the smallest and largest chunk size)."""
    for (codec, cs), f in sorted(matrix.items()):
        rows, _, layers = vol3run.run(f, "banners.Banners", [plugin_dir()])
        assert layers["primary"] == "Aff4Layer", (codec, cs, layers)
        assert sorted((o, b) for o, b in rows) == lime_banners, (codec, cs)
        _, written, _ = vol3run.run(f, "layerwriter.LayerWriter", [plugin_dir()])
        (lw, _), = written.values()
        stored = stored_sha(f)
        assert lw == stored, (codec, cs, lw, stored)
        if cs in (CHUNK_SIZES[0], CHUNK_SIZES[-1]):
            assert raw_export_sha(pmem_bin, f, work) == lw, (codec, cs)


def present_sha(img):
    """SHA-256 of the image up to its last present byte, absent ranges as zeros."""
    h, last = hashlib.sha256(), 0
    ranges = img.ranges()
    end = max(r.end for r in ranges if r.kind in pmem_aff4.PRESENT_KINDS)
    for r in ranges:
        for off in range(r.start, min(r.end, end), 1 << 24):
            n = min(1 << 24, min(r.end, end) - off)
            h.update(img.read(off, n) if r.kind in pmem_aff4.PRESENT_KINDS else bytes(n))
    return h.hexdigest()


def test_reference_images_in_vol3(work, shared, pmem_bin):
    """Evimetry's and c-aff4's volumes: LayerWriter's bytes are the image with its
    absent (hole/unreadable/unknown) ranges as zeros; the same as our LiME export shows
    Volatility, and as our raw export where nothing is unreadable."""
    for f in reference_images(shared):
        img = pmem_aff4.open(str(f)).image()
        rows, written, layers = vol3run.run(f, "layerwriter.LayerWriter", [plugin_dir()])
        assert layers["primary"] == "Aff4Layer", (f, layers)
        (lw, size), = written.values()
        assert lw == present_sha(img), f
        lime = work / (f.stem + "-ref.lime")
        run_pmem(pmem_bin, "-q", "--export", lime, "--format", "lime", "--force", f)
        _, written_lime, layers_lime = vol3run.run(lime, "layerwriter.LayerWriter")
        lime.unlink()
        assert layers_lime["primary"] == "LimeLayer"
        assert list(written_lime.values()) == [(lw, size)], f"{f}: the LiME export shows Volatility other bytes"
        absent = any(r.kind in ("unreadable", "unknown", "hole") for r in img.ranges())
        if not absent:
            assert raw_export_sha(pmem_bin, f, work) == lw, f


def test_parallelism_processes_and_saved_config(vol, work, sample_aff4, lime_banners):
    # The layer is pickled into worker processes: a layer that cannot be pickled
    # scans nothing and still exits 0, so the offsets are what is checked.
    assert banners(vol, sample_aff4, work, "--parallelism", "processes") == lime_banners
    cfg = work / "saved.json"
    assert banners(vol, sample_aff4, work, "--save-config", cfg) == lime_banners
    saved = json.loads(cfg.read_text())
    assert saved["primary.class"] == "pmem_aff4.vol3.layer.Aff4Layer"
    rows = run_vol(vol, ["-c", cfg, "banners.Banners"], work)
    assert sorted((r["Offset"], r["Banner"]) for r in rows) == lime_banners


def test_without_the_layer_vol_sees_only_zip_bytes(vol, work, sample_aff4, lime_banners):
    # The trap the offsets guard against: plain vol finds the banner at a file offset.
    got = sorted((r["Offset"], r["Banner"]) for r in run_vol(vol, ["-f", sample_aff4, "banners.Banners"], work, with_layer=False))
    assert got != lime_banners


def test_console_script_and_module(vol, work, sample_aff4, lime_banners):
    p = subprocess.run([sys.executable, "-m", "pmem_aff4.vol3"], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == plugin_dir()
    assert (Path(plugin_dir()) / "pmem_aff4_layer.py").is_file()
    script = Path(sys.executable).parent / "pmem-aff4-vol"
    assert script.exists(), "pmem-aff4-vol console script not installed"
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
    p = subprocess.run([str(script), "-q", "--offline", "-r", "json", "-f", str(sample_aff4), "banners.Banners"],
                       capture_output=True, text=True, env=env, cwd=work)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout[p.stdout.index("["):])
    assert sorted((r["Offset"], r["Banner"]) for r in rows) == lime_banners
