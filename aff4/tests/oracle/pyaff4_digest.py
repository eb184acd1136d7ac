"""Prints, for each [start, length] range given as JSON in argv[2], one line
`start length bytes_read sha256` of the image in volume argv[1] as pyaff4 0.34 reads it
(Container.openURNtoContainer(...).image.dataStream). Range by range, because pyaff4
mishandles reads that start in a hole (AFF4-FORMAT.md §11). First line: `size N`."""
import hashlib
import json
import sys

from pyaff4 import container, rdfvalue


def main():
    path = sys.argv[1]
    ranges = json.loads(sys.argv[2])
    c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(path))
    s = c.image.dataStream
    print("size %d" % s.Size())
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
        print("%d %d %d %s" % (start, length, length - left, h.hexdigest()))


if __name__ == "__main__":
    main()
