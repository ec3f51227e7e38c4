#!/usr/bin/env python3
"""keystore-floor.py STORE PASSWORD - the floor for `keystore list`: read a
JKS/JCEKS file, check its integrity digest, and print every entry's alias
and the SHA-256 fingerprint of its (first) certificate.  No certificate is
decoded; this is the least work a lister can do."""
import hashlib
import struct
import sys

data = open(sys.argv[1], "rb").read()
h = hashlib.sha1(sys.argv[2].encode("utf-16-be") + b"Mighty Aphrodite")
h.update(data[:-20])
if h.digest() != data[-20:]:
    sys.exit("keystore password is incorrect or the file was altered")
magic, version, count = struct.unpack_from(">III", data, 0)
off = 12


def cert(off):
    if version == 2:
        (tl,) = struct.unpack_from(">H", data, off)
        off += 2 + tl
    (n,) = struct.unpack_from(">I", data, off)
    return off + 4 + n, data[off + 4:off + 4 + n]


out = []
for _ in range(count):
    tag, alen = struct.unpack_from(">IH", data, off)
    alias = data[off + 6:off + 6 + alen].decode("utf-8", "replace")
    off += 6 + alen + 8
    first = None
    if tag == 1:
        (klen,) = struct.unpack_from(">I", data, off)
        off += 4 + klen
        (n,) = struct.unpack_from(">I", data, off)
        off += 4
        for j in range(n):
            off, der = cert(off)
            first = first or der
    elif tag == 2:
        off, first = cert(off)
    else:
        sys.exit("secret key entries are not handled by the floor script")
    fp = hashlib.sha256(first).hexdigest().upper() if first else ""
    out.append(f"{alias}, {':'.join(fp[i:i + 2] for i in range(0, len(fp), 2))}")
print("\n".join(out))
