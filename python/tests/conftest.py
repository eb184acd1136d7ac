"""Shared fixtures: the imager binary, the bundled sample imaged in every codec and
chunk size, and the reference images of ../shared/testdata.

Tests that need something missing skip with a message naming it; with CI=true they
fail instead (the project's rule for oracles).
"""

import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "testdata" / "linux-6.1-qemu.lime"
SHARED = Path(os.environ.get("PMEM_AFF4_SHARED", ROOT.parent / "shared")) / "testdata"
#: The sample's linux_banner, as Volatility 3 reports it on the LiME file.
SAMPLE_BANNER_OFFSET = 0x971FFE0
#: Processes run at once (CI machines have 2 cores).
JOBS = 2
CODECS = ["snappy", "lz4", "zlib", "deflate", "none"]
#: Every chunk size the imager accepts (--chunk-size: powers of two, 4 KiB .. 4 MiB).
CHUNK_SIZES = [1 << n for n in range(12, 23)]


def need(what: str, ok: bool) -> None:
    """Skips (fails in CI) when `what` is missing."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"missing in CI: {what}")
    pytest.skip(f"missing: {what}")


def sha256_file(p) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


@pytest.fixture(scope="session")
def pmem_bin() -> Path:
    b = Path(os.environ.get("PMEM_AFF4_BIN", ROOT / "target" / "release" / "pmem-aff4"))
    need(f"the imager {b} (cargo build --release)", b.exists())
    return b


def run_pmem(pmem_bin, *args) -> subprocess.CompletedProcess:
    p = subprocess.run([str(pmem_bin), *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, f"pmem-aff4 {' '.join(map(str, args))}: {p.stderr}"
    return p


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """Scratch space for containers; on tmpfs when there is one (the imager fsyncs)."""
    if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
        d = Path(tempfile.mkdtemp(prefix="pmem_aff4-test-", dir="/dev/shm"))
        yield d
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("pmem_aff4")


@pytest.fixture(scope="session")
def sample_aff4(pmem_bin, work) -> Path:
    """The bundled sample imaged with the defaults (snappy, 32 KiB chunks)."""
    out = work / "sample.aff4"
    run_pmem(pmem_bin, "-q", "--source", f"lime:{SAMPLE}", "-o", out, "--force")
    return out


@pytest.fixture(scope="session")
def matrix(pmem_bin, work) -> dict:
    """{(codec, chunk size): container} for the sample in every codec and chunk size."""
    out = {(codec, cs): work / f"sample-{codec}-{cs}.aff4" for codec in CODECS for cs in CHUNK_SIZES}

    def make(key):
        codec, cs = key
        run_pmem(pmem_bin, "-q", "-t", "1", "--source", f"lime:{SAMPLE}", "-o", out[key],
                 "-c", codec, "--chunk-size", cs, "--force")

    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(make, out))
    return out


@pytest.fixture(scope="session")
def shared() -> Path:
    need(f"the shared reference images in {SHARED}", SHARED.is_dir())
    return SHARED


def reference_images(shared: Path) -> list:
    """Single-file volumes holding an image: Evimetry (standard and pre-standard), c-aff4."""
    ref = shared / "reference"
    return [
        ref / "AFF4Std" / "Base-Linear.aff4",
        ref / "AFF4Std" / "Base-Linear-AllHashes.aff4",
        ref / "AFF4Std" / "Base-Linear-ReadError.aff4",
        ref / "AFF4Std" / "Base-Allocated.aff4",
        ref / "AFF4PreStd" / "Base-Linear.af4",
        shared / "c-aff4" / "c-aff4-snappy.aff4",
        shared / "c-aff4" / "c-aff4-zlib.aff4",
    ]


@pytest.fixture(scope="session")
def vol() -> Path:
    """Volatility 3's `vol` of this Python (the venv the package is installed in)."""
    v = Path(sys.executable).parent / "vol"
    need(f"Volatility 3 ({v}; pip install volatility3)", v.exists() or shutil.which("vol"))
    return v if v.exists() else Path(shutil.which("vol"))
