"""Prints JSON {size, ranges:[{start,length,sha256}]} of a volume's image as pyaff4 0.34
reads it, range by range (pyaff4 mishandles reads that start in holes)."""
import hashlib
import json
import sys

from pyaff4 import container, rdfvalue


def main():
    path = sys.argv[1]
    ranges = json.loads(sys.argv[2])  # [[start, length], ...] to hash
    c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(path))
    if True:
        s = c.image.dataStream
        out = []
        for start, length in ranges:
            h = hashlib.sha256()
            s.seek(start)
            left = length
            while left > 0:
                d = s.read(min(left, 8 << 20))
                if not d:
                    break
                h.update(d)
                left -= len(d)
            out.append({"start": start, "length": length, "read": length - left, "sha256": h.hexdigest()})
        print(json.dumps({"size": s.Size(), "ranges": out}))


if __name__ == "__main__":
    main()
