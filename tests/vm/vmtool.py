#!/usr/bin/env python3
"""Host-side helpers for tests/vm/run (standard library only, except `pyaff4-cmp`).

Ranges are printed one per line as "0xSTART 0xEND" (half-open). Every check exits 0 when
it holds and 1 with a message on stderr when it does not.
"""
import json
import mmap
import os
import re
import socket
import sys
import time

PAGE = 4096
MIB = 1 << 20


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def merge(ranges):
    out = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def parse_iomem(path):
    """(depth, start, end_exclusive, name) for every line of a /proc/iomem copy."""
    res = []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$", line.rstrip("\n"))
        if m:
            res.append((len(m.group(1)) // 2, int(m.group(2), 16), int(m.group(3), 16) + 1, m.group(4)))
    return res


def iomem_ram(path):
    return merge([(s, e) for d, s, e, n in parse_iomem(path) if d == 0 and n == "System RAM"])


def print_ranges(ranges):
    for s, e in ranges:
        print(f"{s:#x} {e:#x}")


def cmd_iomem_ram(path):
    rs = iomem_ram(path)
    if not rs:
        die(f"{path}: no top-level System RAM")
    print_ranges(rs)


def cmd_summary_check(err_path, iomem_path, source):
    """The acquisition's stderr is the summary line naming `source` and, in brackets,
    every top-level System RAM range of the guest (half-open, hex), followed at most by
    the line listing unreadable ranges."""
    lines = open(err_path, encoding="utf-8", errors="replace").read().splitlines()
    extra = [x for x in lines[1:] if not x.startswith("unreadable: ")]
    if not lines or extra:
        die(f"{err_path}: expected the summary line (and unreadable ranges), got: {lines[-5:]}")
    line = lines[0]
    want = "[" + " ".join(f"{s:#x}-{e:#x}" for s, e in iomem_ram(iomem_path)) + "]"
    if "acquired from " + source not in line:
        die(f"source {source!r} not named in: {line}")
    if want not in line:
        die(f"ranges {want} not in: {line}")
    print(line)


def cmd_iomem_find(path, name):
    for d, s, e, n in parse_iomem(path):
        if n == name:
            print(f"{s:#x} {e:#x}")
            return
    die(f"{path}: no resource named {name!r}")


def cmd_map_ram(path):
    doc = json.load(open(path))
    try:
        ranges = doc["images"][0]["ranges"]
    except (KeyError, IndexError, TypeError):
        die(f"{path}: no images[0].ranges")
    print_ranges(merge([(r["start"], r["start"] + r["length"]) for r in ranges if r["kind"] != "hole" and r["length"] > 0]))


def read_at(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def first_diff(a, b):
    for i in range(0, min(len(a), len(b)), PAGE):
        if a[i:i + PAGE] != b[i:i + PAGE]:
            for j in range(i, min(i + PAGE, len(a), len(b))):
                if a[j] != b[j]:
                    return j
    return min(len(a), len(b))


def either_page(got, want, alt, start):
    """Indexes of the pages of got (its page k is want[k*PAGE-start...]) equal to neither
    want nor alt at the same place (pages counted from offset `start` of want/alt)."""
    bad = []
    i = 0
    while i < len(got):
        n = PAGE - (start + i) % PAGE
        g, w, x = got[i:i + n], want[i:i + n], alt[i:i + n]
        if g != w and g != x:
            bad.append(i)
        i += n
    return bad


def cmd_cmp(a, off_a, b, off_b, length, alt=None):
    """a[off_a : off_a+len] == b[off_b : off_b+len]; len "all" = the rest of b. With ALT
    (a second dump of the same range, taken later), each page may equal either: Linux
    patches its own text at run time (static keys, e.g. when the CRNG becomes ready late
    in the boot without an RNG), so Kernel code is saved at READY and again at DONE."""
    off_a, off_b = int(off_a, 0), int(off_b, 0)
    if length == "all":
        length = os.path.getsize(b) - off_b
    length = int(length, 0)
    want = read_at(b, off_b, length)
    if len(want) != length:
        die(f"{b}: only {len(want)} of {length} bytes at {off_b:#x}")
    got = read_at(a, off_a, length)
    if len(got) != length:
        die(f"{a}: only {len(got)} of {length} bytes at {off_a:#x} (file too short)")
    if got != want and alt is not None and os.path.exists(alt):
        later = read_at(alt, off_b, length)
        bad = either_page(got, want, later, off_b) if len(later) == length else [first_diff(got, want)]
        if not bad:
            changed = sum(1 for i in range(0, length, PAGE) if want[i:i + PAGE] != later[i:i + PAGE])
            print(f"{length} bytes identical to the READY or the DONE dump ({changed} pages changed between them)")
            return
    if got != want:
        d = first_diff(got, want)
        bad = sum(1 for i in range(0, length, PAGE) if got[i:i + PAGE] != want[i:i + PAGE])
        die(f"{a} at {off_a + d:#x} differs from {b} at {off_b + d:#x} ({bad} of {(length + PAGE - 1) // PAGE} pages differ)")
    print(f"{length} bytes identical")


def cmd_size(path, expected):
    size, expected = os.path.getsize(path), int(expected, 0)
    if size != expected:
        die(f"{path}: {size:#x} bytes, expected {expected:#x}")
    print(f"{path}: {size:#x} bytes")


def cmd_zeros_outside(raw, iomem):
    """Every byte of raw outside the top-level System RAM of iomem is zero."""
    ram = iomem_ram(iomem)
    size = os.path.getsize(raw)
    gaps, pos = [], 0
    for s, e in ram:
        if s > pos:
            gaps.append((pos, s))
        pos = max(pos, e)
    if pos < size:
        gaps.append((pos, size))
    for s, e in gaps:
        cmd_zeros(raw, hex(s), hex(min(e, size)))


def marker_page(nonce, k, tag="MARKER"):
    out = bytearray()
    for line_no in range(PAGE // 64):
        s = f"PMEM-AFF4 {tag} {nonce} p{k} l{line_no}".encode()[:63]
        out += s + b"." * (63 - len(s)) + b"\n"
    return bytes(out)


def marker_pages(listing):
    pages = []
    for line in open(listing):
        m = re.match(r"^page (\d+) (0x[0-9a-f]+)$", line.strip())
        if m:
            pages.append((int(m.group(1)), int(m.group(2), 16)))
    if not pages:
        die(f"{listing}: no 'page K 0xADDR' lines (marker did not run?)")
    return pages


def cmd_low_pattern(nonce, length, out):
    """The bytes the host loads below 640 KiB (qemu -device loader) before the guest boots."""
    line = f"PMEM-AFF4 LOW RAM {nonce} ".encode()
    n = int(length, 0)
    open(out, "wb").write((line * (n // len(line) + 1))[:n])


def cmd_marker_file(nonce, k, out):
    open(out, "wb").write(marker_page(nonce, int(k)))


def cmd_marker_check(raw, nonce, listing):
    """Every marker page is at its physical address in raw; page 0 is also found by search."""
    pages = marker_pages(listing)
    bad = []
    with open(raw, "rb") as f:
        for k, addr in pages:
            f.seek(addr)
            got = f.read(PAGE)
            want = marker_page(nonce, k)
            if got != want:
                bad.append(f"page {k} at {addr:#x} (first wrong byte at +{first_diff(got, want)})")
    if bad:
        die(f"{raw}: {len(bad)} of {len(pages)} marker pages are not at their physical addresses: " + "; ".join(bad[:8]))
    want = marker_page(nonce, 0)
    with open(raw, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            die(f"{raw}: empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            hits, pos = [], m.find(want)
            while pos != -1 and len(hits) < 16:
                hits.append(pos)
                pos = m.find(want, pos + 1)
    aligned = [h for h in hits if h % PAGE == 0]
    if not aligned:
        die(f"{raw}: marker page 0 not found at any page-aligned offset (hits: {hits})")
    print(f"{len(pages)} marker pages at their addresses; page 0 found at {', '.join(hex(h) for h in aligned)}")


def cmd_footprint(raw, nonce, pages, container, min_intact, max_own, report):
    """The footprint test: of the PAGES pages `marker NONCE PAGES free` filled and freed
    right before the acquisition, how many are intact in the raw export (page-aligned,
    anywhere: freed pages have no fixed address), and how many of the image's non-zero
    pages are 4 KiB blocks of the container file itself. Pass: >= min_intact % intact,
    <= max_own % own pages. Both figures go to REPORT (and stdout)."""
    pages, min_intact, max_own = int(pages), float(min_intact), float(max_own)
    prefix = f"PMEM-AFF4 FREED {nonce} p".encode()
    line_re = re.compile(rb"p(\d+) l0\.")
    zero = bytes(PAGE)
    own_blocks = set()
    with open(container, "rb") as f:
        while True:
            b = f.read(PAGE)
            if not b:
                break
            if len(b) == PAGE and b != zero:
                own_blocks.add(b)
    intact, nonzero, own = set(), 0, 0
    with open(raw, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            for off in range(0, len(b) - PAGE + 1, PAGE):
                page = b[off:off + PAGE]
                if page == zero:
                    continue
                nonzero += 1
                if page in own_blocks:
                    own += 1
                if page.startswith(prefix):
                    m = line_re.match(page, len(prefix) - 1)
                    if m:
                        k = int(m.group(1))
                        if k < pages and page == marker_page(nonce, k, "FREED"):
                            intact.add(k)
    pct_intact = 100.0 * len(intact) / pages
    pct_own = 100.0 * own / max(nonzero, 1)
    msg = (f"freed marker pages intact: {len(intact)} of {pages} ({pct_intact:.2f} %); "
           f"image pages that are blocks of the container: {own} of {nonzero} non-zero ({pct_own:.2f} %)")
    print(msg)
    open(report, "w").write(msg + "\n")
    if pct_intact < min_intact or pct_own > max_own:
        die(f"{msg}: needs >= {min_intact} % intact and <= {max_own} % own pages")


def cmd_zeros(raw, start, end):
    start, end = int(start, 0), int(end, 0)
    data = read_at(raw, start, end - start)
    if len(data) != end - start:
        die(f"{raw}: too short for {start:#x}-{end:#x}")
    if data.count(0) != len(data):
        nz = next(i for i, b in enumerate(data) if b)
        die(f"{raw}: non-RAM {start:#x}-{end:#x} not all zeros (byte at {start + nz:#x} is {data[nz]:#x})")
    print(f"{start:#x}-{end:#x} all zeros")


def cmd_nonzero(path):
    data = open(path, "rb").read()
    if data.count(0) == len(data):
        die(f"{path}: all zeros")
    print(f"{path}: has non-zero bytes")


def cmd_modules(moddir, *names):
    """Module files (relative to moddir) to insmod for `names`, dependencies first."""
    deps = {}
    for line in open(os.path.join(moddir, "modules.dep")):
        mod, _, rest = line.partition(":")
        deps[mod.strip()] = rest.split()
    by_name = {re.sub(r"\.ko(\..*)?$", "", os.path.basename(m)).replace("-", "_"): m for m in deps}
    order, seen = [], set()

    def visit(m):
        if m in seen:
            return
        seen.add(m)
        for d in deps.get(m, []):
            visit(d)
        order.append(m)

    builtin = set()
    if os.path.exists(os.path.join(moddir, "modules.builtin")):
        for line in open(os.path.join(moddir, "modules.builtin")):
            builtin.add(re.sub(r"\.ko$", "", os.path.basename(line.strip())).replace("-", "_"))
    for n in names:
        if n in by_name:
            visit(by_name[n])
        elif n not in builtin:
            die(f"{moddir}: no module {n} in modules.dep or modules.builtin")
    print("\n".join(order))


class Qmp:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.recv()  # greeting
        self.execute("qmp_capabilities")

    def recv(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self.recv()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"QMP {cmd}: {r['error']}")


def cmd_pmemsave(sock, *specs):
    """pmemsave ADDR:SIZE:FILE ... with the guest paused for the duration."""
    q = Qmp(sock)
    # A guest that already powered off (-no-shutdown keeps its memory) is not resumed.
    running = q.execute("query-status").get("status") == "running"
    if running:
        q.execute("stop")
    try:
        for spec in specs:
            addr, size, path = spec.split(":", 2)
            q.execute("pmemsave", val=int(addr, 0), size=int(size, 0), filename=os.path.abspath(path))
    finally:
        if running:
            q.execute("cont")
    print(f"pmemsave: {len(specs)} range(s) saved")


def cmd_qmp_quit_when_shut_down(sock, timeout):
    """Waits until the guest has powered off (-no-shutdown keeps qemu alive), then quits."""
    q = Qmp(sock)
    deadline = time.time() + float(timeout)
    while time.time() < deadline:
        st = q.execute("query-status")
        if st.get("status") == "shutdown":
            try:
                q.execute("quit")
            except (EOFError, OSError):
                pass
            return
        time.sleep(0.2)
    die(f"guest did not power off within {timeout}s")


def cmd_wait_line(log, pattern, timeout, pid=None):
    """Prints the first line of `log` matching `pattern`; fails on timeout or if pid dies."""
    rx = re.compile(pattern)
    deadline = time.time() + float(timeout)
    while time.time() < deadline:
        if os.path.exists(log):
            for line in open(log, errors="replace"):
                if rx.search(line):
                    print(line.strip())
                    return
        if pid and not os.path.exists(f"/proc/{pid}"):
            die(f"qemu (pid {pid}) exited before {pattern!r} appeared in {log}")
        time.sleep(0.1)
    die(f"{pattern!r} did not appear in {log} within {timeout}s")


def cmd_pyaff4_cmp(container_path, start, ref, alt=None):
    """pyaff4 opens the container and reads ref's bytes at start from its memory image
    (with ALT, each page may equal ref's or ALT's: see cmd_cmp)."""
    from pyaff4 import container, rdfvalue  # noqa: needs the oracle venv

    start = int(start, 0)
    want = open(ref, "rb").read()
    c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(container_path))
    s = c.image.dataStream
    s.seek(start)
    got = s.read(len(want))
    if got != want and alt is not None and os.path.exists(alt) and len(got) == len(want):
        if not either_page(got, want, open(alt, "rb").read(), 0):
            print(f"pyaff4: {len(want)} bytes at {start:#x} identical to the READY or the DONE dump")
            return
    if got != want:
        d = first_diff(got, want) if got else 0
        die(f"pyaff4 reads different bytes from {container_path} at {start + d:#x} (got {len(got)} bytes)")
    print(f"pyaff4: {len(want)} bytes at {start:#x} identical")


def cmd_pyaff4_recovered(container_path, raw, list_json):
    """pyaff4 opens a recovered container and reads the first MiBs of its first recovered
    range as our own export has them."""
    from pyaff4 import container, rdfvalue  # noqa: needs the oracle venv

    ranges = json.load(open(list_json))["images"][0]["ranges"]
    first = next((r for r in ranges if r["kind"] == "data" and r["length"] > 0), None)
    if first is None:
        die(f"{list_json}: no data range")
    n = min(first["length"], 4 * MIB)
    with open(raw, "rb") as f:
        f.seek(first["start"])
        want = f.read(n)
    c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(container_path))
    s = c.image.dataStream
    s.seek(first["start"])
    got = s.read(n)
    if got != want:
        die(f"pyaff4 reads different bytes from {container_path} at {first['start'] + first_diff(got, want):#x}")
    print(f"pyaff4: {n} bytes at {first['start']:#x} == our export")


def cmd_recovered_check(list_json, raw, nonce, listing, kstart, kcode_ref, kcode_late, min_mib):
    """A container rebuilt by --recover after a SIGKILL: it holds at least MIN_MIB of
    recovered data and some aff4:UnknownData (the part never written), and every marker
    page and Kernel code page inside the recovered (data/zero) ranges equals the truth."""
    doc = json.load(open(list_json))
    ranges = doc["images"][0]["ranges"]
    kinds = {r["kind"] for r in ranges}
    got = [(r["start"], r["start"] + r["length"]) for r in ranges if r["kind"] in ("data", "zero")]
    recovered = sum(e - s for s, e in got)
    if "unknown" not in kinds:
        die(f"{list_json}: no unknown range: the killed run cannot have finished (kinds {sorted(kinds)})")
    if recovered < int(min_mib) * MIB:
        die(f"{list_json}: only {recovered} bytes recovered (want >= {min_mib} MiB)")

    def inside(a, n):
        return any(s <= a and a + n <= e for s, e in got)

    checked = bad = 0
    with open(raw, "rb") as f:
        for k, addr in marker_pages(listing):
            if not inside(addr, PAGE):
                continue
            f.seek(addr)
            checked += 1
            if f.read(PAGE) != marker_page(nonce, k):
                bad += 1
        kstart = int(kstart, 0)
        ref = open(kcode_ref, "rb").read()
        late = open(kcode_late, "rb").read()  # see cmd_cmp: either dump may be right
        kpages = kbad = 0
        for off in range(0, len(ref) - PAGE + 1, PAGE):
            if inside(kstart + off, PAGE):
                f.seek(kstart + off)
                kpages += 1
                kbad += len(either_page(f.read(PAGE), ref[off:off + PAGE], late[off:off + PAGE], 0))
    if bad or kbad:
        die(f"{raw}: {bad} of {checked} recovered marker pages and {kbad} of {kpages} recovered Kernel code pages differ from the truth")
    if checked + kpages == 0:
        die(f"{raw}: no marker or Kernel code page in the recovered ranges: nothing to compare")
    print(f"{recovered / MIB:.0f} MiB recovered; {checked} marker pages and {kpages} Kernel code pages in it == truth")


def cmd_map_kind(list_json, addr, length):
    """The kinds (data, zero, unreadable, ...) the image's map gives [addr, addr+length)."""
    addr, length = int(addr, 0), int(length, 0)
    doc = json.load(open(list_json))
    kinds = sorted({r["kind"] for r in doc["images"][0]["ranges"]
                    if r["start"] < addr + length and addr < r["start"] + r["length"]})
    if not kinds:
        die(f"{list_json}: nothing in the map covers {addr:#x}+{length:#x}")
    print(" ".join(kinds))


def note_text(buf):
    """The text of the ELF note named VMCOREINFO at the start of buf."""
    import struct
    namesz, descsz, _ = struct.unpack_from("<III", buf, 0)
    name = buf[12:12 + namesz].rstrip(b"\0")
    if name != b"VMCOREINFO":
        die(f"no VMCOREINFO note in the pmemsave (name {name[:32]!r})")
    at = 12 + (namesz + 3) // 4 * 4
    return buf[at:at + descsz].decode().rstrip("\0")


def literal(o):
    """The lexical form of a -V --json object ("v"^^<type> or "v")."""
    if not o.startswith('"'):
        return o
    return o[1:o.rindex('"')]


def cmd_vmcoreinfo_check(view_json, container, note_file, kallsyms_text, kstart, physical_start):
    """The container's VMCOREINFO facts are the guest's: the note text equals the note QEMU
    saved from guest memory; pmem:kernelOffset equals its KERNELOFFSET and the offset of
    _text in /proc/kallsyms; pmem:physBase matches Kernel code's physical start;
    information.yaml carries the same values."""
    import zipfile
    note = note_text(open(note_file, "rb").read())
    fields = dict(l.split("=", 1) for l in note.splitlines() if "=" in l)
    if "KERNELOFFSET" not in fields:
        die(f"the guest's note has no KERNELOFFSET: {note[:200]!r}")
    note_off = int(fields["KERNELOFFSET"], 16)
    text_va = int(open(kallsyms_text).read().split()[0], 16)
    start_kernel_map = 0xffffffff80000000
    kallsyms_off = text_va - start_kernel_map - int(physical_start, 0)
    phys_base = (int(kstart, 0) - (text_va - start_kernel_map)) % (1 << 64)
    meta = {}
    for t in json.load(open(view_json))["triples"]:
        if t["p"].startswith("https://pmem-aff4.github.io/schema#"):
            meta[t["p"].split("#", 1)[1]] = literal(t["o"])
    errs = []
    if meta.get("vmcoreinfo") is None:
        errs.append("no pmem:vmcoreinfo in the metadata")
    elif meta["vmcoreinfo"].rstrip("\n") != note.rstrip("\n"):
        errs.append("pmem:vmcoreinfo differs from the note QEMU saved")
    got_off = int(meta["kernelOffset"]) if "kernelOffset" in meta else None
    if got_off != note_off:
        errs.append(f"pmem:kernelOffset {got_off} != the note's KERNELOFFSET {note_off:#x}")
    if got_off != kallsyms_off:
        errs.append(f"pmem:kernelOffset {got_off} != _text {text_va:#x} - {start_kernel_map:#x} - {physical_start} = {kallsyms_off:#x}")
    got_pb = int(meta["physBase"]) % (1 << 64) if "physBase" in meta else None
    if got_pb != phys_base:
        errs.append(f"pmem:physBase {got_pb} != Kernel code {kstart} - (_text - {start_kernel_map:#x}) = {phys_base:#x}")
    with zipfile.ZipFile(container) as z:
        names = [n for n in z.namelist() if n.endswith("information.yaml")]
        if not names:
            errs.append("no information.yaml in the container")
        else:
            y = z.read(names[0]).decode()
            if f"kaslr_slide: {note_off:#x}\n" not in y:
                errs.append(f"information.yaml has no 'kaslr_slide: {note_off:#x}': {y[:300]!r}")
            if f"  KERNELOFFSET={fields['KERNELOFFSET']}\n" not in y:
                errs.append("information.yaml's Vmcoreinfo block lacks the note's KERNELOFFSET line")
    if errs:
        die("; ".join(errs))
    print(f"KERNELOFFSET {note_off:#x} (note, metadata, kallsyms agree); phys_base {phys_base:#x}")


def cmd_dtb_walk(container, raw, kallsyms, version_file):
    """Rekall's DTB is right: the CR3 in the container's information.yaml, walked as x86-64
    page tables *inside the image* (the raw export: offset = physical address), translates
    linux_banner's virtual address (the guest's /proc/kallsyms, collected in the container)
    to the physical page that holds the banner the guest's /proc/version shows."""
    import re
    import struct
    import zipfile
    with zipfile.ZipFile(container) as z:
        names = [n for n in z.namelist() if n.endswith("information.yaml")]
        if not names:
            die("no information.yaml in the container")
        y = z.read(names[0]).decode()
    m = re.search(r"^Registers: \{CR3: (0x[0-9a-f]+)\}$", y, re.M)
    if not m:
        die(f"information.yaml has no 'Registers: {{CR3: ...}}': {y[:300]!r}")
    cr3 = int(m.group(1), 16)
    if not re.search(r"^KernBase: 0x[0-9a-f]+$", y, re.M):
        die("information.yaml has no KernBase")
    l5 = re.search(r"^PgtableL5: true$", y, re.M) is not None
    va = None
    for line in open(kallsyms):
        w = line.split()
        if len(w) >= 3 and w[2] == "linux_banner":
            va = int(w[0], 16)
    if not va:
        die(f"no (non-zero) linux_banner in {kallsyms}")
    with open(raw, "rb") as f:
        def entry(table, index):
            f.seek(table + index * 8)
            return struct.unpack("<Q", f.read(8))[0]
        table, pa = cr3 & 0x000F_FFFF_FFFF_F000, None
        for level, shift in enumerate([48, 39, 30, 21, 12] if l5 else [39, 30, 21, 12]):
            e = entry(table, (va >> shift) & 0x1FF)
            if not e & 1:
                die(f"linux_banner {va:#x}: entry {e:#x} not present at level {level} (table {table:#x}, CR3 {cr3:#x})")
            base = e & 0x000F_FFFF_FFFF_F000
            if shift in (30, 21) and e & 0x80:  # 1 GiB / 2 MiB page
                pa = (base & ~((1 << shift) - 1)) | (va & ((1 << shift) - 1))
                break
            table = base
        if pa is None:
            pa = table | (va & 0xFFF)
        want = open(version_file, "rb").read().rstrip(b"\n")
        f.seek(pa)
        got = f.read(len(want))
    if got != want:
        die(f"CR3 {cr3:#x}: linux_banner {va:#x} -> physical {pa:#x} holds {got[:60]!r}, not {want[:60]!r}")
    print(f"CR3 {cr3:#x} ({5 if l5 else 4}-level): linux_banner {va:#x} -> physical {pa:#x} = /proc/version")


COMMANDS = {
    "iomem-ram": cmd_iomem_ram,
    "iomem-find": cmd_iomem_find,
    "summary-check": cmd_summary_check,
    "map-ram": cmd_map_ram,
    "cmp": cmd_cmp,
    "size": cmd_size,
    "zeros-outside": cmd_zeros_outside,
    "marker-file": cmd_marker_file,
    "low-pattern": cmd_low_pattern,
    "marker-check": cmd_marker_check,
    "zeros": cmd_zeros,
    "footprint": cmd_footprint,
    "nonzero": cmd_nonzero,
    "modules": cmd_modules,
    "pmemsave": cmd_pmemsave,
    "quit-when-shut-down": cmd_qmp_quit_when_shut_down,
    "wait-line": cmd_wait_line,
    "pyaff4-cmp": cmd_pyaff4_cmp,
    "map-kind": cmd_map_kind,
    "recovered-check": cmd_recovered_check,
    "pyaff4-recovered": cmd_pyaff4_recovered,
    "vmcoreinfo-check": cmd_vmcoreinfo_check,
    "dtb-walk": cmd_dtb_walk,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(f"usage: vmtool.py {{{'|'.join(COMMANDS)}}} ARGS...")
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except TypeError as e:
        die(f"vmtool.py {sys.argv[1]}: bad arguments ({e})")
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        die(f"vmtool.py {sys.argv[1]}: {e}")
