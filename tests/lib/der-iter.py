#!/usr/bin/env python3
"""der-iter.py IN OUT WHICH COUNT - rewrites the key-derivation iteration
count of one part of a PFX (DER), re-encoding every enclosing length, so the
tests can hand mtlskit a file that asks for absurd work without anyone
computing it.  WHICH: "mac" (MacData.iterations), "certs" (the PBKDF2/PBE
parameters of the encrypted certificate safe), "key" (those of the shrouded
key bag).  The MAC and encryption no longer check afterwards; that is fine:
the count must be refused before either is computed."""
import sys


def parse(b, off=0, end=None):
    """A list of [tag, value-bytes-or-children] for the TLVs in b[off:end].
    Constructed values are parsed; an OCTET STRING whose content is itself
    whole DER is parsed too (PFX nests DER inside OCTET STRINGs)."""
    end = len(b) if end is None else end
    out = []
    while off < end:
        tag = b[off]
        ln = b[off + 1]
        off += 2
        if ln & 0x80:
            n = ln & 0x7F
            ln = int.from_bytes(b[off:off + n], "big")
            off += n
        val = b[off:off + ln]
        node = [tag, val]
        if tag & 0x20:
            node[1] = parse(b, off, off + ln)
        elif tag == 0x04 and ln > 2 and val[0] in (0x30, 0x31):
            try:
                kids = parse(val)
                if encode(kids) == val:
                    node = [0x104, kids]  # an OCTET STRING wrapping DER
            except (IndexError, ValueError):
                pass
        out.append(node)
        off += ln
    return out


def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    else:
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(nb)]) + nb
    return bytes([tag & 0xFF]) + ln + body


def encode(nodes):
    out = b""
    for tag, val in nodes:
        body = encode(val) if isinstance(val, list) else val
        out += tlv(0x04 if tag == 0x104 else tag, body)
    return out


def integer(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return [0x02, b]


OID_PBES2 = bytes.fromhex("2a864886f70d01050d")
OID_SHROUDED = bytes.fromhex("2a864886f70d010c0a0102")
OID_ENCDATA = bytes.fromhex("2a864886f70d010706")


def set_pbe_iter(alg, count):
    """alg: AlgorithmIdentifier children.  PBES2 -> PBKDF2 params' INTEGER;
    PKCS#12/PKCS#5 v1 PBE -> PBEParameter's INTEGER."""
    params = alg[1][1]
    if alg[0][1] == OID_PBES2:
        params = params[0][1][1][1]  # keyDerivationFunc -> PBKDF2-params
    for i, (tag, _) in enumerate(params):
        if tag == 0x02:
            params[i] = integer(count)
            return True
    return False


def walk(nodes, fn):
    for n in nodes:
        if fn(n):
            return True
        if isinstance(n[1], list) and walk(n[1], fn):
            return True
    return False


def main():
    src, dst, which, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    tree = parse(open(src, "rb").read())
    pfx = tree[0][1]
    done = False
    if which == "mac":
        mac = pfx[2][1]
        mac[2] = integer(count)
        done = True
    elif which == "certs":
        # EncryptedContentInfo: SEQUENCE { OID data, AlgorithmIdentifier, [0] ... }
        def fn(n):
            if n[0] == 0x30 and isinstance(n[1], list) and len(n[1]) >= 2 and n[1][0][0] == 0x02 \
                    and n[1][1][0] == 0x30 and isinstance(n[1][1][1], list) and len(n[1][1][1]) == 3:
                eci = n[1][1][1]
                if eci[1][0] == 0x30 and isinstance(eci[1][1], list):
                    return set_pbe_iter(eci[1][1], count)
            return False
        done = walk(pfx[1][1], fn)
    elif which == "key":
        def fn(n):
            if n[0] == 0x30 and isinstance(n[1], list) and n[1] and n[1][0] == [0x06, OID_SHROUDED]:
                epki = n[1][1][1][0][1]  # [0] { EncryptedPrivateKeyInfo }
                return set_pbe_iter(epki[0][1], count)
            return False
        done = walk(pfx[1][1], fn)
    if not done:
        sys.exit(f"der-iter.py: no {which} iteration count found in {src}")
    open(dst, "wb").write(encode(tree))


main()
