#!/usr/bin/env python3
"""expiry-py.py DIR - the Python peer for bench/expiry.sh: walk DIR and print
every certificate's notAfter with the `cryptography` package (Debian
python3-cryptography), the way a fleet script would."""
import os
import sys

from cryptography import x509

MARK = b"-----BEGIN CERTIFICATE-----"


def certs(data):
    # load_pem_x509_certificates() is cryptography >= 39; Debian 12 has 38.
    if hasattr(x509, "load_pem_x509_certificates"):
        return x509.load_pem_x509_certificates(data)
    return [x509.load_pem_x509_certificate(MARK + part) for part in data.split(MARK)[1:]]


n = 0
out = []
for root, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
            for cert in certs(data):
                na = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
                out.append((na, path, cert.subject.rfc4514_string()))
                n += 1
        except (OSError, ValueError):
            pass
out.sort()
sys.stdout.write("".join(f"{na} {p} {s}\n" for na, p, s in out))
print(f"{n} certificates", file=sys.stderr)
