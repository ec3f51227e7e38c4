# tap.sh - sourced by every tests/cli and tests/interop script.
#
# Each assertion prints one TAP line; the script ends with `done_testing`.
# Assertions check specific outcomes: the exit status, a finding id, a value
# in the JSON document, what a peer (openssl, keytool) reports.
#
#   run CMD...                 runs CMD; sets RC, OUT (stdout), ERR (stderr)
#   expect_rc N DESC CMD...    runs CMD and checks its exit status is N
#   expect_eq DESC GOT WANT
#   expect_match DESC REGEX TEXT      (grep -E)
#   expect_no_match DESC REGEX TEXT
#   expect_json DESC JQ_FILTER WANT   on $OUT (the last run's stdout)
#   expect_file DESC PATH / expect_no_file DESC PATH
#   expect_mode DESC PATH MODE        (octal, e.g. 600)
#   ok DESC / not_ok DESC / diag TEXT
#   mtk ARGS...                runs the mtlskit under test (same as run "$MTLSKIT" ...)
set -u
: "${MTLSKIT:?MTLSKIT must point at the mtlskit binary}"
MTLSKIT_SRC=${MTLSKIT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/mtk-test.XXXXXX")
_tap_n=0
_tap_fail=0
_tap_cleanup() {
	# Background servers started by a test are in this list.
	for p in ${TAP_PIDS:-}; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap _tap_cleanup EXIT
export LC_ALL=C
export NO_COLOR=1

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() {
	_tap_n=$((_tap_n + 1)); _tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n - $*"
}
_show_last() {
	diag "command: ${LAST_CMD:-}" "exit: ${RC:-}"
	[ -n "${OUT:-}" ] && diag "stdout:" "$(printf '%s' "$OUT" | head -40)"
	[ -n "${ERR:-}" ] && diag "stderr:" "$(printf '%s' "$ERR" | head -20)"
	return 0
}
run() {
	LAST_CMD="$*"
	"$@" >"$T/.out" 2>"$T/.err" </dev/null
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	return 0
}
mtk() { run "$MTLSKIT" "$@"; }
expect_rc() {
	local want=$1 desc=$2
	shift 2
	run "$@"
	if [ "$RC" = "$want" ]; then ok "$desc"; else not_ok "$desc (exit $RC, wanted $want)"; _show_last; fi
}
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "got:  $2" "want: $3"; fi
}
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1"; diag "no match for /$2/ in:" "$(printf '%s' "$3" | head -30)"; fi
}
expect_no_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then not_ok "$1"; diag "unexpected /$2/ in:" "$(printf '%s' "$3" | head -30)"; else ok "$1"; fi
}
expect_json() {
	local got
	got=$(printf '%s' "$OUT" | jq -r "$2" 2>&1)
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "jq $2" "got:  $got" "want: $3"; _show_last; fi
}
expect_file() { if [ -e "$2" ]; then ok "$1"; else not_ok "$1"; diag "missing: $2"; fi; }
expect_no_file() { if [ -e "$2" ]; then not_ok "$1"; diag "exists: $2"; else ok "$1"; fi; }
expect_mode() {
	local m
	m=$(stat -c %a "$2" 2>/dev/null)
	expect_eq "$1" "$m" "$3"
}
# Finding ids of the last --json run, sorted and space-separated.
finding_ids() { printf '%s' "$OUT" | jq -r '[.findings[]?.id] | unique | join(" ")'; }
# A free TCP port on loopback.
free_port() {
	"$(command -v /usr/bin/python3 || command -v python3)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# Waits until something listens on 127.0.0.1:PORT (up to ~10 s).
wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_fail" -eq 0 ]
	exit $?
}

# flip_byte FILE OFFSET: inverts one byte in place (a damaged copy that is
# always different: writing a fixed value is no change 1 time in 256).
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
