"""The Python API over the Rust reader: ranges, reads, threads, metadata, errors."""

import hashlib
import random
import shutil
import struct
import sys
import threading
import zipfile

import pytest

import pmem_aff4
from conftest import CHUNK_SIZES, CODECS, SAMPLE, SAMPLE_BANNER_OFFSET


def lime_ranges(path):
    """[(start, bytes)] of a LiME file."""
    data = open(path, "rb").read()
    out, off = [], 0
    while off < len(data):
        magic, _ver, start, last, _ = struct.unpack_from("<IIQQQ", data, off)
        assert magic == 0x4C694D45
        n = last - start + 1
        out.append((start, data[off + 32: off + 32 + n]))
        off += 32 + n
    return out


def raw_sha256(ranges, size):
    """SHA-256 of the raw image: the ranges at their addresses, zeros elsewhere."""
    h, pos = hashlib.sha256(), 0
    for start, b in ranges:
        h.update(bytes(start - pos))
        h.update(b)
        pos = start + len(b)
    h.update(bytes(size - pos))
    return h.hexdigest()


def test_ranges_and_reads_are_the_lime_sample(sample_aff4):
    c = pmem_aff4.open(str(sample_aff4))
    img = c.image()
    lime = lime_ranges(SAMPLE)
    assert img.size == lime[-1][0] + len(lime[-1][1])
    ranges = img.ranges()
    # The ranges tile 0..size; the present ones are exactly the LiME ranges.
    assert ranges[0].start == 0 and ranges[-1].end == img.size
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:]))
    assert {r.kind for r in ranges} <= {"data", "zero", "hole"}
    present = []
    for r in ranges:
        if r.kind in pmem_aff4.PRESENT_KINDS:
            if present and present[-1][1] == r.start:
                present[-1][1] = r.end
            else:
                present.append([r.start, r.end])
    assert present == [[s, s + len(b)] for s, b in lime]
    for s, b in lime:
        assert img.read(s, len(b)) == b
    assert img.read(0, 0x1000) == bytes(0x1000)  # the hole below the first range
    assert img.read(SAMPLE_BANNER_OFFSET, 14) == b"Linux version "
    assert img.read(img.size - 4, 100) == img.read(img.size - 4, 4)  # short at the end
    assert len(img.read(img.size - 4, 100)) == 4
    assert img.read(img.size + 10, 5) == b""


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec_and_chunk_size_reads_the_hashed_bytes(matrix, codec):
    lime = lime_ranges(SAMPLE)
    size = lime[-1][0] + len(lime[-1][1])
    want = raw_sha256(lime, size)
    for cs in CHUNK_SIZES:
        c = pmem_aff4.open(str(matrix[(codec, cs)]))
        img = c.image()
        for s, b in lime:
            assert img.read(s, len(b)) == b, f"{codec} {cs} at {s:#x}"
        if cs == CHUNK_SIZES[0]:  # the whole address space once per codec
            h = hashlib.sha256()
            for off in range(0, img.size, 1 << 24):
                h.update(img.read(off, 1 << 24))
            assert h.hexdigest() == want, f"{codec} {cs}"
        stored = img.hashes.get("sha256")
        assert stored == want, f"{codec} {cs}: stored aff4:hash {stored}"


def test_reads_from_many_threads_agree(matrix):
    img = pmem_aff4.open(str(matrix[("zlib", 4096)])).image()
    whole = img.read(0, img.size)
    rnd = random.Random(12)
    jobs = [(rnd.randrange(img.size), rnd.randrange(1, 300000)) for _ in range(400)]
    errors = []

    def worker(part):
        for off, n in part:
            if img.read(off, n) != whole[off: off + n]:
                errors.append((off, n))

    threads = [threading.Thread(target=worker, args=(jobs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_reads_release_the_gil(matrix):
    # With a long switch interval, the main thread runs while the reader thread is
    # inside read() only if read() released the GIL.
    img = pmem_aff4.open(str(matrix[("zlib", 4096)])).image()
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.5)
    try:
        started = threading.Event()

        def reader():
            started.set()
            for _ in range(3):
                img.read(0, img.size)

        t = threading.Thread(target=reader)
        t.start()
        started.wait()
        spins = 0
        while t.is_alive():
            spins += 1
        t.join()
    finally:
        sys.setswitchinterval(old)
    assert spins > 1000, f"the main thread ran only {spins} loops during the reads"


def test_metadata_turtle_properties_verify(sample_aff4):
    c = pmem_aff4.open(str(sample_aff4))
    img = c.image()
    ttl = c.turtle()
    assert img.urn in ttl and img.map_urn in ttl
    props = c.properties(img.urn)
    assert ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
            "http://aff4.org/Schema#MemoryImage", None) in props or any(
        p.endswith("#type") and v.endswith("MemoryImage") for p, v, _ in props)
    assert c.vmcoreinfo() is None  # an import: no host facts
    rep = c.verify()
    assert rep.ok and bool(rep)
    assert any(ch.status == "ok" and ch.algorithm == "sha256" for ch in rep.checks)
    assert c.volumes[0]["version"] == "1.0"
    assert c.image_urns()[0] == img.urn


def rewrite(src, dst, edit):
    """Copies a volume with Python's zipfile, passing each member through edit(name, bytes)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        zout.comment = zin.comment
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info.filename)))


def test_vmcoreinfo_is_a_dict(sample_aff4, tmp_path):
    img_urn = pmem_aff4.open(str(sample_aff4)).image().urn
    note = "OSRELEASE=6.1.0-56-cloud-amd64\\nSYMBOL(init_top_pgt)=ffffffffb6a0a000\\nKERNELOFFSET=33c00000\\n"

    def add_note(name, data):
        if name != "information.turtle":
            return data
        return data + f'<{img_urn}> <https://pmem-aff4.github.io/schema#vmcoreinfo> "{note}" .\n'.encode()

    out = tmp_path / "with-note.aff4"
    rewrite(sample_aff4, out, add_note)
    vi = pmem_aff4.open(str(out)).vmcoreinfo()
    assert vi == {
        "OSRELEASE": "6.1.0-56-cloud-amd64",
        "SYMBOL(init_top_pgt)": "ffffffffb6a0a000",
        "KERNELOFFSET": "33c00000",
    }


def test_logical_files_and_streams(shared):
    dream = shared / "reference" / "AFF4-L"
    c = pmem_aff4.open(str(dream / "dream.aff4"))
    (f,) = c.logical_files()
    assert f["name"].endswith("dream.txt") and f["size"] == 8688
    data = c.open(f["urn"]).read_all()
    assert data == (dream / "dream.txt").read_bytes()
    assert hashlib.md5(data).hexdigest() == f["hashes"]["md5"]
    c = pmem_aff4.open(str(shared / "c-aff4" / "c-aff4-logical.aff4"))
    got = {f["name"]: hashlib.sha256(c.open(f["urn"]).read_all()).hexdigest() for f in c.logical_files()}
    assert got == {
        "a.txt": "5850803160a521ad57bc8f1450926ae9fcddd1011808009de23a3bd372a55fc2",
        "b.bin": "324fd557359821543abdd50963ab9e666f435680b15f5e9f36198fdcc0dbaee3",
    }
    s = c.open(c.logical_files()[1]["urn"])
    assert s.size == len(s) == 200000 and s.read(199990, 100) == s.read_all()[199990:]
    with pytest.raises(ValueError):
        s.read_all(limit=10)


def test_striped_set_reads_like_the_single_volume(shared):
    std = shared / "reference" / "AFF4Std"
    one = pmem_aff4.open(str(std / "Base-Linear.aff4")).image()
    striped = pmem_aff4.open([str(std / "Striped" / "Base-Linear_1.aff4"),
                              str(std / "Striped" / "Base-Linear_2.aff4")])
    assert len(striped.volumes) == 2
    img = striped.image()
    assert img.size == one.size
    assert hashlib.sha256(img.read(0, img.size)).digest() == hashlib.sha256(one.read(0, one.size)).digest()


def test_read_error_image_types_its_unreadable_ranges(shared):
    c = pmem_aff4.open(str(shared / "reference" / "AFF4Std" / "Base-Linear-ReadError.aff4"))
    img = c.image()
    bad = [r for r in img.ranges() if r.kind == "unreadable"]
    assert bad and all(r.target == "http://aff4.org/Schema#UnreadableData" for r in bad)
    assert b"UNREADABLEDATA" in img.read(bad[0].start, 64)
    assert "blockMapHashSHA512" in img.hashes  # Evimetry's hash on the image


def test_errors_are_typed_exceptions(sample_aff4, tmp_path):
    with pytest.raises(pmem_aff4.Aff4IOError, match="no-such"):
        pmem_aff4.open(str(tmp_path / "no-such.aff4"))
    junk = tmp_path / "junk.aff4"
    junk.write_bytes(b"not a zip at all" * 100)
    with pytest.raises(pmem_aff4.ZipError):
        pmem_aff4.open(str(junk))
    trunc = tmp_path / "trunc.aff4"
    trunc.write_bytes(sample_aff4.read_bytes()[:-5000])
    with pytest.raises(pmem_aff4.Aff4Error):
        pmem_aff4.open(str(trunc))
    c = pmem_aff4.open(str(sample_aff4))
    with pytest.raises(pmem_aff4.NotFoundError):
        c.open("aff4://no-such-object")
    with pytest.raises(pmem_aff4.MissingMemberError):
        c.member("no-such-member")
    with pytest.raises(OverflowError):
        c.image().read(-1, 5)
    assert issubclass(pmem_aff4.CorruptError, pmem_aff4.Aff4Error)


def test_corrupt_chunk_fails_the_read_and_verify_not_the_process(sample_aff4, tmp_path):
    # Overwrite the middle of the first bevy: reads there raise (or return other
    # bytes), verify() reports a mismatch; nothing panics.
    def smash(name, data):
        if name.endswith("/00000000") and len(data) > 200000:
            mid = len(data) // 2
            return data[:mid] + bytes(b ^ 0x5A for b in data[mid: mid + 4096]) + data[mid + 4096:]
        return data

    bad = tmp_path / "bad.aff4"
    rewrite(sample_aff4, bad, smash)
    c = pmem_aff4.open(str(bad))
    rep = c.verify()
    assert not rep.ok and any(ch.status == "mismatch" for ch in rep.checks)
    img = c.image()
    try:
        img.read(0, img.size)
    except pmem_aff4.Aff4Error:
        pass


def test_verify_refuses_an_image_far_larger_than_its_container(sample_aff4, tmp_path):
    # Image and map sizes raised to 1 TiB consistently, everything past the sample a
    # symbolic range: verify() refuses before hashing (the work limit), reads still work.
    img0 = pmem_aff4.open(str(sample_aff4)).image()
    old, tib = img0.size, 1 << 40
    n_idx = []

    def grow(name, data):
        if name == "information.turtle":
            text = data.decode()
            assert text.count(f'aff4:size "{old}"') == 2
            return text.replace(f'aff4:size "{old}"', f'aff4:size "{tib}"').encode()
        if name.endswith("/idx"):
            n_idx.append(len([l for l in data.split(b"\n") if l]))
            return data + b"http://aff4.org/Schema#SymbolicStreamFF\n"
        return data

    big = tmp_path / "tib.aff4"
    rewrite(sample_aff4, big, grow)
    # The map entry goes in a second pass, once the idx line number is known.
    def add_entry(name, data):
        if name.endswith("/map"):
            return data + struct.pack("<QQQI", old, tib - old, 0, n_idx[0])
        return data

    big2 = tmp_path / "tib2.aff4"
    rewrite(big, big2, add_entry)
    c = pmem_aff4.open(str(big2))
    assert c.image().size == tib
    with pytest.raises(pmem_aff4.Aff4Error, match="bytes to read"):
        c.verify()
    assert c.image().read(tib - 4096, 16) == b"\xff" * 16
