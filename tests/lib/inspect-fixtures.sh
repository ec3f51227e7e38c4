# inspect-fixtures.sh - sourced by tests/*/inspect-*.sh after tap.sh.
#
# Makes, in $T with openssl, a small PKI and every kind of input inspect
# meets: root -> intermediate -> leaf (client cert with SANs, key usage,
# EKU), the leaf key in PKCS#8 / PKCS#1 / SEC1 / encrypted forms, a CSR, a
# CRL made by `openssl ca`, PKCS#7 and PFX files of every flavour.
#   mk_pki        root.pem inter.pem leaf.pem (+ .key), bundle.pem (leaf, inter, root)
#   mk_csr        leaf.csr (PEM) and leaf.csr.der
#   mk_crl        crl.pem / crl.der, revoking the leaf (keyCompromise) and one other
#   mk_keys       key-pkcs1.pem key-sec1.pem key-pkcs8-enc.pem key-legacy-enc.pem key-ed25519.pem
#   mk_pfx        modern.p12 legacy.p12 3des.p12 nomac.p12 emptypw.p12  (password: $PFXPW)
PFXPW=Secret-123
export PFXPW KEYPW=Key-456

_ossl() { openssl "$@" >/dev/null 2>&1 || { diag "openssl $* failed"; return 1; }; }

mk_pki() {
	(
		cd "$T" || exit 1
		cat >ext.cnf <<-'EOF'
			[root]
			basicConstraints = critical,CA:TRUE
			keyUsage = critical,keyCertSign,cRLSign
			subjectKeyIdentifier = hash
			[inter]
			basicConstraints = critical,CA:TRUE,pathlen:0
			keyUsage = critical,keyCertSign,cRLSign
			subjectKeyIdentifier = hash
			authorityKeyIdentifier = keyid
			[leaf]
			basicConstraints = CA:FALSE
			keyUsage = critical,digitalSignature,keyEncipherment
			extendedKeyUsage = clientAuth,serverAuth
			subjectAltName = DNS:mid01.example.com,DNS:mid01,IP:10.1.2.3,email:ops@example.com
			subjectKeyIdentifier = hash
			authorityKeyIdentifier = keyid
		EOF
		_ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
			-out root.pem -days 3650 -subj "/C=US/O=Example Corp/CN=Example Root CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
		_ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr \
			-subj "/C=US/O=Example Corp/CN=Example Issuing CA"
		_ossl x509 -req -in inter.csr -CA root.pem -CAkey root.key -set_serial 0x1001 -days 1825 \
			-extfile ext.cnf -extensions inter -out inter.pem
		_ossl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.req \
			-subj "/C=US/O=Example Corp/CN=mid01.example.com"
		_ossl x509 -req -in leaf.req -CA inter.pem -CAkey inter.key -set_serial 0x0A1B2C3D4E5F -days 365 \
			-extfile ext.cnf -extensions leaf -out leaf.pem
		cat leaf.pem inter.pem root.pem >bundle.pem
	)
}

mk_csr() {
	(
		cd "$T" || exit 1
		_ossl req -new -key leaf.key -subj "/C=US/O=Example Corp/CN=mid02.example.com" \
			-addext "subjectAltName=DNS:mid02.example.com" -addext "extendedKeyUsage=clientAuth" \
			-addext "keyUsage=digitalSignature" -out leaf.csr
		_ossl req -in leaf.csr -outform DER -out leaf.csr.der
	)
}

mk_crl() {
	(
		cd "$T" || exit 1
		mkdir -p cadb && : >cadb/index.txt && echo 1000 >cadb/crlnumber
		cat >ca.cnf <<-EOF
			[ca]
			default_ca = d
			[d]
			database = $T/cadb/index.txt
			crlnumber = $T/cadb/crlnumber
			default_md = sha256
			default_crl_days = 30
			certificate = $T/inter.pem
			private_key = $T/inter.key
		EOF
		_ossl req -x509 -newkey rsa:2048 -nodes -keyout other.key -subj /CN=other -out other.pem -days 10
		_ossl ca -config ca.cnf -revoke leaf.pem -crl_reason keyCompromise
		_ossl ca -config ca.cnf -revoke other.pem
		_ossl ca -config ca.cnf -gencrl -out crl.pem
		_ossl crl -in crl.pem -outform DER -out crl.der
	)
}

mk_keys() {
	(
		cd "$T" || exit 1
		_ossl rsa -in leaf.key -traditional -out key-pkcs1.pem
		_ossl ecparam -name prime256v1 -genkey -noout -out key-sec1.pem
		_ossl pkcs8 -topk8 -v2 aes-256-cbc -in leaf.key -passout env:KEYPW -out key-pkcs8-enc.pem
		_ossl rsa -in leaf.key -traditional -aes256 -passout env:KEYPW -out key-legacy-enc.pem
		_ossl genpkey -algorithm ed25519 -out key-ed25519.pem
		_ossl pkcs8 -topk8 -nocrypt -in leaf.key -outform DER -out key-pkcs8.der
	)
}

mk_pfx() {
	(
		cd "$T" || exit 1
		cat inter.pem root.pem >cas.pem
		_ossl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile cas.pem -name mid-client \
			-passout env:PFXPW -out modern.p12
		_ossl pkcs12 -export -legacy -inkey leaf.key -in leaf.pem -certfile cas.pem -name mid-client \
			-passout env:PFXPW -out legacy.p12
		_ossl pkcs12 -export -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -inkey leaf.key \
			-in leaf.pem -certfile cas.pem -name mid-client -passout env:PFXPW -out 3des.p12
		_ossl pkcs12 -export -nomac -inkey leaf.key -in leaf.pem -name mid-client -passout env:PFXPW \
			-out nomac.p12
		_ossl pkcs12 -export -inkey leaf.key -in leaf.pem -name mid-client -passout pass: -out emptypw.p12
	)
}

# The SHA-256 fingerprint openssl reports for a PEM/DER certificate file.
ossl_sha256() { openssl x509 -in "$1" ${2:+-inform "$2"} -noout -fingerprint -sha256 | sed 's/^[^=]*=//'; }
ossl_serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'; }
ossl_subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
