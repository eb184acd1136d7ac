"""Lists the AFF4-L logical files of a volume through pyaff4 0.34's
LogicalImageContainer, reads each one and checks its stored hashes with
linear_hasher.LinearHasher2. Prints one line per file:
`file <name as UTF-8 hex> <size> <sha256> <valid hash types, comma-separated> <invalid count>`,
after a first line `container <class pyaff4 opened the volume as>`. Works on volumes
that also hold a memory image (pyaff4 then returns a PhysicalImageContainer, whose parts
make a LogicalImageContainer).
Usage: write_logical.py VOLUME"""
import hashlib
import sys

from pyaff4 import block_hasher, container, linear_hasher, rdfvalue


class Listener(block_hasher.ValidationListener):
    def __init__(self):
        super().__init__()
        self.ok, self.bad = [], []

    def onValidHash(self, typ, h, uri):
        self.ok.append(str(typ))

    def onInvalidHash(self, typ, a, b, uri):
        self.bad.append([str(typ), str(a), str(b)])


def main():
    c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(sys.argv[1]))
    print("container %s" % type(c).__name__)
    if not isinstance(c, container.LogicalImageContainer):
        c = container.LogicalImageContainer(c.backing_store, c.zip_file, c.version, c.urn,
                                            c.resolver, c.lexicon)
    out = []
    for image in c.images():
        with c.resolver.AFF4FactoryOpen(image.urn) as stream:
            data = stream.read(stream.Size())
        listener = Listener()
        linear_hasher.LinearHasher2(c.resolver, listener).hash(image)
        name = str(image.name()).encode("utf-8").hex() or "-"
        out.append("file %s %d %s %s %d" % (name, len(data), hashlib.sha256(data).hexdigest(),
                                            ",".join(sorted(listener.ok)) or "-",
                                            len(listener.bad)))
    for line in sorted(out):
        print(line)


if __name__ == "__main__":
    main()
