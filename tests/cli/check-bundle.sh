#!/usr/bin/env bash
# check-bundle.sh - `mtlskit bundle`: parts in any order and format become
# leaf -> intermediates -> root -> PKCS#8 key, LF only, no blank lines; what
# openssl says about the result; bad inputs give findings or clear errors.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check-pki.sh"

pki_init
cd "$P" || exit 1

# labels FILE: the PEM labels in order, space-separated
labels() { sed -n 's/^-----BEGIN \(.*\)-----$/\1/p' "$1" | paste -sd' ' -; }
# block FILE N: the Nth PEM block
block() { awk -v n="$2" '/^-----BEGIN/{i++} i==n{print} /^-----END/{if(i==n)exit}' "$1"; }
subj() { openssl x509 -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//'; }

# ---- the Windows-made bundle: BOM, CRLF, 0x1A, PKCS#1 key, shuffled ----
{
	printf '\xef\xbb\xbf'
	cat root.pem
	printf '\x1a'
	cat leaf-pkcs1.key
	echo
	cat inter.pem leaf.pem
	printf '\x1a'
} | sed 's/$/\r/' >win.pem
mtk check --json --profile mid win.pem
expect_eq "the Windows bundle: every problem found" "$(finding_ids)" \
	"chain-order key-not-pkcs8 pem-blank-lines pem-crlf pem-stray-bytes"
expect_rc 0 "bundle fixes it" "$MTLSKIT" bundle win.pem -o fixed.pem
expect_mode "the bundle is 0600 (it holds the key)" fixed.pem 600
expect_eq "no CR left" "$(grep -c $'\r' fixed.pem)" 0
expect_eq "no blank line" "$(grep -c '^$' fixed.pem)" 0
expect_eq "no 0x1A byte" "$(tr -dc '\032' <fixed.pem | wc -c)" 0
expect_eq "no BOM" "$(head -c3 fixed.pem | od -An -tx1 | tr -d ' ')" "2d2d2d"
expect_eq "blocks: three certificates then PRIVATE KEY" "$(labels fixed.pem)" \
	"CERTIFICATE CERTIFICATE CERTIFICATE PRIVATE KEY"
expect_eq "block 1 is the leaf (openssl)" "$(block fixed.pem 1 | subj)" "$(subj <leaf.pem)"
expect_eq "block 2 is the intermediate (openssl)" "$(block fixed.pem 2 | subj)" "$(subj <inter.pem)"
expect_eq "block 3 is the root (openssl)" "$(block fixed.pem 3 | subj)" "$(subj <root.pem)"
run openssl pkey -check -noout -in <(block fixed.pem 4)
expect_match "openssl pkey -check accepts the key" "valid" "$OUT$ERR"
expect_eq "the key is the leaf's (openssl)" "$(block fixed.pem 4 | openssl pkey -pubout)" \
	"$(openssl x509 -in leaf.pem -noout -pubkey)"
expect_eq "byte-for-byte what a careful admin would build" "$(cmp fixed.pem <(cat leaf.pem inter.pem root.pem leaf.key) && echo same)" same
run openssl verify -CAfile root.pem -untrusted <(block fixed.pem 2) -purpose sslclient fixed.pem
expect_eq "openssl verify -CAfile root -untrusted chain: OK" "$OUT" "fixed.pem: OK"
mtk check --json --profile mid fixed.pem
expect_eq "re-checking the bundle: clean" "$(finding_ids)" ""
expect_eq "re-checking the bundle: exit 0" "$RC" 0

# ---- order variant, split, leaf-only, ca-only ----
expect_rc 0 "--order key-after-leaf" "$MTLSKIT" bundle leaf.key root.pem inter.pem leaf.pem --order key-after-leaf -o kal.pem
expect_eq "key-after-leaf: leaf, key, intermediate, root" \
	"$(cmp kal.pem <(cat leaf.pem leaf.key inter.pem root.pem) && echo same)" same
mtk check --json --profile mid kal.pem
expect_eq "key-after-leaf re-checks clean" "$(finding_ids)" ""
mtk bundle leaf.key root.pem inter.pem leaf.pem --split -o split.pem --json
expect_eq "--split: exit 0" "$RC" 0
expect_json "--split: names both files" '.written | join(",")' "split.pem,split-ca.pem"
expect_eq "--split: split.pem is leaf + key" "$(cmp split.pem <(cat leaf.pem leaf.key) && echo same)" same
expect_eq "--split: split-ca.pem is intermediate + root" "$(cmp split-ca.pem <(cat inter.pem root.pem) && echo same)" same
expect_mode "--split: the key file is 0600" split.pem 600
expect_mode "--split: the CA file is public" split-ca.pem 644
run openssl verify -CAfile split-ca.pem split.pem
expect_eq "--split: openssl verifies the leaf with the CA file" "$OUT" "split.pem: OK"
cat leaf.pem inter.pem root.pem leaf.key >good.pem
expect_rc 0 "--leaf-only from a full bundle" "$MTLSKIT" bundle good.pem --leaf-only -o up-user.pem
expect_eq "--leaf-only: the leaf alone" "$(cmp up-user.pem leaf.pem && echo same)" same
mtk check --json --profile upload-user up-user.pem
expect_eq "--leaf-only output passes upload-user" "$(finding_ids)" ""
expect_rc 0 "--ca-only from a full bundle" "$MTLSKIT" bundle good.pem --ca-only -o up-ca.pem
expect_eq "--ca-only: intermediate + root" "$(cmp up-ca.pem <(cat inter.pem root.pem) && echo same)" same
mtk check --json --profile upload-ca up-ca.pem
expect_eq "--ca-only output passes upload-ca" "$(finding_ids)" ""
# issuing + root and no leaf (what sys_ca_certificate gets): the issuing CA
# stands where the leaf would and is kept, never silently dropped
cat inter.pem root.pem >cas-only.pem
run "$MTLSKIT" bundle cas-only.pem --ca-only -o cas-out.pem
expect_match "--ca-only of issuing + root: 1 intermediate -> root" "wrote cas-out.pem: 1 intermediate -> root" "$OUT"
expect_eq "--ca-only of issuing + root: both written, in order" "$(cmp cas-out.pem cas-only.pem && echo same)" same
cat root.pem inter.pem >cas-rev.pem
mtk check --json --profile upload-ca cas-rev.pem
expect_json "upload-ca, root first: chain-order with a command" '[.findings[] | select(.id=="chain-order") | .fix] | .[0]' "mtlskit bundle cas-rev.pem --ca-only -o ca-chain.pem"
run "$MTLSKIT" bundle cas-rev.pem --ca-only -o ca-chain.pem
expect_eq "that command runs" "$RC" 0
mtk check --json --profile upload-ca ca-chain.pem
expect_eq "and its output passes upload-ca" "$RC/$(finding_ids)" "0/"

# ---- the root from --ca / --ca-dir; refusing to write a bad bundle ----
mtk bundle leaf.pem inter.pem leaf.key -o noroot.pem --json
expect_eq "no root: exit 1" "$RC" 1
expect_eq "no root: chain-incomplete" "$(finding_ids)" "chain-incomplete"
expect_json "no root: no command (only the CA has the root)" '.findings[0].fix' "null"
expect_json "no root: the advice adds it with --ca" '.findings[0].advice | test("mtlskit bundle leaf.pem inter.pem leaf.key --ca CA-CHAIN.pem -o fixed.pem")' true
expect_no_file "no root: nothing written" noroot.pem
expect_rc 1 "--force writes anyway (exit 1: the findings stand)" "$MTLSKIT" bundle leaf.pem inter.pem leaf.key -o noroot.pem --force
expect_match "--force: the finding is still printed" "chain-incomplete" "$OUT$ERR"
expect_eq "--force: written, without a root" "$(labels noroot.pem)" "CERTIFICATE CERTIFICATE PRIVATE KEY"
expect_rc 0 "the root from --ca" "$MTLSKIT" bundle leaf.pem inter.pem leaf.key --ca root.pem -o withca.pem
expect_eq "--ca: the root appended" "$(cmp withca.pem good.pem && echo same)" same
mkdir -p cadir && cp root.pem other-root.pem cadir/ && echo "not a cert" >cadir/README
expect_rc 0 "the root from --ca-dir" "$MTLSKIT" bundle leaf.pem leaf.key --ca-dir cadir --ca inter.pem -o withdir.pem
expect_eq "--ca-dir: intermediate and root found" "$(cmp withdir.pem good.pem && echo same)" same
expect_rc 2 "an existing output is not replaced" "$MTLSKIT" bundle good.pem -o withdir.pem
expect_match "and says so" "already exists" "$ERR"

# ---- formats: DER, PKCS#1 DER, encrypted key, PFX, --alias ----
openssl x509 -in leaf.pem -outform DER -out leaf.der
openssl x509 -in inter.pem -outform DER -out inter.der
openssl rsa -in leaf.key -traditional -outform DER -out leaf-pkcs1.der 2>/dev/null
expect_rc 0 "DER certificates and a PKCS#1 DER key" "$MTLSKIT" bundle leaf-pkcs1.der inter.der root.pem leaf.der -o der.pem
expect_eq "DER inputs: the same bundle" "$(cmp der.pem good.pem && echo same)" same
expect_rc 4 "an encrypted key without --pass" "$MTLSKIT" bundle leaf.pem inter.pem root.pem leaf-enc.key -o enc.pem
expect_match "says to give --pass" "give --pass" "$ERR"
export KEY_PASS=secret
expect_rc 0 "an encrypted key with --pass env:" "$MTLSKIT" bundle leaf.pem inter.pem root.pem leaf-enc.key --pass env:KEY_PASS -o enc.pem
expect_eq "the key is decrypted to plain PKCS#8" "$(cmp enc.pem good.pem && echo same)" same
openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile inter.pem -name mykey -passout pass:pw -out a.pfx
pki_leaf srv "/C=GB/CN=mid01.example.com" both
openssl pkcs12 -export -in srv.pem -inkey srv.key -certfile inter.pem -name otherkey -passout pass:pw -out b.pfx
export PFX_PASS=pw
expect_rc 0 "a PFX plus the root" "$MTLSKIT" bundle a.pfx root.pem --pass env:PFX_PASS -o pfx.pem
expect_eq "PFX: the same bundle" "$(cmp pfx.pem good.pem && echo same)" same
expect_rc 0 "--alias picks the key among two PFX" "$MTLSKIT" bundle a.pfx b.pfx root.pem --pass env:PFX_PASS --alias otherkey -o alias.pem
expect_eq "--alias: the leaf of that key" "$(block alias.pem 1 | openssl x509 -noout -fingerprint)" "$(openssl x509 -in srv.pem -noout -fingerprint)"
expect_eq "--alias: its key" "$(block alias.pem 4 | openssl pkey -pubout)" "$(openssl x509 -in srv.pem -noout -pubkey)"
expect_rc 3 "--alias that is not there" "$MTLSKIT" bundle a.pfx --pass env:PFX_PASS --alias nope -o x.pem
expect_match "names the alias" "no private key with the alias 'nope'" "$ERR"
expect_rc 4 "a PFX with the wrong password" "$MTLSKIT" bundle a.pfx --pass pass:wrong -o x.pem

# ---- bad inputs: findings or clear errors, never a crash ----
expect_rc 3 "a key alone (no certificate)" "$MTLSKIT" bundle leaf.key -o x.pem
expect_match "says there is no certificate" "no certificate" "$ERR"
echo "hello" >text.txt
expect_rc 3 "a text file" "$MTLSKIT" bundle text.txt -o x.pem
expect_rc 3 "check: a text file" "$MTLSKIT" check text.txt
mtk bundle leaf.pem inter.pem root.pem other.key -o x.pem --json
expect_eq "a key that matches nothing: key-mismatch, exit 1" "$RC $(finding_ids)" "1 key-mismatch"
expect_no_file "a key that matches nothing: nothing written" x.pem
mtk check --json --profile mid leaf.pem inter.pem root.pem leaf.key other.key
expect_eq "two keys, one unrelated: key-mismatch" "$RC $(finding_ids)" "1 key-mismatch"
mtk bundle leaf.pem inter.pem root.pem leaf.key other.key -o two.pem
expect_eq "two keys: bundle keeps the leaf's key" "$RC $(block two.pem 4 | openssl pkey -pubout | md5sum)" \
	"0 $(openssl x509 -in leaf.pem -noout -pubkey | md5sum)"
mtk bundle leaf.pem inter.pem root.pem leaf.key other.key -o two-json.pem --json
expect_json "two keys: the unrelated key is counted as left out" '.dropped_keys' 1
# A renewal with the same key: the old and the new certificate both match it.
(cd "$P" && openssl ca -batch -config ca.cnf -cert inter.pem -keyfile inter.key -in leaf.csr \
	-out renewed.pem -extensions client -notext -days 700 2>/dev/null)
mtk bundle leaf.pem renewed.pem inter.pem root.pem leaf.key -o renewal.pem --json
expect_eq "renewal: exit 0" "$RC" 0
expect_json "renewal: the older certificate is left out" '.dropped' 1
expect_eq "renewal: the leaf is the newer certificate" "$(block renewal.pem 1 | openssl x509 -noout -enddate)" \
	"$(openssl x509 -in renewed.pem -noout -enddate)"
expect_rc 2 "--json with -o - is a usage error" "$MTLSKIT" bundle good.pem --json -o -
mtk bundle good.pem -o -
expect_eq "-o - writes the bundle to standard output" "$OUT" "$(cat good.pem)"
# A loop: CA A and CA B cross-signed by each other.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ka.key -out a-self.pem -subj "/CN=Loop CA A" -days 365 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout kb.key -out b-self.pem -subj "/CN=Loop CA B" -days 365 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\n' >caext
openssl x509 -req -in <(openssl x509 -x509toreq -in a-self.pem -signkey ka.key 2>/dev/null) -CA b-self.pem -CAkey kb.key -set_serial 7 -days 365 -extfile caext -out a-by-b.pem 2>/dev/null
openssl x509 -req -in <(openssl x509 -x509toreq -in b-self.pem -signkey kb.key 2>/dev/null) -CA a-self.pem -CAkey ka.key -set_serial 8 -days 365 -extfile caext -out b-by-a.pem 2>/dev/null
openssl req -new -key leaf.key -subj "/CN=loop.example.com" -out loop.csr
printf 'extendedKeyUsage=clientAuth\n' >leafext
openssl x509 -req -in loop.csr -CA a-self.pem -CAkey ka.key -set_serial 9 -days 365 -extfile leafext -out loop-leaf.pem 2>/dev/null
cat loop-leaf.pem a-by-b.pem b-by-a.pem leaf.key >loop.pem
mtk check --json --profile mid loop.pem
expect_eq "a chain loop: chain-broken" "$RC $(finding_ids)" "1 chain-broken"
expect_json "the loop is named" '.findings[0].message | test("loop")' true
expect_rc 1 "bundle refuses the loop" "$MTLSKIT" bundle loop.pem -o loopout.pem
# 50 certificates.
for i in $(seq 1 50); do
	openssl req -x509 -key other.key -subj "/CN=n$i.example.com" -days 30 2>/dev/null
done >fifty.pem
mtk check --json fifty.pem
expect_eq "50 unrelated certificates: check runs (exit 0)" "$RC" 0
expect_json "50 certificates: one summary finding" '[.findings[] | select(.id=="chain-broken")] | length' 1
mtk check --json --profile mid fifty.pem
expect_eq "50 certificates as a MID bundle: exit 1" "$RC" 1
expect_json "50 certificates: each stray certificate named" '[.findings[] | select(.id=="chain-broken")] | length' 49
# Binary junk between blocks.
{ cat leaf.pem; head -c 200 /dev/urandom | tr -d '\n-'; echo; cat inter.pem root.pem leaf.key; } >junk.pem
mtk check --json --profile mid junk.pem
expect_json "junk between blocks: pem-stray-bytes" '[.findings[].id] | index("pem-stray-bytes") != null' true
expect_rc 0 "bundle drops the junk" "$MTLSKIT" bundle junk.pem -o nojunk.pem
expect_eq "junk dropped: the clean bundle" "$(cmp nojunk.pem good.pem && echo same)" same
done_testing
