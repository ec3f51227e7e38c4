# check-pki.sh - sourced by the check/bundle suites: a small PKI made with
# openssl in $P (root -> issuing CA -> leaves), and `openssl ca` for
# certificates with chosen validity dates.
#
#   pki_init                 root.pem/key, inter.pem/key, leaf.pem with leaf.key (PKCS#8),
#                            leaf-pkcs1.key, leaf-enc.key (PKCS#8, password "secret"),
#                            other.key, other-root.pem
#   pki_leaf NAME SUBJ EXT [openssl-ca-args...]
#                            NAME.pem + NAME.key signed by inter with extension section EXT
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
