#!/usr/bin/env bash
# keystore.sh - mtlskit's keystore work against Java 17 keytool, wall clock
# (hyperfine -N).  Prints ratios mtlskit / keytool (< 1.0: mtlskit faster).
#   1. list -v of a JKS with a chain-of-3 key entry and a trusted entry
#   2. mid install from a PFX vs keytool -importkeystore from the same PFX
#   3. PKCS12 -> JKS conversion of a key entry (add-key --from) vs
#      keytool -importkeystore
#   4. JCEKS key decryption (PBEWithMD5AndTripleDES, 200,000 iterations):
#      export --with-key minus list on the same store, reported separately
#   then, at scale (KS_N = 5,000 trusted entries; python3-cryptography makes
#   the certificates):
#   5. list of KS_N entries vs bench/keystore-floor.py (read, check the
#      digest, fingerprint every entry: the least work; target <= 3x) and vs
#      keytool -list (target >= 20x faster)
#   6. add-trusted / remove on a KS_N-entry store vs on a 10-entry store
#      (target <= 2x), each beside its floor on both stores
#      (bench/keystore-edit-floor.c: read, check the digest, replace the
#      file atomically and durably, nothing parsed)
#   6b. the same on PKCS12 stores (list also vs keytool -list; no target:
#      the certificate safe is decrypted, checked and encrypted whole)
#   7. import-trusted of KS_N certificates vs KS_N keytool -importcert calls,
#      extrapolated from KS_KEYTOOL_CALLS (200) calls into a new store: an
#      underestimate of keytool, whose calls slow down as the store grows
#      (target >= 100x)
# Usage: MTLSKIT=build/cli/mtlskit [MTLSKIT_FAST=build-fast/cli/mtlskit] bench/keystore.sh [scale]
# (scripts/bench.sh sets both: the default build and the fast_start one;
# `scale` runs only 5-7)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
M=${MTLSKIT:-$(cd "$(dirname "$0")/.." && pwd)/build/cli/mtlskit}
ONLY_SCALE=false
[ "${1:-}" = scale ] && ONLY_SCALE=true
MF=${MTLSKIT_FAST:-} # the fast_start build, when given: compared too
B=$(mktemp -d)
trap 'rm -rf "$B"' EXIT
cd "$B"
export PW=changeit

json() { hyperfine -N --warmup 3 --runs "$1" --export-json "$2" "${@:3}" >/dev/null 2>&1; }
mean() { jq -r ".results[$2].mean" "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
cpu() { jq -r ".results[$2] | (.user + .system)" "$1"; }
ms() { awk -v x="$1" 'BEGIN{printf "%.1f", x*1000}'; }

# 5-7: keystores of KS_N entries.
scale() {
	local n=${KS_N:-5000} nk=${KS_KEYTOOL_CALLS:-200} t0 t1 kt a b fa fb
	local EF=${KS_EDIT_FLOOR:-$(dirname "$(dirname "$M")")/bench/keystore-edit-floor}
	[ -x "$EF" ] || { echo "no $EF (ninja -C the build of $M)" >&2; return 1; }
	python3 "$HERE/keystore-certs.py" certs "$n"
	python3 "$HERE/keystore-certs.py" extra 1 # same CN, another key: a new certificate
	mkdir -p small
	cp certs/ca0000[0-9].pem small/
	"$M" keystore import-trusted big.jks --pass env:PW certs >/dev/null
	"$M" keystore import-trusted small.jks --pass env:PW small >/dev/null
	json 10 s-list.json \
		"$M keystore list --pass env:PW big.jks" \
		"python3 $HERE/keystore-floor.py big.jks changeit"
	json 3 s-list-kt.json \
		"$M keystore list --pass env:PW big.jks" \
		"keytool -list -keystore big.jks -storepass changeit"
	# Each edit with, in the same run, its floor on the same two stores:
	# read, check the digest, replace the file atomically and durably.
	json 20 s-add.json \
		--prepare "cp big.jks w.jks" "$M keystore add-trusted w.jks --alias added --pass env:PW extra/ca00000.pem" \
		--prepare "cp small.jks w.jks" "$M keystore add-trusted w.jks --alias added --pass env:PW extra/ca00000.pem" \
		--prepare "cp big.jks w.jks" "$EF w.jks changeit" \
		--prepare "cp small.jks w.jks" "$EF w.jks changeit"
	json 20 s-remove.json \
		--prepare "cp big.jks w.jks" "$M keystore remove w.jks --alias 'bench ca 00005' --pass env:PW" \
		--prepare "cp small.jks w.jks" "$M keystore remove w.jks --alias 'bench ca 00005' --pass env:PW" \
		--prepare "cp big.jks w.jks" "$EF w.jks changeit" \
		--prepare "cp small.jks w.jks" "$EF w.jks changeit"
	json 3 s-import.json --prepare "rm -f imp.jks" "$M keystore import-trusted imp.jks --pass env:PW certs"
	# The same certificates as PKCS12 stores (AES certificate safe, MAC).
	"$M" keystore import-trusted big.p12 --type pkcs12 --pass env:PW certs >/dev/null
	"$M" keystore import-trusted small.p12 --type pkcs12 --pass env:PW small >/dev/null
	json 3 s-p12-list.json \
		"$M keystore list --pass env:PW big.p12" \
		"keytool -list -storetype PKCS12 -keystore big.p12 -storepass changeit"
	json 10 s-p12-add.json \
		--prepare "cp big.p12 w.p12" "$M keystore add-trusted w.p12 --alias added --pass env:PW extra/ca00000.pem" \
		--prepare "cp small.p12 w.p12" "$M keystore add-trusted w.p12 --alias added --pass env:PW extra/ca00000.pem"
	json 10 s-p12-remove.json \
		--prepare "cp big.p12 w.p12" "$M keystore remove w.p12 --alias 'bench ca 00005' --pass env:PW" \
		--prepare "cp small.p12 w.p12" "$M keystore remove w.p12 --alias 'bench ca 00005' --pass env:PW"
	rm -f kt.jks
	t0=$(date +%s%N)
	for i in $(seq 0 $((nk - 1))); do
		keytool -importcert -noprompt -alias "a$i" -file "$(printf 'certs/ca%05d.pem' "$i")" \
			-keystore kt.jks -storetype JKS -storepass changeit >/dev/null 2>&1
	done
	t1=$(date +%s%N)
	kt=$(awk -v t=$((t1 - t0)) -v k="$nk" -v n="$n" 'BEGIN { printf "%.3f", t / 1e9 / k * n }')
	echo "-- at scale ($n entries; load average $(cut -d' ' -f1-3 /proc/loadavg))"
	a=$(mean s-list.json 0)
	b=$(mean s-list.json 1)
	printf 'list of %d: %s ms; floor script %s ms: %.2fx the floor (target <= 3x)\n' "$n" "$(ms "$a")" "$(ms "$b")" "$(ratio "$a" "$b")"
	a=$(mean s-list-kt.json 0)
	b=$(mean s-list-kt.json 1)
	printf 'list of %d: %s ms; keytool -list %s ms: %.0fx faster (target >= 20x)\n' "$n" "$(ms "$a")" "$(ms "$b")" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b/a}')"
	for op in add remove; do
		a=$(mean "s-$op.json" 0)
		b=$(mean "s-$op.json" 1)
		printf '%s on %d entries: %s ms; on 10: %s ms: %.2fx (cpu %.2fx; target <= 2x)\n' "$op" "$n" "$(ms "$a")" "$(ms "$b")" \
			"$(ratio "$a" "$b")" "$(ratio "$(cpu "s-$op.json" 0)" "$(cpu "s-$op.json" 1)")"
		fa=$(mean "s-$op.json" 2)
		fb=$(mean "s-$op.json" 3)
		printf '  its floor on %d entries: %s ms (on 10: %s ms); %s = %.2fx the floor; the floor alone is %.2fx %s on 10\n' \
			"$n" "$(ms "$fa")" "$(ms "$fb")" "$op" "$(ratio "$a" "$fa")" "$(ratio "$fa" "$b")" "$op"
	done
	a=$(mean s-p12-list.json 0)
	b=$(mean s-p12-list.json 1)
	printf 'PKCS12 list of %d: %s ms; keytool -list %s ms: %.0fx faster\n' "$n" "$(ms "$a")" "$(ms "$b")" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b/a}')"
	for op in add remove; do
		a=$(mean "s-p12-$op.json" 0)
		b=$(mean "s-p12-$op.json" 1)
		printf 'PKCS12 %s on %d entries: %s ms; on 10: %s ms: %.2fx (cpu %.2fx)\n' "$op" "$n" "$(ms "$a")" "$(ms "$b")" \
			"$(ratio "$a" "$b")" "$(ratio "$(cpu "s-p12-$op.json" 0)" "$(cpu "s-p12-$op.json" 1)")"
	done
	a=$(mean s-import.json 0)
	printf 'import-trusted of %d: %s ms; %d keytool -importcert calls took %.1f s, so %d about %s s: %.0fx faster (target >= 100x; extrapolated)\n' \
		"$n" "$(ms "$a")" "$nk" "$(awk -v t=$((t1 - t0)) 'BEGIN{print t/1e9}')" "$n" "$kt" "$(awk -v a="$a" -v k="$kt" 'BEGIN{print k/a}')"
}
if $ONLY_SCALE; then
	scale
	exit 0
fi

# Fixtures: root -> intermediate -> leaf (RSA 2048), made with openssl.
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >leaf.ext
{
	openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 365 -subj "/CN=Bench Root"
	openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj "/CN=Bench Int"
	openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem -days 365 -extfile ca.ext
	openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=mid.bench.example.com"
	openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial -out leaf.pem -days 365 -extfile leaf.ext
	cat leaf.pem int.pem root.pem leaf.key >bundle.pem
	openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile <(cat int.pem root.pem) -name mid \
		-passout pass:changeit -out mid.pfx
} >/dev/null 2>&1
"$M" keystore add-key ks.jks --alias mid bundle.pem >/dev/null 2>&1
"$M" keystore add-trusted ks.jks --alias root root.pem >/dev/null
"$M" keystore add-key ks.jceks --alias mid bundle.pem >/dev/null 2>&1
mkdir -p agent && echo "<parameters/>" >agent/config.xml

row() { # name json: wall clock, then CPU time (user+system), both as ratios
	local a b ca cb
	a=$(mean "$2" 0)
	b=$(mean "$2" 1)
	ca=$(cpu "$2" 0)
	cb=$(cpu "$2" 1)
	printf '%-32s %9s ms %9s ms %8s %6.0fx | cpu %7s ms %8s ms %8s %6.0fx\n' "$1" "$(ms "$a")" "$(ms "$b")" \
		"$(ratio "$a" "$b")" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b/a}')" "$(ms "$ca")" "$(ms "$cb")" \
		"$(ratio "$ca" "$cb")" "$(awk -v a="$ca" -v b="$cb" 'BEGIN{print b/a}')"
}

# The three comparisons for one mtlskit binary; results in PREFIX-*.json.
compare() { # binary prefix
	local m=$1 p=$2
	json 10 "$p-list.json" \
		"$m keystore list -v --pass env:PW ks.jks" \
		"keytool -list -v -keystore ks.jks -storepass changeit"
	json 10 "$p-mid.json" \
		--prepare "rm -f agent/security/agent_keystore.jks dest.jks" \
		"$m mid install --agent agent --src-pass env:PW mid.pfx" \
		"keytool -noprompt -importkeystore -srckeystore mid.pfx -srcstoretype PKCS12 -srcstorepass changeit -destkeystore dest.jks -deststoretype JKS -deststorepass changeit -destalias defaultsecuritykeypairhandle -srcalias mid"
	json 10 "$p-convert.json" \
		--prepare "rm -f conv.jks conv2.jks" \
		"$m keystore add-key conv.jks --alias mid --src-pass env:PW --from mid.pfx --from-alias mid" \
		"keytool -noprompt -importkeystore -srckeystore mid.pfx -srcstoretype PKCS12 -srcstorepass changeit -destkeystore conv2.jks -deststoretype JKS -deststorepass changeit"
}
compare "$M" default
[ -n "$MF" ] && compare "$MF" fast
json 20 jceks.json \
	"$M keystore export --pass env:PW ks.jceks --alias mid --with-key" \
	"$M keystore list --pass env:PW ks.jceks"

echo "keystore benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $(java -version 2>&1 | head -1))"
printf '%-32s %12s %12s %8s %7s | %14s %11s %8s %7s\n' "operation (wall clock | cpu)" "mtlskit" "keytool" \
	"ratio" "speedup" "mtlskit" "keytool" "ratio" "speedup"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for p in default fast; do
	[ -f "$p-list.json" ] || continue
	if [ $p = default ]; then
		echo "-- default build (libssl3/libcrypto3 shared, PIE)"
	else
		echo "-- fast_start build (OpenSSL linked in, no PIE)"
	fi
	row "list -v (JKS, 2 entries)" "$p-list.json"
	row "mid install from PFX" "$p-mid.json"
	row "PKCS12 -> JKS (one key entry)" "$p-convert.json"
done
a=$(mean jceks.json 0)
b=$(mean jceks.json 1)
printf 'JCEKS key decryption (200,000 iterations x2 MD5): %.1f ms (export --with-key %.1f ms - list %.1f ms)\n' \
	"$(awk -v a="$a" -v b="$b" 'BEGIN{print (a-b)*1000}')" "$(awk -v x="$a" 'BEGIN{print x*1000}')" \
	"$(awk -v x="$b" 'BEGIN{print x*1000}')"
scale
