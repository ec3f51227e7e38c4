#!/usr/bin/env bash
# pass-sources.sh - password sources the articles' users reach for: a FIFO
# and bash's process substitution (file:<(...)), an over-long password
# (refused, never cut short), and no core dump while secrets are held.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out plain.pem 2>/dev/null
export PW=correct-horse-battery
openssl pkcs8 -topk8 -in plain.pem -v2 aes-256-cbc -passout env:PW -out enc.pem

# process substitution: a pipe under /dev/fd
run bash -c "'$MTLSKIT' inspect --json --pass file:<(printf '%s\n' \"\$PW\") enc.pem"
expect_eq "--pass file:<(...) reads the pipe" "$RC" 0
expect_json "... and decrypts the key" '.files[0].objects[0].decrypted' true

# a FIFO, written once the command waits on it
mkfifo pw.fifo
(printf '%s\n' "$PW" >pw.fifo) &
writer=$!
mtk inspect --json --pass file:pw.fifo enc.pem
wait "$writer"
expect_eq "--pass file:FIFO exit 0" "$RC" 0
expect_json "--pass file:FIFO decrypts" '.files[0].objects[0].decrypted' true

# no core file may carry a password: the limit is 0 while mtlskit waits
# for one (its /proc limits, read while it blocks on the FIFO)
"$MTLSKIT" inspect --pass file:pw.fifo enc.pem >/dev/null 2>&1 &
pid=$!
limits=""
for _ in $(seq 1 50); do # until it waits on the FIFO, past its start-up
	limits=$(grep '^Max core file size' "/proc/$pid/limits" 2>/dev/null)
	[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" = wait_for_partner ] && break # in open()
	sleep 0.1
done
limits=$(grep '^Max core file size' "/proc/$pid/limits" 2>/dev/null)
printf '%s\n' "$PW" >pw.fifo
wait "$pid"
expect_match "core dumps are off while a password is read" '^Max core file size +0 +0 ' "$limits"

# over-long passwords: refused with a clear error, never truncated
long=$(head -c 1500 /dev/zero | tr '\0' x)
printf '%s\n' "$long" >long.txt
for spec in "file:long.txt" "env:LONGPW" "pass:$long"; do
	LONGPW=$long mtk inspect --pass "$spec" enc.pem
	expect_eq "over-long password (${spec%%:*}:) exit 2" "$RC" 2
	expect_match "... says it is refused, not cut short" 'longer than 1024 bytes; refused' "$ERR"
done
run bash -c "printf '%s\n' '$long' | '$MTLSKIT' inspect --pass fd:0 enc.pem"
expect_eq "over-long password on fd:0 exit 2" "$RC" 2
exact=$(head -c 1024 /dev/zero | tr '\0' y)
openssl pkcs8 -topk8 -in plain.pem -v2 aes-256-cbc -passout "pass:$exact" -out enc1024.pem
printf '%s\n' "$exact" >exact.txt
mtk inspect --json --pass file:exact.txt enc1024.pem
expect_json "a 1024-byte password still works" '.files[0].objects[0].decrypted' true

done_testing
