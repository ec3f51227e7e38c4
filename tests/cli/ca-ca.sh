#!/usr/bin/env bash
# ca-ca.sh - `ca init|sign|revoke|crl`: what openssl says about the chain, the
# extensions and the CRL; refusals (broken CSR, CA:TRUE request, missing or
# half-initialised CA, wrong password); explicit validity; parallel signing.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1

# --- the README demo, exactly ---
expect_rc 0 "ca init (demo)" "$MTLSKIT" ca init lab-ca --name "mtlskit Lab Root CA" --intermediate "mtlskit Lab Issuing CA"
expect_rc 0 "csr create (demo)" "$MTLSKIT" csr create --cn mid01.example.com --org "Example Corp" --locality "San Diego" \
	--state California --country US --usage client --new-key rsa:2048 --key-out client.key -o client.csr
expect_rc 0 "ca sign (demo)" "$MTLSKIT" ca sign lab-ca client.csr --profile client --days 365 -o client.crt --chain-out chain.pem
run openssl verify -CAfile lab-ca/root.crt -untrusted lab-ca/issuing.crt client.crt
expect_eq "openssl verify accepts leaf -> issuing -> root" "$OUT" "client.crt: OK"
run openssl verify -CAfile lab-ca/root.crt -untrusted chain.pem -purpose sslclient client.crt
expect_eq "openssl verify -purpose sslclient with --chain-out" "$OUT" "client.crt: OK"
run openssl verify -CAfile lab-ca/root.crt -untrusted chain.pem -purpose sslserver client.crt
expect_eq "a client certificate is not a server certificate" "$RC" 2
expect_eq "--chain-out is issuing then root" "$(openssl crl2pkcs7 -nocrl -certfile chain.pem | openssl pkcs7 -print_certs -noout | grep '^subject' | tr '\n' '|')" \
	"subject=CN = mtlskit Lab Issuing CA|subject=CN = mtlskit Lab Root CA|"

# root and intermediate extensions
run openssl x509 -in lab-ca/root.crt -noout -text
expect_match "root: CA:TRUE critical" 'Basic Constraints: critical' "$OUT"
expect_match "root: CA:TRUE" 'CA:TRUE' "$OUT"
expect_match "root: keyCertSign, cRLSign critical" 'Key Usage: critical' "$OUT"
expect_match "root: Certificate Sign, CRL Sign" 'Certificate Sign, CRL Sign' "$OUT"
expect_match "root: SKI" 'Subject Key Identifier' "$OUT"
expect_match "root: self-signed" 'Issuer: CN = mtlskit Lab Root CA' "$OUT"
run openssl x509 -in lab-ca/issuing.crt -noout -text
expect_match "intermediate: pathlen 0" 'CA:TRUE, pathlen:0' "$OUT"
expect_match "intermediate: AKI" 'Authority Key Identifier' "$OUT"
expect_match "intermediate issued by the root" 'Issuer: CN = mtlskit Lab Root CA' "$OUT"
expect_mode "root key 0600" lab-ca/root.key 600
expect_mode "issuing key 0600" lab-ca/issuing.key 600
expect_match "CA keys are PKCS#8" 'BEGIN PRIVATE KEY' "$(head -1 lab-ca/root.key)"

# leaf extensions (client profile)
run openssl x509 -in client.crt -noout -text
expect_match "leaf: CA:FALSE" 'CA:FALSE' "$OUT"
expect_match "leaf: digitalSignature, keyEncipherment (RSA)" 'Digital Signature, Key Encipherment' "$OUT"
expect_match "leaf: clientAuth" 'TLS Web Client Authentication' "$OUT"
expect_no_match "leaf: no serverAuth" 'TLS Web Server Authentication' "$OUT"
expect_match "leaf: SKI" 'Subject Key Identifier' "$OUT"
expect_match "leaf: AKI" 'Authority Key Identifier' "$OUT"
expect_match "leaf: SHA-256" 'sha256WithRSAEncryption' "$OUT"
expect_match "leaf: subject from the CSR" 'Subject: C = US, ST = California, L = San Diego, O = Example Corp, CN = mid01.example.com' "$OUT"
expect_match "leaf: version 3" 'Version: 3' "$OUT"
serial=$(openssl x509 -in client.crt -noout -serial | cut -d= -f2)
expect_match "serial is 128 bits (32 hex digits), positive" '^[0-7][0-9A-F]{31}$' "$serial"
expect_file "issued certificate kept in certs/" "lab-ca/certs/$serial.pem"
expect_match "index records it" "^V	$serial	[0-9]{14}Z	-	-	client	CN=mid01.example.com" "$(cat lab-ca/index.txt)"
expect_eq "leaf key is the CSR's" "$(openssl x509 -in client.crt -noout -pubkey)" "$(openssl pkey -in client.key -pubout)"

# --json of sign
"$MTLSKIT" csr create --cn web.example.com --usage server --san DNS:web.example.com,IP:10.0.0.7 --new-key ec:P-256 --key-out web.key -o web.csr >/dev/null 2>&1
mtk --json ca sign lab-ca web.csr --profile server -o web.crt
expect_eq "server sign exit 0" "$RC" 0
expect_json "--json serial" '.serial | test("^[0-9a-f]{32}$")' true
expect_json "--json profile" '.profile' server
run openssl x509 -in web.crt -noout -text
expect_match "server: serverAuth" 'TLS Web Server Authentication' "$OUT"
expect_no_match "server: no clientAuth" 'TLS Web Client Authentication' "$OUT"
expect_match "server: SAN copied" 'DNS:web.example.com, IP Address:10.0.0.7' "$OUT"
expect_eq "server: EC leaf digitalSignature only" "$(echo "$OUT" | grep -A1 'Key Usage: critical' | tail -1 | tr -d ' ')" "DigitalSignature"
run openssl verify -CAfile lab-ca/root.crt -untrusted lab-ca/issuing.crt -purpose sslserver web.crt
expect_eq "openssl verify -purpose sslserver" "$OUT" "web.crt: OK"
# server profile needs a SAN
"$MTLSKIT" csr create --cn web2.example.com --usage server --new-key ec:P-256 --key-out web2.key -o web2.csr >/dev/null 2>&1
mtk --json ca sign lab-ca web2.csr --profile server -o web2.crt
expect_eq "server profile without SAN: refused (exit 1)" "$RC" 1
expect_json "server without SAN: MTK_E_CSR_POLICY" '.error.code' MTK_E_CSR_POLICY
expect_no_file "server without SAN: nothing written" web2.crt
# a request's own extensions beyond SAN are not copied (KU/EKU come from the profile)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout x.key -subj /CN=x.example.com \
	-addext "extendedKeyUsage=codeSigning" -addext "keyUsage=critical,keyCertSign" -out x.csr 2>/dev/null
expect_rc 0 "sign a request that asks for other usages" "$MTLSKIT" ca sign lab-ca x.csr --profile client -o x.crt
run openssl x509 -in x.crt -noout -text
expect_no_match "requested codeSigning not copied" 'Code Signing' "$OUT"
expect_no_match "requested keyCertSign not copied" 'Certificate Sign' "$OUT"
expect_match "profile's clientAuth set" 'TLS Web Client Authentication' "$OUT"

# --- refusals ---
# broken signature: flip the last byte of the DER
openssl req -in client.csr -outform DER -out good.der
python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[-1]^=1; open(sys.argv[2],"wb").write(d)' good.der broken.der
mtk --json ca sign lab-ca broken.der --profile client -o broken.crt
expect_eq "broken CSR signature: exit 3" "$RC" 3
expect_json "broken CSR: MTK_E_CSR_SIGNATURE" '.error.code' MTK_E_CSR_SIGNATURE
expect_json "broken CSR: the file is named" '.error.detail | startswith("broken.der")' true
expect_no_file "broken CSR: nothing written" broken.crt
expect_rc 0 "the unbroken DER request signs" "$MTLSKIT" ca sign lab-ca good.der --profile client -o good.crt
# a request for a CA certificate
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key -subj "/CN=Evil Sub CA" \
	-addext "basicConstraints=critical,CA:TRUE" -out evil.csr 2>/dev/null
nidx=$(grep -c '^[VR]' lab-ca/index.txt)
mtk --json ca sign lab-ca evil.csr --profile client -o evil.crt
expect_eq "CA:TRUE request refused: exit 1" "$RC" 1
expect_json "CA:TRUE request: MTK_E_CSR_POLICY" '.error.code' MTK_E_CSR_POLICY
expect_no_file "CA:TRUE request: nothing written" evil.crt
expect_eq "CA:TRUE request: nothing recorded" "$(grep -c '^[VR]' lab-ca/index.txt)" "$nidx"
openssl req -new -key evil.key -subj "/CN=ok.example.com" -addext "basicConstraints=critical,CA:FALSE" -out notca.csr 2>/dev/null
expect_rc 0 "CA:FALSE request is signed" "$MTLSKIT" ca sign lab-ca notca.csr -o notca.crt
openssl req -new -key evil.key -subj "/" -out empty.csr 2>/dev/null
mtk --json ca sign lab-ca empty.csr -o empty.crt
expect_eq "empty subject and no SAN: MTK_E_CSR_POLICY" "$RC/$(printf '%s' "$OUT" | jq -r .error.code)" "1/MTK_E_CSR_POLICY"
# not a CSR
expect_rc 3 "a certificate instead of a CSR: exit 3" "$MTLSKIT" ca sign lab-ca client.crt -o nc.crt
expect_no_file "not a CSR: nothing written" nc.crt
# missing / half-initialised CA
mtk --json ca sign no-such-ca client.csr -o m1.crt
expect_eq "missing CA directory: exit 3" "$RC" 3
expect_json "missing CA: MTK_E_CA_STATE" '.error.code' MTK_E_CA_STATE
mkdir empty-ca
mtk --json ca sign empty-ca client.csr -o m2.crt
expect_json "empty directory: MTK_E_CA_STATE" '.error.code' MTK_E_CA_STATE
for f in index.txt root.crt issuing.key issuing.crt; do
	rm -rf half && cp -a lab-ca half && rm -f "half/$f"
	mtk --json ca sign half client.csr -o m3.crt
	expect_eq "half-initialised CA without $f: exit 3 MTK_E_CA_STATE" "$RC/$(printf '%s' "$OUT" | jq -r .error.code)" "3/MTK_E_CA_STATE"
	expect_no_file "half CA without $f: nothing written" m3.crt
done
rm -rf half && cp -a lab-ca half && printf 'V\tNOTHEX\tbad\n' >>half/index.txt
mtk --json ca sign half client.csr -o m4.crt
expect_eq "corrupt index: MTK_E_CA_STATE" "$RC/$(printf '%s' "$OUT" | jq -r .error.code)" "3/MTK_E_CA_STATE"
expect_json "corrupt index: line named" '.error.detail | test("index.txt:[0-9]+")' true
rm -rf half && cp -a lab-ca half && cp lab-ca/root.key half/issuing.key
mtk --json ca sign half client.csr -o m5.crt
expect_eq "key that does not match the CA: MTK_E_CA_STATE" "$RC/$(printf '%s' "$OUT" | jq -r .error.code)" "3/MTK_E_CA_STATE"
expect_rc 2 "ca init into a non-empty directory" "$MTLSKIT" ca init lab-ca --name X
expect_rc 2 "ca init without --name" "$MTLSKIT" ca init new-ca
expect_no_file "no CA made without --name" new-ca
expect_rc 2 "existing -o is not replaced" "$MTLSKIT" ca sign lab-ca client.csr -o client.crt
expect_eq "nothing issued when -o exists" "$(grep -c '^[VR]' lab-ca/index.txt)" "$(ls lab-ca/certs | wc -l)"

# --- explicit validity (backdating, expired, not yet valid) ---
expect_rc 0 "--not-before/--not-after ISO form" "$MTLSKIT" ca sign lab-ca client.csr -o old.crt \
	--not-before 2020-01-01T00:00:00Z --not-after 2021-01-01T00:00:00Z
expect_eq "notBefore as asked" "$(openssl x509 -in old.crt -noout -startdate)" "notBefore=Jan  1 00:00:00 2020 GMT"
expect_eq "notAfter as asked" "$(openssl x509 -in old.crt -noout -enddate)" "notAfter=Jan  1 00:00:00 2021 GMT"
run openssl verify -CAfile lab-ca/root.crt -untrusted lab-ca/issuing.crt old.crt
expect_match "openssl: expired" 'certificate has expired' "$OUT$ERR"
expect_rc 0 "--not-before/--not-after GeneralizedTime form" "$MTLSKIT" ca sign lab-ca client.csr -o future.crt \
	--not-before 20990101000000Z --not-after 20991231235959Z
expect_eq "notAfter 2099 (GeneralizedTime)" "$(openssl x509 -in future.crt -noout -enddate)" "notAfter=Dec 31 23:59:59 2099 GMT"
run openssl verify -CAfile lab-ca/root.crt -untrusted lab-ca/issuing.crt future.crt
expect_match "openssl: not yet valid" 'certificate is not yet valid' "$OUT$ERR"
expect_rc 0 "--not-before date only + --days" "$MTLSKIT" ca sign lab-ca client.csr -o d.crt --not-before 2024-02-29 --days 1
expect_eq "date-only form is midnight UTC" "$(openssl x509 -in d.crt -noout -startdate)" "notBefore=Feb 29 00:00:00 2024 GMT"
expect_eq "--days counts from --not-before" "$(openssl x509 -in d.crt -noout -enddate)" "notAfter=Mar  1 00:00:00 2024 GMT"
expect_rc 0 "--not-after 2050 crosses to GeneralizedTime" "$MTLSKIT" ca sign lab-ca client.csr -o g.crt --not-before 2049-12-31T00:00:00Z --not-after 2050-01-02T00:00:00Z
expect_eq "2050 notAfter" "$(openssl x509 -in g.crt -noout -enddate)" "notAfter=Jan  2 00:00:00 2050 GMT"
for bad in 2023-02-29 2024-13-01 2024-01-01T25:00:00Z 1949-12-31 yesterday 2024-01-01T00:00:00 ""; do
	expect_rc 2 "bad time '$bad' is a usage error" "$MTLSKIT" ca sign lab-ca client.csr -o bad.crt --not-before "$bad"
done
expect_rc 2 "notAfter before notBefore" "$MTLSKIT" ca sign lab-ca client.csr -o bad.crt --not-before 2024-01-02 --not-after 2024-01-01
expect_rc 2 "--days and --not-after together" "$MTLSKIT" ca sign lab-ca client.csr -o bad.crt --days 3 --not-after 2030-01-01
expect_no_file "bad times: nothing written" bad.crt

# --- revoke and CRL ---
expect_rc 0 "revoke by certificate file" "$MTLSKIT" ca revoke lab-ca client.crt --reason keyCompromise
expect_match "index marks it revoked" "^R	$serial	[0-9]{14}Z	[0-9]{14}Z	keyCompromise	client	" "$(cat lab-ca/index.txt)"
wserial=$(openssl x509 -in web.crt -noout -serial | cut -d= -f2)
expect_rc 0 "revoke by serial with colons, lower case" "$MTLSKIT" ca revoke lab-ca "$(echo "$wserial" | tr A-F a-f | sed 's/../&:/g; s/:$//')"
nserial=$(openssl x509 -in notca.crt -noout -serial | cut -d= -f2)
expect_rc 0 "revoke by serial without leading zeros (keytool's form)" "$MTLSKIT" ca revoke lab-ca "$(echo "$nserial" | sed 's/^0*//' | tr A-F a-f)"
expect_match "index has the revoked serial in openssl's form" "^R	$nserial	" "$(cat lab-ca/index.txt)"
expect_rc 2 "revoking twice" "$MTLSKIT" ca revoke lab-ca client.crt
expect_rc 3 "revoking an unknown serial: exit 3" "$MTLSKIT" ca revoke lab-ca 0123456789
expect_rc 2 "unknown reason" "$MTLSKIT" ca revoke lab-ca good.crt --reason because
mtk --json ca crl lab-ca -o crl.pem
expect_eq "ca crl exit 0" "$RC" 0
expect_json "CRL lists 3 revoked" '.revoked' 3
expect_json "CRL number 1" '.crl_number' 1
run openssl crl -in crl.pem -CAfile lab-ca/issuing.crt -noout
expect_match "openssl verifies the CRL signature with the issuing CA" 'verify OK' "$OUT$ERR"
run openssl crl -in crl.pem -noout -text
expect_match "CRL: version 2" 'Version 2' "$OUT"
expect_match "CRL: issuer is the issuing CA" 'Issuer: CN = mtlskit Lab Issuing CA' "$OUT"
expect_match "CRL: CRL number" 'X509v3 CRL Number' "$OUT"
expect_match "CRL: AKI" 'Authority Key Identifier' "$OUT"
expect_match "CRL: revoked serial" "Serial Number: $serial" "$OUT"
expect_match "CRL: reason keyCompromise" 'Key Compromise' "$OUT"
cat lab-ca/root.crt lab-ca/issuing.crt >cas.pem
run openssl verify -crl_check -CRLfile crl.pem -CAfile cas.pem client.crt
expect_match "openssl verify -crl_check rejects the revoked certificate" 'certificate revoked' "$OUT$ERR"
expect_eq "revoked: verify fails" "$RC" 2
run openssl verify -crl_check -CRLfile crl.pem -CAfile cas.pem good.crt
expect_eq "openssl verify -crl_check accepts an unrevoked certificate" "$OUT" "good.crt: OK"
expect_rc 0 "second CRL" "$MTLSKIT" --json ca crl lab-ca -o crl2.pem --days 7
expect_match "CRL number increases" 'X509v3 CRL Number: *\n? *2|CRL Number: 2' "$(openssl crl -in crl2.pem -noout -text | tr -d '\n' | tr -s ' ' | grep -o 'CRL Number: [0-9]*')"

# --- the whole chain in one file (default --scope chain) ---
# openssl crl reads only a file's first block: split the file, one CRL a file.
split_crls() { awk -v pre="$2" '/BEGIN X509 CRL/{n++} n{print > (pre n ".pem")}' "$1"; }
expect_json "--json names the scope" '.scope' chain
expect_json "two CRLs in the file" '.crls | length' 2
expect_json "first: the issuing CA's" '.crls[0].issuer' "mtlskit Lab Issuing CA"
expect_json "second: the root's" '.crls[1].issuer' "mtlskit Lab Root CA"
expect_json "the root's CRL lists nothing" '.crls[1].revoked' 0
expect_match "next_update is RFC 3339" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$(printf '%s' "$OUT" | jq -r '.crls[0].next_update')"
run openssl storeutl -noout -crls crl2.pem
expect_match "openssl storeutl finds two CRLs" 'Total found: 2' "$OUT$ERR"
split_crls crl2.pem part
run openssl crl -in part1.pem -CAfile lab-ca/issuing.crt -noout -text
expect_match "block 1 verifies with the issuing CA" 'verify OK' "$OUT$ERR"
expect_match "block 1: issuer is the issuing CA" 'Issuer: CN = mtlskit Lab Issuing CA' "$OUT"
expect_match "block 1 lists the revoked leaf" "Serial Number: $serial" "$OUT"
run openssl crl -in part2.pem -CAfile lab-ca/root.crt -noout -text
expect_match "block 2 verifies with the root" 'verify OK' "$OUT$ERR"
expect_match "block 2: issuer is the root" 'Issuer: CN = mtlskit Lab Root CA' "$OUT"
expect_match "block 2: no revoked certificates" 'No Revoked Certificates' "$OUT"
expect_match "block 2: its own CRL number (the root's first is 2: crl.pem took 1)" 'CRL Number: 2' "$(printf '%s' "$OUT" | tr -d '\n' | tr -s ' ')"
expect_eq "each CA keeps its own counter" "$(cat lab-ca/crlnumber)/$(cat lab-ca/root.crlnumber)" "2/2"
run openssl verify -crl_check_all -CRLfile crl2.pem -CAfile cas.pem good.crt
expect_eq "openssl verify -crl_check_all accepts an unrevoked certificate" "$OUT" "good.crt: OK"
run openssl verify -crl_check_all -CRLfile crl2.pem -CAfile cas.pem client.crt
expect_match "openssl verify -crl_check_all: certificate revoked" 'certificate revoked' "$OUT$ERR"
expect_eq "revoked: -crl_check_all fails" "$RC" 2
mtk --json ca crl lab-ca -o leaf.pem --scope leaf
expect_eq "--scope leaf exit 0" "$RC" 0
expect_json "--scope leaf: one CRL" '.crls | length' 1
expect_json "--scope leaf: the issuing CA's, number 3" '.crl_number' 3
expect_eq "--scope leaf leaves the root's counter alone" "$(cat lab-ca/root.crlnumber)" 2
run openssl verify -crl_check_all -CRLfile leaf.pem -CAfile cas.pem good.crt
expect_match "the issuing CA's CRL alone does not satisfy -crl_check_all" 'unable to get certificate CRL' "$OUT$ERR"
run openssl verify -crl_check -CRLfile leaf.pem -CAfile cas.pem good.crt
expect_eq "the issuing CA's CRL alone satisfies -crl_check" "$OUT" "good.crt: OK"
expect_rc 2 "--scope other" "$MTLSKIT" ca crl lab-ca -o z.pem --scope root
expect_rc 2 "--scope does not apply to sign" "$MTLSKIT" ca sign lab-ca client.csr -o z.crt --scope leaf
# A CA made before the root had a counter: the root's count starts at 1.
rm lab-ca/root.crlnumber
mtk --json ca crl lab-ca -o crl3.pem
expect_json "missing root.crlnumber counts as 0" '.crls[1].crl_number' 1
expect_eq "and is created" "$(cat lab-ca/root.crlnumber)" 1
printf 'x\n' >lab-ca/root.crlnumber
mtk --json ca crl lab-ca -o crl4.pem
expect_eq "malformed root.crlnumber: exit 3" "$RC/$(printf '%s' "$OUT" | jq -r .error.code)" "3/MTK_E_CA_STATE"
expect_no_file "malformed root.crlnumber: nothing written" crl4.pem
expect_eq "malformed root.crlnumber: the issuing counter did not move" "$(cat lab-ca/crlnumber)" 4
echo 1 >lab-ca/root.crlnumber
# Parallel CRLs: the lock keeps every number unique, per CA.
pids=""
for i in $(seq 1 6); do
	"$MTLSKIT" ca crl lab-ca -o "pcrl-$i.pem" >/dev/null 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
expect_eq "6 parallel ca crl all succeed" "$fails" 0
nums=""
for i in $(seq 1 6); do
	split_crls "pcrl-$i.pem" "pc$i-"
	nums="$nums $(openssl crl -in "pc$i-1.pem" -noout -crlnumber | cut -d= -f2):$(openssl crl -in "pc$i-2.pem" -noout -crlnumber | cut -d= -f2)"
done
expect_eq "6 distinct issuing CRL numbers" "$(printf '%s\n' $nums | cut -d: -f1 | sort -u | wc -l)" 6
expect_eq "6 distinct root CRL numbers" "$(printf '%s\n' $nums | cut -d: -f2 | sort -u | wc -l)" 6
expect_eq "counters end at 10 and 7" "$(cat lab-ca/crlnumber)/$(cat lab-ca/root.crlnumber)" "10/7"

# ca list
mtk --json ca list lab-ca
expect_eq "ca list exit 0" "$RC" 0
# one entry per serial: a revocation is a revoked line appended after the
# valid one (docs/ca.md)
expect_json "ca list: one entry per serial in the index" '.certificates | length' "$(grep '^[VR]' lab-ca/index.txt | cut -f2 | sort -u | wc -l)"
expect_eq "the revoked serial: its valid line, then its revoked line" "$(grep -P "^[VR]\t$serial\t" lab-ca/index.txt | cut -f1 | tr -d '\n')" VR
expect_json "ca list: the revoked one with its reason" ".certificates[] | select(.serial==\"$serial\") | .reason" keyCompromise
run "$MTLSKIT" ca list lab-ca
expect_match "ca list text names the subject" 'CN=mid01.example.com' "$OUT"
expect_rc 3 "ca list of a missing CA: exit 3" "$MTLSKIT" ca list no-such-ca

# --- root-only CA, P-384, CRL URL, encrypted CA keys ---
export CAPW=ca-secret WRONGPW=nope
expect_rc 0 "root-only P-384 CA with --crl-url and --out-pass" "$MTLSKIT" ca init p384-ca --name "P384 Root" --key-type ec:P-384 \
	--crl-url http://pki.example.com/root.crl --out-pass env:CAPW --days 30
expect_match "CA key encrypted" 'BEGIN ENCRYPTED PRIVATE KEY' "$(head -1 p384-ca/root.key)"
expect_no_file "no intermediate" p384-ca/issuing.crt
expect_match "P-384 root signs with SHA-384" 'ecdsa-with-SHA384' "$(openssl x509 -in p384-ca/root.crt -noout -text)"
mtk --json ca sign p384-ca web.csr --profile server -o p.crt
expect_eq "encrypted CA key without --pass: exit 4" "$RC/$(printf '%s' "$OUT" | jq -r .error.code)" "4/MTK_E_PASSWORD_NEEDED"
expect_rc 4 "encrypted CA key with the wrong --pass: exit 4" "$MTLSKIT" ca sign p384-ca web.csr --profile server -o p.crt --pass env:WRONGPW
expect_no_file "wrong CA password: nothing written" p.crt
expect_rc 0 "sign with --pass" "$MTLSKIT" ca sign p384-ca web.csr --profile server -o p.crt --pass env:CAPW
run openssl x509 -in p.crt -noout -text
expect_match "leaf of a P-384 CA: SHA-384" 'ecdsa-with-SHA384' "$OUT"
expect_match "CRL distribution point" 'URI:http://pki.example.com/root.crl' "$OUT"
run openssl verify -CAfile p384-ca/root.crt p.crt
expect_eq "root-only chain verifies" "$OUT" "p.crt: OK"
expect_rc 0 "revoke needs no key password" "$MTLSKIT" ca revoke p384-ca p.crt --reason superseded
expect_rc 4 "crl needs the key password" "$MTLSKIT" ca crl p384-ca -o pcrl.pem
expect_rc 0 "crl with --pass" "$MTLSKIT" ca crl p384-ca -o pcrl.pem --pass env:CAPW
run openssl crl -in pcrl.pem -CAfile p384-ca/root.crt -noout
expect_match "P-384 CRL verifies" 'verify OK' "$OUT$ERR"
expect_rc 3 "revoke a certificate of another CA: exit 3" "$MTLSKIT" ca revoke p384-ca client.crt

# Ed25519 CA works end to end
expect_rc 0 "Ed25519 CA" "$MTLSKIT" ca init ed-ca --name "Ed Root" --intermediate "Ed Issuing" --key-type ed25519
expect_rc 0 "Ed25519 CA signs" "$MTLSKIT" ca sign ed-ca client.csr -o ed.crt --chain-out ed-chain.pem
run openssl verify -CAfile ed-ca/root.crt -untrusted ed-chain.pem ed.crt
expect_eq "openssl verifies the Ed25519 chain" "$OUT" "ed.crt: OK"
mtk --json ca crl ed-ca -o ed.crl
expect_json "an empty CRL counts 0 revoked (not -1)" '.revoked' 0
expect_json "an empty CRL: 0 in each" '[.crls[].revoked] | join(",")' "0,0"
run "$MTLSKIT" ca crl ed-ca -o ed2.crl
expect_match "text names both CRLs" 'CRL of Ed Issuing: number 2, 0 revoked certificates' "$OUT"
expect_match "text names the root's" 'CRL of Ed Root: number 2, 0 revoked certificates' "$OUT"
run openssl verify -crl_check_all -CRLfile ed.crl -CAfile ed-chain.pem ed.crt
expect_eq "Ed25519 chain CRLs satisfy -crl_check_all" "$OUT" "ed.crt: OK"
expect_rc 0 "encrypted CA with an intermediate" "$MTLSKIT" ca init enc-ca --name "Enc Root" --intermediate "Enc Issuing" \
	--key-type ec:P-256 --out-pass env:CAPW
expect_rc 4 "chain crl needs the key password" "$MTLSKIT" ca crl enc-ca -o enc.crl
expect_rc 4 "chain crl with the wrong password" "$MTLSKIT" ca crl enc-ca -o enc.crl --pass env:WRONGPW
expect_eq "a refused crl moves no counter" "$(cat enc-ca/crlnumber)/$(cat enc-ca/root.crlnumber)" "0/0"
mtk --json ca crl enc-ca -o enc.crl --pass env:CAPW
expect_json "chain crl with --pass reads both keys" '[.crls[].crl_number] | join(",")' "1,1"

# --- parallel signing: unique serials, complete index ---
expect_rc 0 "CA for the parallel test" "$MTLSKIT" ca init par-ca --name "Par Root" --key-type ec:P-256
"$MTLSKIT" csr create --cn p.example.com --new-key ec:P-256 --key-out p.key -o p.csr >/dev/null 2>&1
pids=""
for i in $(seq 1 12); do
	"$MTLSKIT" ca sign par-ca p.csr -o "par-$i.crt" >/dev/null 2>"par-$i.err" &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
expect_eq "12 parallel signs all succeed" "$fails" 0
expect_eq "12 index entries" "$(grep -c '^V' par-ca/index.txt)" 12
expect_eq "12 unique serials in the index" "$(grep '^V' par-ca/index.txt | cut -f2 | sort -u | wc -l)" 12
expect_eq "12 unique serials issued" "$(for i in $(seq 1 12); do openssl x509 -in par-$i.crt -noout -serial; done | sort -u | wc -l)" 12
expect_eq "12 certificates kept" "$(ls par-ca/certs | wc -l)" 12
expect_eq "no temporary files left" "$(ls -a par-ca | grep -c tmp)" 0

# --- the index is only appended to (docs/ca.md, "How the index is kept") ---
expect_rc 0 "CA for the append test" "$MTLSKIT" ca init app-ca --name "App Root" --key-type ec:P-256
for i in 1 2 3; do "$MTLSKIT" ca sign app-ca p.csr -o "app-$i.crt" >/dev/null 2>&1; done
cp app-ca/index.txt app-before.txt
expect_rc 0 "revoke one of three" "$MTLSKIT" ca revoke app-ca app-2.crt --reason superseded
expect_eq "revoke keeps every byte and appends one line" \
	"$(cmp -n "$(stat -c %s app-before.txt)" app-before.txt app-ca/index.txt && echo same)/$(($(wc -l <app-ca/index.txt) - $(wc -l <app-before.txt)))" "same/1"
expect_rc 2 "revoking it again: already revoked (exit 2, docs/ca.md)" "$MTLSKIT" ca revoke app-ca app-2.crt
expect_match "already revoked is said" 'already revoked' "$ERR"
# An interrupted append (a process killed in its write) leaves a line
# without its newline: no command reads it, the next append writes over it.
printf 'V\t7F0011' >>app-ca/index.txt
mtk --json ca list app-ca
expect_json "a torn last line is not an entry" '.certificates | length' 3
expect_rc 0 "sign after a torn append" "$MTLSKIT" ca sign app-ca p.csr -o app-4.crt
expect_eq "the torn bytes are gone, every line whole" "$(grep -c 7F0011 app-ca/index.txt)/$(tail -c1 app-ca/index.txt | od -An -c | tr -d ' ')" '0/\n'
mtk --json ca list app-ca
expect_json "four entries, one revoked" '[.certificates[] | .status] | sort | join(",")' "revoked,valid,valid,valid"
# kill -9 at random moments of sign and revoke on a 20,000-line index: what
# was there stays byte for byte, every command after it reads the index.
awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) printf "V\t%08X%08X%04X\t20300101000000Z\t-\t-\tclient\tCN=filler %d\n", int(rand() * 2^31), int(rand() * 2^31), i, i }' >>app-ca/index.txt
broken=0
for i in $(seq 1 20); do
	cp app-ca/index.txt app-prev.txt
	if [ $((i % 2)) -eq 0 ]; then
		"$MTLSKIT" ca revoke app-ca "$(sed -n "$((i + 10))p" app-prev.txt | cut -f2)" >/dev/null 2>&1 &
	else
		"$MTLSKIT" ca sign app-ca p.csr -o "app-k$i.crt" --force >/dev/null 2>&1 &
	fi
	pid=$!
	sleep "0.00$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# every byte up to the last newline stays (a torn line after it, from
	# an earlier kill, is written over by design)
	kept=$(python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(d.rfind(b"\n") + 1)' app-prev.txt)
	cmp -s -n "$kept" app-prev.txt app-ca/index.txt || broken=$((broken + 1))
	"$MTLSKIT" ca list app-ca >/dev/null 2>&1 || broken=$((broken + 1))
done
expect_eq "20 kill -9 during sign/revoke: earlier bytes kept, index readable" "$broken" 0
expect_rc 0 "sign after the kills" "$MTLSKIT" ca sign app-ca p.csr -o app-5.crt
expect_eq "no temporary files left by the appends" "$(ls -a app-ca | grep -c tmp)" 0

# help
expect_rc 0 "ca --help" "$MTLSKIT" ca --help
expect_match "ca help lists sign" 'sign' "$OUT"
for s in init sign revoke crl list; do expect_rc 0 "ca $s --help" "$MTLSKIT" ca "$s" --help; done
expect_rc 2 "ca sign with an option of another sub-command" "$MTLSKIT" ca sign lab-ca client.csr -o z.crt --reason keyCompromise
done_testing
