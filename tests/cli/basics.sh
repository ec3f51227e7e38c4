#!/usr/bin/env bash
# basics.sh - the command table, --version, --help, usage errors, --json shape.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

mtk --version
expect_eq "--version exits 0" "$RC" 0
expect_match "--version names mtlskit and OpenSSL" '^mtlskit [0-9]+\.[0-9]+\.[0-9]+ \(OpenSSL 3' "$OUT"
mtk --help
expect_match "--help lists every verb" 'inspect.*' "$OUT"
for v in inspect key csr ca renew convert bundle check keystore mid probe expiry; do
	expect_match "--help lists $v" "^  $v " "$OUT"
done
expect_rc 2 "no command is a usage error" "$MTLSKIT"
expect_rc 2 "an unknown command is a usage error" "$MTLSKIT" frobnicate
expect_match "unknown command is named" "not a command: 'frobnicate'" "$ERR"
expect_rc 2 "an unknown global option is a usage error" "$MTLSKIT" --bogus inspect
done_testing
