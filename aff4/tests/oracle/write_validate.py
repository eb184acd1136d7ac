"""Runs pyaff4 0.34's block_hasher.Validator on a volume and prints one line per
result: `valid <type> <uri>`, `invalid <type> <stored> <computed> <uri>`, then
`blocks <valid> <invalid>` and, if it crashed, `error <ExceptionType: message>` (the
traceback goes to stderr). A crash is reported, not raised, so the test can say what
happened.
Usage: write_validate.py VOLUME"""
import sys
import traceback

from pyaff4 import block_hasher, rdfvalue


class Listener(block_hasher.ValidationListener):
    def __init__(self):
        super().__init__()
        self.valid, self.invalid = [], []
        self.valid_blocks, self.invalid_blocks = 0, 0

    def onValidBlockHash(self, a):
        self.valid_blocks += 1

    def onInvalidBlockHash(self, a, b, uri, offset):
        self.invalid_blocks += 1

    def onValidHash(self, typ, h, uri):
        self.valid.append([str(typ), str(uri)])

    def onInvalidHash(self, typ, a, b, uri):
        self.invalid.append([str(typ), str(a), str(b), str(uri)])


def main():
    listener = Listener()
    error = None
    try:
        block_hasher.Validator(listener).validateContainer(rdfvalue.URN.FromFileName(sys.argv[1]))
    except Exception as e:  # report every crash to the test
        error = ("%s: %s" % (type(e).__name__, e)).replace("\n", " ")
        traceback.print_exc()
    for v in listener.valid:
        print("valid " + " ".join(v))
    for v in listener.invalid:
        print("invalid " + " ".join(v))
    print("blocks %d %d" % (listener.valid_blocks, listener.invalid_blocks))
    if error:
        print("error " + error)


if __name__ == "__main__":
    main()
