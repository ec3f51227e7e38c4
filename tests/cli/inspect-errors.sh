#!/usr/bin/env bash
# inspect-errors.sh - bad input of every kind: one clear line naming the
# file, exit 3 (4 for a wrong password), never a crash or a hang; several
# files: every file is described, the worst status wins; usage errors.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/lib/inspect-fixtures.sh"
mk_pki || { not_ok "fixtures"; done_testing; }
cd "$T" || exit 1

openssl x509 -in leaf.pem -outform DER -out leaf.der
: >empty.pem
head -c 300 leaf.der >trunc.der
head -c 1 leaf.der >onebyte.der
{ printf '\377\000\001'; head -c 2000 /dev/urandom; } >garbage.bin # binary, not DER
{ head -c 300 /dev/urandom; printf '\n-----BEGIN CERTIFICATE-----\nMIIBjunk\n'; head -c 100 /dev/urandom; } >junk-begin.bin
printf -- '-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n' >badb64.pem
sed '$d' leaf.pem >noend.pem
{ sed -n '1,5p' leaf.pem; echo '-----END CERTIFICATE-----'; } >shortbody.pem
echo "just some text" >text.txt
mkdir adir
truncate -s 65M big.pem

# bad FILE CODE REGEX: exit 3, one stderr line naming FILE, JSON error code
bad() {
	local f=$1 code=$2 re=$3
	run timeout 20 "$MTLSKIT" inspect "$f"
	expect_eq "$f: exit 3" "$RC" 3
	expect_match "$f: stderr names the file: $re" "^mtlskit inspect: $f.*$re" "$ERR"
	expect_eq "$f: exactly one line on stderr" "$(printf '%s\n' "$ERR" | wc -l)" 1
	expect_eq "$f: nothing on stdout" "$OUT" ""
	run timeout 20 "$MTLSKIT" inspect --json "$f"
	expect_json "$f: JSON error code $code" '.files[0].error.code' "$code"
	expect_json "$f: JSON exit 3" '.exit' 3
}
bad empty.pem MTK_E_EMPTY 'empty'
bad trunc.der MTK_E_TRUNCATED 'truncated'
bad onebyte.der MTK_E_TRUNCATED 'truncated'
bad garbage.bin MTK_E_UNKNOWN_FORMAT 'not DER, PKCS#12, JKS or JCEKS'
bad junk-begin.bin MTK_E_PEM_SYNTAX 'no END line'
bad badb64.pem MTK_E_PEM_SYNTAX 'base64'
bad noend.pem MTK_E_PEM_SYNTAX 'no END line'
bad shortbody.pem MTK_E_DER 'does not decode'
bad text.txt MTK_E_UNKNOWN_FORMAT 'no -----BEGIN'
bad adir MTK_E_ISDIR 'directory'
bad missing.pem MTK_E_NOENT 'No such file'
bad big.pem MTK_E_TOO_LARGE '64 MiB'

# Unreadable: as root, permissions do not stop reads; drop to nobody.
cp leaf.pem unreadable.pem && chmod 000 unreadable.pem
if [ "$(id -u)" != 0 ]; then
	bad unreadable.pem MTK_E_PERM 'ermission denied'
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	d=$(mktemp -d /tmp/mtk-nobody.XXXXXX)
	cp leaf.pem "$d/unreadable.pem" && chmod 000 "$d/unreadable.pem" && chmod 755 "$d"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$MTLSKIT" inspect "$d/unreadable.pem"
	if [ "$RC" = 126 ] || [ "$RC" = 127 ]; then
		ok "# SKIP the binary is not executable by nobody"
	else
		expect_eq "unreadable: exit 3" "$RC" 3
		expect_match "unreadable: permission denied, naming the file" "unreadable.pem.*ermission denied" "$ERR"
	fi
	rm -rf "$d"
else
	ok "# SKIP cannot drop privileges to test an unreadable file"
fi

# A FIFO with no writer must not hang.
mkfifo fifo
run timeout 10 "$MTLSKIT" inspect fifo
expect_eq "FIFO: exit 3, no hang" "$RC" 3

# Several files: continue after a bad one, the worst status wins.
mtk inspect --json leaf.pem empty.pem leaf.der
expect_eq "good + empty + good: exit 3" "$RC" 3
expect_json "good + empty + good: three files" '.files | length' 3
expect_json "good + empty + good: the good ones described" '[.files[0,2].objects[0].sha256] | unique | length' 1
expect_json "good + empty + good: the bad one has an error" '.files[1].error.code' MTK_E_EMPTY
expect_json "good + empty + good: top-level error is the worst" '.error.code' MTK_E_EMPTY
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -passout pass:right -out p.p12
mtk inspect --json --pass pass:wrong missing.pem p.p12 leaf.pem
expect_eq "missing + wrong password + good: exit 4 (worst)" "$RC" 4
expect_json "… per-file codes" '[.files[] | .error.code // "ok"] | join(",")' "MTK_E_NOENT,MTK_E_BAD_PASSWORD,ok"
expect_json "… top-level error is the wrong password" '.error.code' MTK_E_BAD_PASSWORD
expect_eq "… one stderr line per bad file (+ the pass: warning)" "$(printf '%s\n' "$ERR" | grep -c '^mtlskit inspect: ')" 3
mtk inspect leaf.pem missing.pem
expect_match "text: the good file is still described" '^leaf.pem: PEM, 1 block' "$OUT"

# Usage.
expect_rc 2 "no FILE: usage error" "$MTLSKIT" inspect
expect_rc 2 "-o is not an inspect option" "$MTLSKIT" inspect -o x leaf.pem
expect_rc 2 "unknown option" "$MTLSKIT" inspect --bogus leaf.pem
mtk inspect --json
expect_json "usage error in JSON" '.error.code' MTK_E_USAGE
mtk inspect --help
expect_eq "--help: exit 0" "$RC" 0
expect_match "--help documents the exit status" 'Exit status: 0 every input was read' "$OUT"
expect_match "--help says findings never fail inspect" 'never change the exit status' "$OUT"

# Colour only on a terminal, never with --no-color.
if command -v script >/dev/null; then
	run env -u NO_COLOR script -qec "'$MTLSKIT' inspect leaf.pem" /dev/null
	expect_match "terminal: colour" $'\033\\[' "$OUT"
	run env -u NO_COLOR script -qec "'$MTLSKIT' inspect --no-color leaf.pem" /dev/null
	expect_no_match "terminal + --no-color: no colour" $'\033\\[' "$OUT"
else
	ok "# SKIP script(1) not installed"
	ok "# SKIP script(1) not installed"
fi

done_testing
