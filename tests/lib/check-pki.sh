# check-pki.sh - sourced by the check/bundle suites: a small PKI made with
# openssl in $P (root -> issuing CA -> leaves), and `openssl ca` for
# certificates with chosen validity dates.
#
#   pki_init                 root.pem/key, inter.pem/key, leaf.pem with leaf.key (PKCS#8),
#                            leaf-pkcs1.key, leaf-enc.key (PKCS#8, password "secret"),
#                            other.key, other-root.pem
#   pki_leaf NAME SUBJ EXT [openssl-ca-args...]
#                            NAME.pem + NAME.key signed by inter with extension section EXT
#   pki_variants             after pki_init: the bundles the finding tables (check-table.sh,
#                            fixes.sh) run on, one or more findings each (list below)
P=${P:-$T/pki}

pki_init() {
	mkdir -p "$P/ca/new"
	: >"$P/ca/index.txt"
	echo 1000 >"$P/ca/serial"
	cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = CA_default
[CA_default]
database = $P/ca/index.txt
new_certs_dir = $P/ca/new
serial = $P/ca/serial
default_md = sha256
default_days = 365
policy = pol
unique_subject = no
copy_extensions = none
[pol]
commonName = supplied
countryName = optional
organizationName = optional
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:mid01.example.com
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mid01.example.com
[both]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:mid01.example.com
[snow]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:acme.service-now.com
EOF
	(
		cd "$P" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
			-out root.pem -subj "/C=GB/O=Example/CN=Example Root CA" -days 3650 \
			-config ca.cnf -extensions ca_ext 2>/dev/null
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-root.key \
			-out other-root.pem -subj "/C=GB/O=Other/CN=Other Root CA" -days 3650 \
			-config ca.cnf -extensions ca_ext 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key \
			-out inter.csr -subj "/C=GB/O=Example/CN=Example Issuing CA" 2>/dev/null
		openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in inter.csr \
			-out inter.pem -days 1825 -extensions ca_ext -notext 2>/dev/null
		openssl genrsa -traditional -out leaf-pkcs1.key 2048 2>/dev/null
		openssl pkcs8 -topk8 -nocrypt -in leaf-pkcs1.key -out leaf.key
		openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:secret -in leaf.key -out leaf-enc.key
		openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
		openssl req -new -key leaf.key -out leaf.csr -subj "/C=GB/O=Example/CN=mid01.example.com"
		openssl ca -batch -config ca.cnf -cert inter.pem -keyfile inter.key -in leaf.csr \
			-out leaf.pem -extensions client -notext 2>/dev/null
	)
	[ -s "$P/leaf.pem" ] || { echo "Bail out! PKI fixture creation failed"; exit 1; }
}

# pki_leaf NAME SUBJ EXT [extra openssl ca args]: a leaf with its own EC P-256 key.
pki_leaf() {
	local name=$1 subj=$2 ext=$3
	shift 3
	(
		cd "$P" || exit 1
		openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$name.key" 2>/dev/null
		openssl req -new -key "$name.key" -out "$name.csr" -subj "$subj"
		openssl ca -batch -config ca.cnf -cert inter.pem -keyfile inter.key -in "$name.csr" \
			-out "$name.pem" -extensions "$ext" -notext "$@" 2>/dev/null
	)
	[ -s "$P/$name.pem" ] || { echo "Bail out! fixture $name failed"; exit 1; }
}

# pki_variants: in $P, from pki_init's PKI, one file per way a bundle goes
# wrong (and good.pem, which does not):
#   good pkcs1 enc mismatch nokey noroot order dup extra gap leafkey  (.pem)
#   "my bundle.pem" (pkcs1.pem under a name the shell must quote)
#   chain two ca-rev           CA certificates only (two: an unrelated root too)
#   crlf crlf-ca crlf-leaf srv-crlf bom ctrlz blank   line endings, stray bytes
#   self self-leaf             a self-signed leaf
#   srv-bundle expired notyet soon-bundle uk-bundle host-bundle snow-bundle
#   sha1-bundle                leaves made by pki_leaf (srv, exp, nyv, soon, uk, host, snow,
#                              sha1), each with inter, root and its key
#   l.pfx                      leaf, key and chain, alias mykey, password "pw"
pki_variants() {
	(
		cd "$P" || exit 1
		cat leaf.pem inter.pem root.pem leaf.key >good.pem
		cat leaf.pem inter.pem root.pem leaf-pkcs1.key >pkcs1.pem
		cp pkcs1.pem "my bundle.pem"
		cat leaf.pem inter.pem root.pem leaf-enc.key >enc.pem
		cat leaf.pem inter.pem root.pem other.key >mismatch.pem
		cat leaf.pem inter.pem root.pem >nokey.pem
		cat leaf.pem inter.pem leaf.key >noroot.pem
		cat root.pem inter.pem leaf.pem leaf.key >order.pem
		cat leaf.pem inter.pem inter.pem root.pem leaf.key >dup.pem
		cat leaf.pem inter.pem root.pem other-root.pem leaf.key >extra.pem
		cat leaf.pem root.pem leaf.key >gap.pem
		cat leaf.pem leaf.key >leafkey.pem
		cat inter.pem root.pem >chain.pem
		cat inter.pem root.pem other-root.pem >two.pem
		cat root.pem inter.pem >ca-rev.pem
		sed 's/$/\r/' good.pem >crlf.pem
		sed 's/$/\r/' chain.pem >crlf-ca.pem
		sed 's/$/\r/' leaf.pem >crlf-leaf.pem
		{ printf '\xef\xbb\xbf'; cat good.pem; } >bom.pem
		{ cat leaf.pem; printf '\x1a'; cat inter.pem root.pem leaf.key; } >ctrlz.pem
		{ cat leaf.pem; echo; cat inter.pem root.pem leaf.key; } >blank.pem
		openssl req -x509 -new -key leaf.key -out self-leaf.pem -subj "/C=GB/CN=mid01.example.com" \
			-days 365 -addext "basicConstraints=critical,CA:FALSE" \
			-addext "extendedKeyUsage=clientAuth" 2>/dev/null
		cat self-leaf.pem leaf.key >self.pem
		openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile chain.pem -name mykey \
			-passout pass:pw -out l.pfx
	) || { echo "Bail out! check fixtures failed"; exit 1; }
	pki_leaf srv "/C=GB/CN=mid01.example.com" server
	pki_leaf exp "/C=GB/CN=mid01.example.com" client -startdate 20200101000000Z -enddate 20210101000000Z
	pki_leaf nyv "/C=GB/CN=mid01.example.com" client -startdate 20400101000000Z -enddate 20410101000000Z
	pki_leaf soon "/C=GB/CN=mid01.example.com" client -days 10
	pki_leaf uk "/C=UK/CN=mid01.example.com" client
	pki_leaf host "/C=GB/CN=midserver" client
	pki_leaf snow "/C=GB/CN=acme.service-now.com" snow
	pki_leaf sha1 "/C=GB/CN=mid01.example.com" client -md sha1
	(
		cd "$P" || exit 1
		cat srv.pem inter.pem root.pem srv.key >srv-bundle.pem
		sed 's/$/\r/' srv-bundle.pem >srv-crlf.pem
		cat exp.pem inter.pem root.pem exp.key >expired.pem
		cat nyv.pem inter.pem root.pem nyv.key >notyet.pem
		for v in soon uk host snow sha1; do
			cat "$v.pem" inter.pem root.pem "$v.key" >"$v-bundle.pem"
		done
	) || { echo "Bail out! check fixtures failed"; exit 1; }
	[ -s "$P/l.pfx" ] && [ -s "$P/self.pem" ] || { echo "Bail out! check fixtures failed"; exit 1; }
}
