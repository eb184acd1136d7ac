"""Rekall 1.7.1 opens our containers (run with the Python 3.6 venv of tests/rekall/run).

Usage: check.py CONTAINER ADDRESS EXPECTED_TEXT [DTB]
Opens CONTAINER as Rekall's physical address space, reads len(EXPECTED_TEXT) bytes at
ADDRESS and compares; with DTB, also checks that Rekall took that value from the
container's information.yaml (Registers.CR3) as its session's dtb.
"""
import site
import sys
import tempfile

import _sitebuiltins

# Rekall's startup expects site._Helper (gone from site in 3.6's venv layout).
site._Helper = _sitebuiltins._Helper

from rekall import plugins  # noqa: E402,F401  (registers load_as and the address spaces)
from rekall import session as rekall_session  # noqa: E402


def main():
    path, addr, want = sys.argv[1], int(sys.argv[2], 0), sys.argv[3].encode()
    dtb = int(sys.argv[4], 0) if len(sys.argv) > 4 else None
    s = rekall_session.Session(filename=path, autodetect=[], profile_path=[], cache="memory",
                               cache_dir=tempfile.mkdtemp())
    s.plugins.load_as().GetPhysicalAddressSpace()
    phys = s.physical_address_space
    if phys is None:
        sys.exit("%s: Rekall opened no physical address space" % path)
    got = phys.read(addr, len(want))
    if got != want:
        sys.exit("%s: Rekall reads %r at %#x, not %r" % (path, got[:40], addr, want[:40]))
    if dtb is not None and s.GetParameter("dtb") != dtb:
        sys.exit("%s: Rekall's dtb is %r, not %#x (information.yaml Registers.CR3)" % (path, s.GetParameter("dtb"), dtb))
    print("rekall: %s: %r at %#x%s" % (path, got[:24], addr, "" if dtb is None else ", dtb %#x" % dtb))


if __name__ == "__main__":
    main()
