#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets with clang (ASan+UBSan) and runs each
# for a while, starting from its checked-in corpus.  Not part of the test
# command (the test command replays the corpora).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh fuzz || exit 1
secs=${1:-60}
shift || true
if [ ! -d build-fuzz ]; then
	CC=clang CFLAGS=-fsanitize=fuzzer-no-link meson setup build-fuzz -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
		-Dwerror=false >/dev/null || exit 1
fi
ninja -C build-fuzz >/dev/null || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$f" ] && targets+=("$(basename "$f" | sed 's/^fuzz_//')")
	done
fi
status=0
for t in "${targets[@]}"; do
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/$t/." "$work/" 2>/dev/null
	echo "== fuzz_$t for ${secs}s"
	if ! "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=65536 \
		-artifact_prefix="build-fuzz/crash-$t-" "$work" 2>&1 | tail -3; then
		status=1
	fi
	echo "   new inputs found: $(($(ls "$work" | wc -l) - $(ls "tests/fuzz/corpus/$t" | wc -l)))" \
		"(copy interesting ones into tests/fuzz/corpus/$t/)"
	rm -rf "$work"
done
exit $status
