#!/usr/bin/env bash
# check-docs.sh - the examples of docs/check.md run as written: every ```sh
# block, in order, in an empty directory, with `mtlskit` on the PATH.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

doc="$MTLSKIT_SRC/docs/check.md"
mkdir -p "$T/bin" "$T/work"
ln -s "$MTLSKIT" "$T/bin/mtlskit"
awk '/^```sh$/{on=1; next} /^```$/{on=0} on' "$doc" >"$T/examples.sh"
expect_match "the doc has examples" "mtlskit bundle" "$(cat "$T/examples.sh")"
run env PATH="$T/bin:$PATH" bash -e -c "cd '$T/work' && source '$T/examples.sh'"
expect_eq "the examples run to the end (exit 0)" "$RC" 0
[ "$RC" = 0 ] || _show_last
expect_match "the hand-made bundle: key-not-pkcs8" "error   key-not-pkcs8" "$OUT"
expect_match "the hand-made bundle: pem-crlf" "error   pem-crlf" "$OUT"
expect_match "the hand-made bundle: exit 1" "^exit 1$" "$OUT"
expect_match "openssl verifies the fixed bundle" "^fixed\.pem: OK$" "$OUT"
expect_match "the fixed bundle checks clean" "^OK: no problem found \(profile mid\)$" "$OUT"
expect_match "the parts example flags only the key" "^mid\.key\$" "$OUT"
expect_match "the --within example warns" "warning cert-expiring" "$OUT"
expect_match "the upload-user example lists key-in-upload" "^key-in-upload$" "$OUT"
expect_eq "from parts = from the hand-made bundle" "$(cmp "$T/work/fixed.pem" "$T/work/from-parts.pem" && echo same)" same
expect_eq "from the PFX = the same" "$(cmp "$T/work/fixed.pem" "$T/work/from-pfx.pem" && echo same)" same
expect_mode "the bundle is 0600" "$T/work/fixed.pem" 600
done_testing
