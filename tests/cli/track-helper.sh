#!/usr/bin/env bash
# track-helper.sh - `track` with a CA helper speaking certmonger's
# submit-helper protocol: certmonger's own local-submit issues and renews;
# a helper that answers "wait" (exit 1, a cookie) and issues on the POLL;
# one that waits with a delay (exit 5); one that rejects (exit 2); one whose
# CA is unreachable (exit 3).  The managed files change only on issue.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
LS=/usr/lib/certmonger/local-submit
[ -x "$LS" ] || LS=/usr/libexec/certmonger/local-submit
[ -x "$LS" ] || { echo "1..0 # SKIP certmonger's local-submit not installed"; exit 0; }

mkdir st d
export MTLSKIT_TRACK_DIR=$T/d
"$MTLSKIT" csr create --cn app.example.com --org "Example Corp" --country US --usage client \
	--san DNS:app.example.com --new-key ec:P-256 --key-out c.key -o c.csr >/dev/null
CERTMONGER_OPERATION=SUBMIT CERTMONGER_CSR="$(cat c.csr)" "$LS" -d "$T/st" >c.crt
CERTMONGER_OPERATION=FETCH-ROOTS "$LS" -d "$T/st" | sed -n '/BEGIN/,/END/p' >root.crt
expect_rc 0 "local-submit issued the first certificate" openssl verify -CAfile root.crt c.crt

# --- local-submit, unchanged, as the issuer
mtk track add ls --target pem --cert "$T/c.crt" --key "$T/c.key" --chain "$T/root.crt" \
	--issuer helper --helper "$LS -d $T/st"
expect_eq "add a helper-issued target" "$RC" 0
old=$(openssl x509 -in c.crt -noout -serial)
mtk --json track run ls --force-renew
expect_eq "local-submit renewal: exit 0" "$RC" 0
expect_json "outcome renewed" '.certificates[0].outcome' renewed
expect_no_match "a new serial" "^$old\$" "$(openssl x509 -in c.crt -noout -serial)"
expect_rc 0 "openssl verifies the renewed certificate against local-submit's root" \
	openssl verify -CAfile root.crt c.crt
expect_eq "key type kept (EC P-256)" "$(openssl pkey -in c.key -noout -text | grep -o 'prime256v1' | head -1)" prime256v1
expect_eq "key matches" "$(openssl pkey -in c.key -pubout)" "$(openssl x509 -in c.crt -noout -pubkey)"

# --- a helper that says "wait" first, then issues on POLL with its cookie
cat >pending.sh <<SH
#!/bin/sh
echo "\$CERTMONGER_OPERATION \${CERTMONGER_CA_COOKIE:-}" >>"$T/pending.log"
case "\$CERTMONGER_OPERATION" in
SUBMIT) echo "ticket-42"; exit 1 ;;
POLL) [ "\$CERTMONGER_CA_COOKIE" = ticket-42 ] || { echo "bad cookie"; exit 4; }
      exec "$LS" -d "$T/st" ;;
esac
exit 6
SH
chmod +x pending.sh
cp c.crt before.crt; cp c.key before.key
sed -i "s|^helper .*|helper $T/pending.sh|" d/ls.conf
mtk --json track run ls --force-renew
expect_eq "pending: exit 0 (progress, not failure)" "$RC" 0
expect_json "outcome pending" '.certificates[0].outcome' pending
expect_rc 0 "pending: certificate untouched" cmp c.crt before.crt
expect_rc 0 "pending: key untouched" cmp c.key before.key
expect_match "state keeps the cookie" '^cookie ticket-42$' "$(cat d/ls.state)"
expect_mode "the waiting key is 0600" d/ls.staged-key.pem 600
staged_pub=$(openssl pkey -in d/ls.staged-key.pem -pubout)
mtk --json track run ls
expect_json "next run polls and installs (pending is always due)" '.certificates[0].outcome' renewed
expect_eq "helper saw SUBMIT then POLL with the cookie" "$(cat pending.log)" "SUBMIT 
POLL ticket-42"
expect_eq "installed certificate is for the key of the SUBMIT" "$(openssl x509 -in c.crt -noout -pubkey)" "$staged_pub"
expect_no_match "cookie cleared" 'cookie' "$(cat d/ls.state)"

# --- exit 5: wait with a delay (delay line, then cookie)
printf '#!/bin/sh\n[ "$CERTMONGER_OPERATION" = SUBMIT ] && { echo 3600; echo slow-7; exit 5; }\necho "$CERTMONGER_CA_COOKIE" >%s/slow.poll; exit 5\n' "$T" >slow.sh
chmod +x slow.sh
sed -i "s|^helper .*|helper $T/slow.sh|" d/ls.conf
mtk --json track run ls --force-renew
expect_json "exit 5: pending" '.certificates[0].outcome' pending
expect_match "exit 5: the cookie is the line after the delay" '^cookie slow-7$' "$(cat d/ls.state)"
mtk --json track run ls
expect_json "exit 5: the CA's delay is kept (no poll within the hour)" '.certificates[0].outcome' pending
expect_match "exit 5: says when it polls" 'next poll after' "$(printf '%s' "$OUT" | jq -r '.certificates[0].message')"
expect_no_file "exit 5: the helper was not run" slow.poll
mtk --json track run ls --now "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"
expect_eq "exit 5: after the delay, polled with its cookie" "$(cat slow.poll 2>/dev/null)" slow-7
rm -f d/ls.state d/ls.staged-key.pem

# --- rejected
cp c.crt before.crt; cp c.key before.key
printf '#!/bin/sh\necho "policy: CN not allowed"\nexit 2\n' >reject.sh
chmod +x reject.sh
sed -i "s|^helper .*|helper $T/reject.sh|" d/ls.conf
mtk --json track run ls --force-renew
expect_eq "rejected: exit 1" "$RC" 1
expect_json "rejected: failed" '.certificates[0].outcome' failed
expect_match "rejected: the CA's reason" 'rejected the request: policy: CN not allowed' \
	"$(printf '%s' "$OUT" | jq -r '.certificates[0].message')"
expect_rc 0 "rejected: certificate untouched" cmp c.crt before.crt
expect_rc 0 "rejected: key untouched" cmp c.key before.key
expect_no_file "rejected: no staged key left" d/ls.staged-key.pem
expect_match "rejected: last_error in the state" '^last_error .*policy: CN not allowed' "$(cat d/ls.state)"

# --- unreachable: exit 5 (network), retried
printf '#!/bin/sh\necho "connection refused"\nexit 3\n' >down.sh
chmod +x down.sh
sed -i "s|^helper .*|helper $T/down.sh|" d/ls.conf
mtk --json track run ls --force-renew
expect_eq "unreachable CA: exit 5" "$RC" 5
expect_rc 0 "unreachable: certificate untouched" cmp c.crt before.crt

done_testing
