#!/usr/bin/env python3
"""keystore-certs.py DIR N - N distinct self-signed CA certificates (EC P-256,
one key, CN "Bench CA NNNNN") as DIR/caNNNNN.pem, for the keystore scale
benchmark (bench/keystore.sh).  Needs python3-cryptography."""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
for i in range(n):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Bench CA {i:05d}"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(i + 1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(os.path.join(out, f"ca{i:05d}.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
