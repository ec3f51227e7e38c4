#!/usr/bin/env python3
"""expiry-mktree.py DIR [FILES] - a tree of FILES (default 100,000) small PEM
certificate files for bench/expiry.sh: 100 directories of 1,000 files, made
from 64 distinct certificates (RSA and EC, varied dates) created with openssl."""
import os
import subprocess
import sys
import tempfile

root = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
per_dir = 1000
os.makedirs(root, exist_ok=True)
pems = []
with tempfile.TemporaryDirectory() as t:
    for i in range(64):
        key = ["-newkey", "rsa:2048"] if i % 4 == 0 else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "req", "-x509", *key, "-nodes", "-keyout", f"{t}/k",
                        "-out", f"{t}/c.pem", "-days", str(10 + 37 * i),
                        "-subj", f"/C=US/ST=CA/O=Bench {i}/OU=Fleet/CN=host{i}.example.com"],
                       check=True, capture_output=True)
        with open(f"{t}/c.pem", "rb") as f:
            pems.append(f.read())
n = 0
d = 0
while n < total:
    sub = os.path.join(root, f"d{d:03d}")
    os.makedirs(sub, exist_ok=True)
    for j in range(min(per_dir, total - n)):
        with open(os.path.join(sub, f"c{j:04d}.pem"), "wb") as f:
            f.write(pems[(n + j) % len(pems)])
    n += min(per_dir, total - n)
    d += 1
print(f"{n} files in {d} directories under {root}")
