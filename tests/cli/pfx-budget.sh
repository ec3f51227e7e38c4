#!/usr/bin/env bash
# pfx-budget.sh - one key-derivation budget per PKCS#12 file: a PFX with 50
# shrouded key bags at the 5,000,000-iteration cap, and one with 50 bags of
# 1,000,000, are refused by both read paths (the loader behind
# inspect/convert, the keystore codec behind keystore list) after about one
# derivation at the cap: ~0.6-0.7 s of CPU on a quiet machine, printed as a
# diagnostic.  The suite asserts the refusal and only a loose bound on the
# work (20 s; unbounded, these files took minutes), not a speed.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null
# A PFX of 50 copies of one real shrouded key bag (no MAC, one plain safe).
many_bags() { # P8_DER OUT
	python3 - "$1" "$2" <<'PY'
import sys
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body
epki = open(sys.argv[1], "rb").read()
oid_shrouded = bytes.fromhex("060b2a864886f70d010c0a0102")
oid_data = bytes.fromhex("06092a864886f70d010701")
bag = tlv(0x30, oid_shrouded + tlv(0xa0, epki))
safe = tlv(0x30, bag * 50)
authsafe = tlv(0x30, tlv(0x30, oid_data + tlv(0xa0, tlv(0x04, safe))))
pfx = tlv(0x30, bytes.fromhex("020103") + tlv(0x30, oid_data + tlv(0xa0, tlv(0x04, authsafe))))
open(sys.argv[2], "wb").write(pfx)
PY
}
# 50 bags of 1,000,000 iterations: each within the per-derivation cap, the
# sixth over the file's total.
openssl pkcs8 -topk8 -in k.pem -v2 aes-256-cbc -iter 1000000 -passout pass:x -outform DER -out k.p8 2>/dev/null
many_bags k.p8 many.p12
# 50 bags at the cap itself (5,000,000): the first uses the whole budget.
openssl pkcs8 -topk8 -in k.pem -v2 aes-256-cbc -iter 5000000 -passout pass:x -outform DER -out kcap.p8 2>/dev/null
many_bags kcap.p8 cap.p12
expect_file "PFX with 50 shrouded key bags of 1,000,000 iterations" many.p12

# CPU time, not wall clock: the machine running the suite may be busy.
elapsed() { # command...: runs it, sets RC, OUT and MS (user + system CPU)
	local TIMEFORMAT='%3U %3S' t
	t=$({ time run "$@" >/dev/null 2>&1; } 2>&1)
	run "$@"
	MS=$(awk -v a="${t% *}" -v b="${t#* }" 'BEGIN { printf "%d", (a + b) * 1000 }')
}
export PW=x
elapsed "$MTLSKIT" --json inspect --pass env:PW many.p12
expect_json "inspect: refused as too large" '.error.code' MTK_E_TOO_LARGE
expect_match "inspect: the file's total is named" "in all" "$(printf '%s' "$OUT" | jq -r .error.detail)"
diag "inspect: ${MS} ms of CPU"; expect_eq "inspect: bounded work, far from the minutes it took unbounded (${MS} ms CPU < 20 s)" "$([ "$MS" -lt 20000 ] && echo bounded)" bounded

elapsed "$MTLSKIT" --json keystore list --pass env:PW many.p12
expect_json "keystore list: refused as too large" '.error.code' MTK_E_TOO_LARGE
diag "keystore list: ${MS} ms of CPU"; expect_eq "keystore list: bounded work, far from the minutes it took unbounded (${MS} ms CPU < 20 s)" "$([ "$MS" -lt 20000 ] && echo bounded)" bounded

expect_file "PFX with 50 shrouded key bags at the 5,000,000 cap" cap.p12
elapsed "$MTLSKIT" --json inspect --pass env:PW cap.p12
expect_json "at the cap, inspect: refused after one derivation" '.error.code' MTK_E_TOO_LARGE
diag "at the cap, inspect: ${MS} ms of CPU"; expect_eq "at the cap, inspect: bounded work, far from the minutes it took unbounded (${MS} ms CPU < 20 s)" "$([ "$MS" -lt 20000 ] && echo bounded)" bounded
elapsed "$MTLSKIT" --json keystore list --pass env:PW cap.p12
expect_json "at the cap, keystore list: refused" '.error.code' MTK_E_TOO_LARGE
diag "at the cap, keystore list: ${MS} ms of CPU"; expect_eq "at the cap, keystore list: bounded work, far from the minutes it took unbounded (${MS} ms CPU < 20 s)" "$([ "$MS" -lt 20000 ] && echo bounded)" bounded


done_testing
