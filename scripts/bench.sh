#!/usr/bin/env bash
# bench.sh - runs every benchmark in bench/ against its peers and prints the
# ratios (mtlskit time / peer time; < 1.0 means mtlskit is faster).  Not a
# test: nothing here asserts a time.  Usage: scripts/bench.sh [NAME...]
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench || exit 1
if [ ! -d build-bench ]; then
	meson setup build-bench -Dbuildtype=release >/dev/null || exit 1
fi
ninja -C build-bench >/dev/null || exit 1
# The fast_start CLI (OpenSSL linked in, no PIE; see meson.build) too:
# bench/keystore.sh reports both.
if [ ! -d build-bench-fast ]; then
	meson setup build-bench-fast -Dbuildtype=release -Dfast_start=true >/dev/null || exit 1
fi
ninja -C build-bench-fast cli/mtlskit >/dev/null || exit 1
export MTLSKIT="$PWD/build-bench/cli/mtlskit"
export MTLSKIT_FAST="$PWD/build-bench-fast/cli/mtlskit"
export MTLSKIT_GATEWAY="$PWD/build-bench/gateway/mtlskit-gateway"
export MTLSKIT_BUILD="$PWD/build-bench"
mkdir -p bench/results
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in bench/*.sh; do names+=("$(basename "$f" .sh)"); done
fi
for n in "${names[@]}"; do
	echo "== bench/$n.sh"
	bash "bench/$n.sh" 2>&1 | tee "bench/results/$n.txt"
done
