#!/usr/bin/env bash
# check-explicit-ec.sh - EC keys with explicit curve parameters (issue 19,
# item 6): when they are a named curve's, the key is re-encoded with the
# name (Java accepts it); when they match no named curve (here P-256's
# parameters with the generator 2G, a valid curve OpenSSL generates keys
# on), check and bundle refuse it with weak-crypto, as advice, since no tool
# can make such a key usable.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1

# P-256 with explicit parameters: named again on load
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out named.pem 2>/dev/null
openssl pkey -in named.pem -out explicit-p256.pem -ec_param_enc explicit 2>/dev/null ||
	openssl ec -in named.pem -param_enc explicit -out explicit-p256.pem 2>/dev/null
expect_match "fixture: explicit parameters in the file" 'Field Type: prime-field' \
	"$(openssl pkey -in explicit-p256.pem -noout -text 2>&1)"
mtk --json check explicit-p256.pem
expect_eq "explicit P-256: no weak-crypto" "$(printf '%s' "$OUT" | jq -r '[.findings[] | select(.id == "weak-crypto")] | length')" 0

# the same parameters with the generator doubled: no named curve matches
openssl ecparam -name prime256v1 -param_enc explicit -outform DER -out p.der
python3 - <<'PY'
p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
gx = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296
gy = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5
lam = (3 * gx * gx + p - 3) * pow(2 * gy, -1, p) % p
x3 = (lam * lam - 2 * gx) % p
y3 = (lam * (gx - x3) - gy) % p
d = open("p.der", "rb").read()
g = b"\x04" + gx.to_bytes(32, "big") + gy.to_bytes(32, "big")
assert d.count(g) == 1
open("p2.der", "wb").write(d.replace(g, b"\x04" + x3.to_bytes(32, "big") + y3.to_bytes(32, "big")))
PY
openssl ecparam -inform DER -in p2.der -out p2.pem && openssl genpkey -paramfile p2.pem -out custom.pem 2>/dev/null
expect_file "fixture: a key on the unnamed curve" custom.pem
mtk --json check custom.pem
expect_eq "unnamed curve: check exits 1" "$RC" 1
expect_json "unnamed curve: weak-crypto, an error" '[.findings[] | select(.id == "weak-crypto") | .severity] | .[0]' error
expect_match "it says why Java refuses it" 'Only named ECParameters supported' "$(printf '%s' "$OUT" | jq -r '.findings[].message')"
expect_json "its remedy is advice, not a command" '[.findings[] | select(.id == "weak-crypto") | .fix] | .[0]' null
# a certificate for it (signed by a throwaway CA) does not get it into a bundle
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=Throwaway-CA -days 30 2>/dev/null
openssl req -new -key custom.pem -subj /CN=custom.example.com -out custom.csr 2>/dev/null
openssl x509 -req -in custom.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out custom.crt 2>/dev/null
mtk bundle custom.crt ca.pem custom.pem -o bundle.pem
expect_eq "bundle refuses it (exit 1)" "$RC" 1
expect_match "bundle names weak-crypto" 'weak-crypto' "$OUT$ERR"
expect_eq "nothing written" "$([ -e bundle.pem ] && echo written || echo none)" none
done_testing
