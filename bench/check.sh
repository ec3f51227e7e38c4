#!/usr/bin/env bash
# bench/check.sh - `mtlskit check --profile mid` of a four-block MID bundle
# (leaf, intermediate, root, RSA-2048 PKCS#8 key) against what an admin runs
# by hand for the same assurance: `openssl verify -CAfile root -untrusted
# chain` plus `openssl pkey -check`.  Prints mtlskit time / peer time, where
# peer time is the sum of the two openssl runs (each measured without a shell).
#
#   bench/check.sh [BUILD_DIR]      (default: build)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MTLSKIT=${MTLSKIT:-$BUILD/cli/mtlskit}
[ -x "$MTLSKIT" ] || { echo "build first: meson setup build && ninja -C build" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export T=$W P=$W/pki
source "$SRC/tests/lib/check-pki.sh"
pki_init >/dev/null
cd "$P"
cat leaf.pem inter.pem root.pem leaf.key >bundle.pem
"$MTLSKIT" check --profile mid bundle.pem >/dev/null   # must be clean (exit 0)

hyperfine -N --warmup 3 --runs ${RUNS:-50} --export-json "$W/h.json" \
	-n mtlskit "$MTLSKIT check --profile mid bundle.pem" \
	-n openssl-verify "openssl verify -CAfile root.pem -untrusted inter.pem leaf.pem" \
	-n openssl-pkey "openssl pkey -check -noout -in leaf.key" >/dev/null
jq -r '
  (.results | map({(.command): .mean}) | add) as $m
  | ($m["mtlskit"]) as $a | ($m["openssl-verify"] + $m["openssl-pkey"]) as $b
  | "mtlskit check --profile mid      \($a * 1000 | . * 100 | round / 100) ms",
    "openssl verify + openssl pkey -check \($b * 1000 | . * 100 | round / 100) ms  (verify \($m["openssl-verify"] * 1000 | . * 100 | round / 100) + pkey \($m["openssl-pkey"] * 1000 | . * 100 | round / 100))",
    "ratio (mtlskit / peer)            \($a / $b | . * 100 | round / 100)",
    "ratio against openssl verify alone \($a / $m["openssl-verify"] | . * 100 | round / 100)"' "$W/h.json"
