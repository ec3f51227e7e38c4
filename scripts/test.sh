#!/usr/bin/env bash
# test.sh - THE test command: installs what is missing, builds, runs every
# suite (unit, fuzz corpus replay, cli, interop) with the normal build and
# again under ASan+UBSan, the CLI and keystore suites once more with the
# fast_start build, and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || exit 1

status=0
logs=()
run_build() { # dir, meson args...
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
	else
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
}

for variant in plain asan; do
	dir=build
	args=()
	if [ $variant = asan ]; then
		dir=build-asan
		args=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
	fi
	echo "== build ($variant)"
	if ! run_build "$dir" "${args[@]}"; then
		echo "build ($variant) failed"
		status=1
		echo "0 passed, 1 failed"
		exit 1
	fi
	echo "== test ($variant)"
	meson test -C "$dir" --print-errorlogs --num-processes 2 ${MTK_TEST_ARGS:-} || status=1
	logs+=("$dir/meson-logs/testlog.json")
done

# The fast_start CLI (OpenSSL linked in, no PIE: what the keystore benchmark
# runs) gets the CLI suite and the keytool round trips too.
echo "== build (fast_start)"
if ! run_build build-fast -Dfast_start=true -Dbuildtype=release; then
	echo "build (fast_start) failed"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "== test (fast_start)"
meson test -C build-fast --print-errorlogs --num-processes 2 --logbase cli --suite cli \
	${MTK_TEST_ARGS:-} || status=1
meson test -C build-fast --print-errorlogs --num-processes 2 --logbase keystore \
	interop/keystore-keytool interop/keystore-mid interop/convert-keytool ${MTK_TEST_ARGS:-} || status=1
logs+=("build-fast/meson-logs/cli.json" "build-fast/meson-logs/keystore.json")

python3 scripts/test-summary.py "${logs[@]}" || status=1
exit $status
