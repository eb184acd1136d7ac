"""Read AFF4 containers (memory and disk images, logical files) through the Rust
reader of pmem-aff4, and open them in Volatility 3 (see ``pmem_aff4.vol3``).

    import pmem_aff4
    c = pmem_aff4.open("host.aff4")          # or open(["a.aff4", "b.aff4"]) for a striped set
    img = c.image()                          # the memory (or disk) image
    img.size, img.ranges()                   # address space; ranges typed data/zero/unreadable/unknown/pattern/hole
    img.read(0x971ffe0, 64)                  # positional read: releases the GIL, thread-safe
    c.vmcoreinfo()                           # {"OSRELEASE": "6.1.0-...", ...} or None
    img.hashes                               # {"sha256": "...", ...} stored on the image or its map
    c.verify().ok                            # every stored hash recomputed
    [f["name"] for f in c.logical_files()]   # AFF4-L files; c.open(urn).read_all()
    print(c.turtle())                        # the metadata as Turtle

Reads return the stored bytes: holes read as zeros, unreadable and unknown ranges as
their AFF4 patterns ("UNREADABLEDATA", "UNKNOWN"); ``ranges()`` says which is which.
Every library error is an ``Aff4Error`` subclass.
"""

from ._native import (  # noqa: F401
    Aff4Error,
    Aff4IOError,
    AffStream as Stream,
    Check,
    Container,
    CorruptError,
    Image,
    InvalidArgumentError,
    MapCycleError,
    MissingMemberError,
    NotFoundError,
    Range,
    RdfError,
    UnsupportedError,
    VerifyReport,
    ZipError,
    __version__,
)

#: Range kinds that hold memory: their bytes are the acquired (or known) contents.
PRESENT_KINDS = frozenset({"data", "zero", "pattern"})
#: Range kinds with no acquired contents: never mapped, read failed, or never read.
ABSENT_KINDS = frozenset({"hole", "unreadable", "unknown"})


def open(paths):  # noqa: A001 - the natural name, as in zipfile/tarfile
    """Opens one AFF4 volume (a path) or a striped/split set (a list of paths)."""
    return Container(paths)


__all__ = [
    "open",
    "Container",
    "Image",
    "Stream",
    "Range",
    "VerifyReport",
    "Check",
    "PRESENT_KINDS",
    "ABSENT_KINDS",
    "Aff4Error",
    "Aff4IOError",
    "ZipError",
    "MissingMemberError",
    "RdfError",
    "CorruptError",
    "UnsupportedError",
    "NotFoundError",
    "MapCycleError",
    "InvalidArgumentError",
]
