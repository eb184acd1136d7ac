"""Reads ranges of a volume's image the way pyaff4 0.34 users do and prints
`size <n>` then one `range <start> <length> <bytes read> <sha256>` line per range. Ranges are read one by one because
pyaff4 returns nothing for a read that starts in a hole (AFF4-FORMAT.md section 11).
Usage: write_read_ranges.py VOLUME '[[start, length], ...]'"""
import hashlib
import json
import sys

from pyaff4 import container, rdfvalue


def read_range(stream, start, length):
    h = hashlib.sha256()
    stream.seek(start)
    left = length
    while left > 0:
        data = stream.read(min(left, 4 << 20))
        if not data:
            break
        h.update(data)
        left -= len(data)
    return "range %d %d %d %s" % (start, length, length - left, h.hexdigest())


def main():
    path, ranges = sys.argv[1], json.loads(sys.argv[2])
    c = container.Container.openURNtoContainer(rdfvalue.URN.FromFileName(path))
    stream = c.image.dataStream
    print("size %d" % stream.Size())
    for start, length in ranges:
        print(read_range(stream, start, length))


if __name__ == "__main__":
    main()
