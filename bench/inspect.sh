#!/usr/bin/env bash
# bench/inspect.sh - `mtlskit inspect` against the openssl commands a user
# would otherwise run, as ratios (mtlskit time / openssl time; < 1 means
# mtlskit is faster).  Whole-process times: startup, OpenSSL initialisation
# and provider loading are part of what a user waits for.
#
#   bench/inspect.sh [MTLSKIT]     (default: build/cli/mtlskit)
#   RUNS=200 bench/inspect.sh      more runs per command (default 100)
#
# Cases:
#   cert        inspect cert.pem            vs openssl x509 -in cert.pem -noout -text
#   cert-json   inspect --json cert.pem     vs the same openssl command
#   pfx-legacy  inspect --pass env:P legacy.p12
#               vs openssl pkcs12 -info -legacy -nokeys -passin env:P -in legacy.p12
#   pfx-legacy-key  the same, openssl with -nodes (decrypts the key as inspect does)
#   pfx-modern  inspect --pass env:P modern.p12
#               vs openssl pkcs12 -info -nokeys -passin env:P -in modern.p12
set -euo pipefail
cd "$(dirname "$0")/.."
MTLSKIT=${1:-build/cli/mtlskit}
RUNS=${RUNS:-100}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
[ -x "$MTLSKIT" ] || { echo "build first: meson setup build && ninja -C build" >&2; exit 2; }
MTLSKIT=$(realpath "$MTLSKIT")
W=$(mktemp -d "${TMPDIR:-/tmp}/mtk-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"

export P=bench-pass
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 \
	-subj "/C=US/O=Example/CN=mid01.example.com" -addext "subjectAltName=DNS:mid01.example.com" \
	-addext "extendedKeyUsage=clientAuth" 2>/dev/null
openssl pkcs12 -export -legacy -inkey key.pem -in cert.pem -name mid -passout env:P -out legacy.p12
openssl pkcs12 -export -inkey key.pem -in cert.pem -name mid -passout env:P -out modern.p12

run_case() {
	local name=$1 ours=$2 theirs=$3
	hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$W/$name.json" \
		-n mtlskit "$ours" -n openssl "$theirs" >"$W/$name.log" 2>&1 || {
		cat "$W/$name.log" >&2
		exit 1
	}
	# Wall time is what a user waits for; CPU time (user + system) is
	# steadier on a shared machine.  Both as mtlskit / openssl.
	jq -r --arg n "$name" '
		def ms: . * 1000 | . * 100 | round / 100;
		def r2: . * 100 | round / 100;
		(.results[] | select(.command=="mtlskit")) as $m |
		(.results[] | select(.command=="openssl")) as $o |
		"\($n)\t\($m.mean | ms)\t\($o.mean | ms)\t\($m.mean / $o.mean | r2)\t\(($m.user + $m.system) | ms)\t\(($o.user + $o.system) | ms)\t\((($m.user + $m.system) / ($o.user + $o.system)) | r2)"' \
		"$W/$name.json"
}

printf 'case\twall mtlskit ms\twall openssl ms\twall ratio\tcpu mtlskit ms\tcpu openssl ms\tcpu ratio\n'
run_case cert "$MTLSKIT inspect cert.pem" "openssl x509 -in cert.pem -noout -text"
run_case cert-json "$MTLSKIT inspect --json cert.pem" "openssl x509 -in cert.pem -noout -text"
run_case pfx-legacy "$MTLSKIT inspect --pass env:P legacy.p12" \
	"openssl pkcs12 -info -legacy -nokeys -passin env:P -in legacy.p12"
# inspect also decrypts and decodes the key (to show it and match it to its
# certificate), which -nokeys skips; -nodes makes openssl do that work too.
run_case pfx-legacy-key "$MTLSKIT inspect --pass env:P legacy.p12" \
	"openssl pkcs12 -info -legacy -nodes -passin env:P -in legacy.p12"
run_case pfx-modern "$MTLSKIT inspect --pass env:P modern.p12" \
	"openssl pkcs12 -info -nokeys -passin env:P -in modern.p12"
