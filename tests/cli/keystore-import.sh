#!/usr/bin/env bash
# keystore-import.sh - `keystore import-trusted`: many certificates in one
# command, aliases from the CN, duplicates by fingerprint skipped, one write.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"

export STOREPW=changeit
rm -rf cas same t.jks
mkdir -p cas
mkcert() { # FILE CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
		-out "$1" -days 30 -subj "/CN=$2" 2>/dev/null
}
mkcert cas/a.pem "Team CA"
mkcert cas/b.pem "Team CA"
mkcert cas/c.pem "Other Root"
mkcert lone.pem "Lone CA"
echo "not a certificate" >cas/README
cat cas/a.pem cas/c.pem >two.pem

mtk keystore import-trusted --help
expect_eq "import-trusted --help exits 0" "$RC" 0
expect_rc 2 "import-trusted without a file: usage" "$MTLSKIT" keystore import-trusted t.jks

mtk --json keystore import-trusted t.jks --pass env:STOREPW cas lone.pem
expect_eq "import a directory and a file: exit 0" "$RC" 0
expect_json "four added" '.added_count' 4
expect_json "aliases from the CN, de-duplicated" '[.added[].alias] | join(",")' "team ca,team ca-2,other root,lone ca"
expect_json "the README is skipped, not an error" '[.skipped[] | select(.reason == "not a certificate file") | .source] | join(",")' "cas/README"
expect_json "store has four entries" '.added | length' 4

mtk --json keystore import-trusted t.jks --pass env:STOREPW two.pem
expect_eq "again: exit 0" "$RC" 0
expect_json "nothing added twice" '.added_count' 0
expect_json "both skipped by fingerprint" '[.skipped[] | "\(.alias) \(.reason)"] | join(",")' "team ca already present,other root already present"

mtk --json keystore list t.jks --pass env:STOREPW
expect_json "list: four trusted entries" '[.entries[] | select(.type == "trustedCertEntry")] | length' 4
expect_json "list: the fingerprint of a.pem under its alias" \
	'.entries[] | select(.alias == "team ca") | .certificates[0].sha256 | gsub(":"; "") | ascii_downcase' \
	"$(openssl x509 -in cas/a.pem -outform DER | sha256sum | cut -d' ' -f1)"

mtk keystore import-trusted t.jks --pass env:STOREPW missing.pem
expect_eq "a missing file: exit 1..3, not 0" "$([ "$RC" -ne 0 ] && echo fail)" fail
mtk keystore import-trusted t.jks --pass env:WRONG_UNSET cas
expect_eq "no store written on a refused password" "$([ "$RC" -ne 0 ] && echo refused)" refused

# Many certificates with one CN: every alias distinct, numbered in order.
mkdir -p same
for i in $(seq 1 12); do mkcert "same/s$(printf %02d "$i").pem" "Same Name"; done
mtk --json keystore import-trusted t.jks --pass env:STOREPW same
expect_json "twelve namesakes added" '.added_count' 12
expect_json "namesakes numbered" '[.added[].alias] | join(",")' \
	"same name,same name-2,same name-3,same name-4,same name-5,same name-6,same name-7,same name-8,same name-9,same name-10,same name-11,same name-12"
mtk --json keystore list t.jks --pass env:STOREPW
expect_json "sixteen entries now" '.count' 16
rm -rf same

if command -v keytool >/dev/null 2>&1; then
	run keytool -list -keystore t.jks -storepass changeit
	expect_match "keytool reads the store" "Your keystore contains 16 entries" "$OUT"
	expect_match "keytool sees the de-duplicated alias" "team ca-2, .*trustedCertEntry" "$OUT"
else
	ok "# SKIP keytool not installed"
fi

done_testing
