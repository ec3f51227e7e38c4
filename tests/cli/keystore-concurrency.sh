#!/usr/bin/env bash
# keystore-concurrency.sh - keystore edits lose nothing and leak nothing:
# 20 parallel `keystore add-key` on one store keep all 20 entries (the edit
# lock, "STORE.lock"), and `mid install` / `keystore add-key` killed with
# SIGKILL at random moments leave the store readable with its old or its new
# entries and no temporary file beside it.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$MTLSKIT_SRC/tests/interop/keystore-pki.inc"

mk_pki "$T/pki"
P=$T/pki
export STOREPW=changeit

# Entries of a store as "alias type sha256-of-first-cert" lines, sorted
# (empty when unreadable).
entries() {
	"$MTLSKIT" --json keystore list "$1" 2>/dev/null |
		jq -r '.entries[] | "\(.alias) \(.type) \(.certificates[0].sha256)"' | sort
}
temps() { find "$1" -maxdepth 1 -name '*.tmp*' | wc -l; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# --- 20 concurrent edits of one store ---
S=$T/par/par.jks
mkdir -p "$T/par"
expect_rc 0 "add-trusted creates the store" "$MTLSKIT" keystore add-trusted "$S" --alias root "$P/root.pem"
pids=
for i in $(seq 1 20); do
	"$MTLSKIT" keystore add-key "$S" --alias "a$i" "$P/bundle.pem" >"$T/par/out$i" 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
expect_eq "20 parallel add-key: all exit 0" "$fails" 0
want=$( (echo "root trustedCertEntry $(fp256 "$P/root.pem")"
	for i in $(seq 1 20); do echo "a$i PrivateKeyEntry $(fp256 "$P/leaf.pem")"; done) | sort)
expect_eq "20 parallel add-key: list shows all 21 entries" "$(entries "$S")" "$want"
expect_eq "20 parallel add-key: no temporary file left" "$(temps "$T/par")" 0
expect_mode "the store is still 0600" "$S" 600
expect_file "the lock file stays beside the store" "$S.lock"
if command -v keytool >/dev/null; then
	run keytool -list -storetype JKS -keystore "$S" -storepass changeit
	expect_match "keytool agrees: 21 entries" 'Your keystore contains 21 entries' "$OUT"
	expect_eq "keytool agrees: 20 key entries" "$(printf '%s\n' "$OUT" | grep -c PrivateKeyEntry)" 20
fi
# The same for an edit of an existing store only (remove takes the lock too).
pids=
for i in $(seq 1 10); do
	"$MTLSKIT" keystore remove "$S" --alias "a$i" >/dev/null 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
expect_eq "10 parallel remove: all exit 0" "$fails" 0
expect_eq "10 parallel remove: 11 entries remain" "$(entries "$S" | wc -l)" 11
expect_rc 3 "remove on a missing store: exit 3" "$MTLSKIT" keystore remove "$T/par/nope.jks" --alias x
expect_no_file "... and no lock file is made for it" "$T/par/nope.jks.lock"

# --- kill -9 during writes ---
# Each writer is killed after a random delay within its measured run time,
# so some die before, some during and some after the rename.
A=$T/agent
KS=$A/security/agent_keystore.jks
mkdir -p "$A/security" && chmod 700 "$A/security" && : >"$A/config.xml"
expect_rc 0 "mid install: first install" "$MTLSKIT" mid install --agent "$A" "$P/bundle.pem"
old=$(entries "$KS")
t0=$(ms)
"$MTLSKIT" mid install --agent "$A" "$P/ec-bundle.pem" >/dev/null 2>&1
span=$(($(ms) - t0 + 5))
[ "$span" -gt 900 ] && span=900
new=$(entries "$KS")
expect_eq "mid install replaced the MID entry (EC leaf now)" "$new" \
	"defaultsecuritykeypairhandle PrivateKeyEntry $(fp256 "$P/ec.pem")"

K=$T/kill/k.jks
mkdir -p "$T/kill"
"$MTLSKIT" keystore add-trusted "$K" --alias root "$P/root.pem" >/dev/null 2>&1
kold=$(entries "$K")
t0=$(ms)
"$MTLSKIT" keystore add-key "$K" --alias int "$P/bundle.pem" >/dev/null 2>&1
kspan=$(($(ms) - t0 + 5))
[ "$kspan" -gt 900 ] && kspan=900
knew=$(entries "$K")
"$MTLSKIT" keystore remove "$K" --alias int >/dev/null 2>&1
diag "run times: mid install ${span} ms, add-key ${kspan} ms"

bad=0 killed=0 leftover=0 odd=0
deadline=$(($(date +%s) + 20))
for i in $(seq 1 30); do
	[ "$(date +%s)" -gt "$deadline" ] && break
	# The bundle not installed now: the same one again writes nothing.
	if [ "$(entries "$KS")" = "$new" ]; then b=bundle.pem; else b=ec-bundle.pem; fi
	"$MTLSKIT" mid install --agent "$A" "$P/$b" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % span)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	[ $? = 137 ] && killed=$((killed + 1))
	got=$(entries "$KS")
	[ -n "$got" ] && { [ "$got" = "$old" ] || [ "$got" = "$new" ]; } || bad=$((bad + 1))
	# A linked unnamed temporary (".tmp-l") has a name only between link
	# and rename; anything else would be a leak of the named kind.
	leftover=$((leftover + $(temps "$A/security")))
	odd=$((odd + $(find "$A/security" -maxdepth 1 -name '*.tmp*' ! -name '*.tmp-l*' | wc -l)))
	"$MTLSKIT" keystore add-key "$K" --alias int "$P/bundle.pem" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % kspan)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	[ $? = 137 ] && killed=$((killed + 1))
	got=$(entries "$K")
	[ -n "$got" ] && { [ "$got" = "$kold" ] || [ "$got" = "$knew" ]; } || bad=$((bad + 1))
	leftover=$((leftover + $(temps "$T/kill")))
	odd=$((odd + $(find "$T/kill" -maxdepth 1 -name '*.tmp*' ! -name '*.tmp-l*' | wc -l)))
	[ "$got" = "$knew" ] && "$MTLSKIT" keystore remove "$K" --alias int >/dev/null 2>&1
done
diag "$killed writers killed by SIGKILL (the others had finished); $leftover linked temporaries seen right after a kill"
expect_eq "after every kill the stores read back with the old or the new entries" "$bad" 0
if [ "$killed" -gt 0 ]; then ok "writers were killed ($killed)"; else not_ok "no writer was killed"; fi
# The next complete write sweeps what a kill between link and rename left.
if [ "$(entries "$KS")" = "$new" ]; then b=bundle.pem want=$old; else b=ec-bundle.pem want=$new; fi
expect_rc 0 "mid install completes after the kills" "$MTLSKIT" mid install --agent "$A" "$P/$b"
expect_rc 0 "add-key completes after the kills" "$MTLSKIT" keystore add-key "$K" --force --alias int "$P/bundle.pem"
# Without O_TMPFILE (some filesystems under $TMPDIR) a killed writer's named
# temporary stays for a minute by design (docs/keystore.md).
if python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_TMPFILE | os.O_WRONLY, 0o600))' "$T" 2>/dev/null; then
	expect_eq "no named temporary was ever left by a killed writer" "$odd" 0
	expect_eq "no temporary file in the agent's security directory" "$(temps "$A/security")" 0
	expect_eq "no temporary file beside the other store" "$(temps "$T/kill")" 0
else
	diag "no O_TMPFILE under $T: $odd named temporaries left by killed writers (swept after a minute)"
fi
expect_eq "the agent keystore has the entry installed last" "$(entries "$KS")" "$want"
if command -v keytool >/dev/null; then
	run keytool -list -storetype JKS -keystore "$KS" -storepass changeit
	expect_match "keytool reads the agent keystore after the kills" 'Your keystore contains 1 entry' "$OUT"
fi
done_testing
