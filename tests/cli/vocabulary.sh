#!/usr/bin/env bash
# vocabulary.sh - docs/cli.md enforced: every verb's and sub-verb's --help is
# walked for spellings outside the vocabulary, and the shared words are
# exercised on every verb that takes them (both subject forms, durations,
# --key-type and its aliases, --days, the three password flags, -q, help and
# version).
. "${MTLSKIT_TESTLIB:?}"
cd "$T" || exit 1

# ---- every command and sub-command, from the help itself ----
mtk --help
expect_eq "mtlskit --help exits 0" "$RC" 0
verbs=$(printf '%s\n' "$OUT" | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}' |
	grep -v -x -e help -e version)
expect_match "at least the twelve verbs of DESIGN.md" '^1[2-9]$' "$(echo $verbs | wc -w)"
cmds=()
for v in $verbs; do
	mtk "$v" --help
	# Sub-verbs: a "<sub-command>" table, or one "mtlskit VERB SUB" usage line each.
	subs=$(printf '%s\n' "$OUT" | grep -q '<sub-command>' &&
		printf '%s\n' "$OUT" | awk 'NR > 2 && /^  [a-z]/{print $1}')
	[ -n "$subs" ] || subs=$(printf '%s\n' "$OUT" | sed -n "s/^ *\(Usage: \)\{0,1\}mtlskit $v \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\2/p" |
		sort -u | awk 'END { if (NR < 2) exit 1 } 1' || true)
	if [ -n "$subs" ]; then
		for s in $subs; do cmds+=("$v $s"); done
	else
		cmds+=("$v")
	fi
done
expect_match "at least the 25 commands of the twelve verbs" '^(2[5-9]|[3-9][0-9])$' "${#cmds[@]}"

# Spellings that must not appear, or only where docs/cli.md allows them.
#   keytool spellings: keystore sub-verbs only; --type also key generate;
#   --new-key where a request may make a key; --src-pass only as deprecated.
bad=""
for cmd in "${cmds[@]}"; do
	# shellcheck disable=SC2086
	run "$MTLSKIT" $cmd --help
	[ "$RC" = 0 ] || bad="$bad [$cmd: --help exit $RC]"
	printf '%s' "$OUT" | grep -Eq "^(Usage: | *)mtlskit $cmd( |\$)" || bad="$bad [$cmd: no 'Usage: mtlskit $cmd']"
	printf '%s' "$OUT" | grep -q -- '-q/--quiet' || bad="$bad [$cmd: common options not listed]"
	for flag in $(printf '%s' "$OUT" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		case "$flag" in
		--validity | --keyalg | --keysize | --dname)
			[[ "$cmd" == keystore\ * ]] || bad="$bad [$cmd: $flag]" ;;
		--type)
			[[ "$cmd" == keystore\ * || "$cmd" == "key generate" ]] || bad="$bad [$cmd: $flag]" ;;
		--new-key)
			[[ "$cmd" == "csr create" || "$cmd" == renew ]] || bad="$bad [$cmd: $flag]" ;;
		--src-pass)
			printf '%s' "$OUT" | grep -q -- '--src-pass, *$\|--src-pass,\|deprecated' || bad="$bad [$cmd: $flag]" ;;
		--password | --passin | --passout | --in-pass | --storepass | --store-pass | --keypass | \
			--key-size | --keysize-bits | --algorithm | --alg | --subj | --dn | --overwrite | \
			--yes | --silent | --output | --valid-days | --expire | --expires | --lifetime | \
			--validity-days | --timeout-ms | --within-days | --key-alg)
			bad="$bad [$cmd: $flag]" ;;
		esac
	done
	# shellcheck disable=SC2086
	expect_rc 0 "$cmd: -q --help is accepted" "$MTLSKIT" $cmd -q --help
done
expect_eq "every --help speaks the vocabulary" "$bad" ""

# ---- help and version ----
expect_rc 0 "mtlskit help" "$MTLSKIT" help
expect_match "help lists the commands" '^  keystore ' "$OUT"
expect_rc 0 "mtlskit help keystore add-key" "$MTLSKIT" help keystore add-key
expect_match "help VERB SUB is VERB SUB --help" '^Usage: mtlskit keystore add-key' "$OUT"
expect_rc 0 "mtlskit help check" "$MTLSKIT" help check
expect_match "help VERB is VERB --help" '^Usage: mtlskit check' "$OUT"
expect_rc 2 "mtlskit help nosuch" "$MTLSKIT" help nosuch
expect_rc 0 "mtlskit version" "$MTLSKIT" version
expect_match "version names mtlskit and OpenSSL" '^mtlskit [0-9][^ ]* \(OpenSSL 3' "$OUT"
mtk --version
expect_eq "--version says the same as version" "$OUT" "$("$MTLSKIT" version)"

# ---- usage errors: one line, and where to look ----
for cmd in "inspect" "check" "keystore list" "ca sign" "probe" "expiry" "convert"; do
	# shellcheck disable=SC2086
	run "$MTLSKIT" $cmd --no-such-flag
	expect_eq "$cmd: a usage error exits 2" "$RC" 2
	expect_eq "$cmd: a usage error is one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
	expect_match "$cmd: ... naming the help" "^mtlskit $cmd: unknown option '--no-such-flag' \(see 'mtlskit $cmd --help'\)$" "$ERR"
done

# ---- fixtures ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.pem \
	-days 10 -subj "/CN=mid01.example.com" 2>/dev/null
openssl pkcs12 -export -in leaf.pem -inkey leaf.key -passout pass:pfx-secret -out leaf.p12 2>/dev/null
mkdir -p agent && echo "<parameters/>" >agent/config.xml
export PFXPW=pfx-secret STOREPW=store-secret

# ---- --subject: both forms, one result, on every verb that takes one ----
mtk csr create --subject "/C=US/O=Example, Inc./CN=a.example.com" --key leaf.key -o slash.csr
expect_eq "csr create --subject /C=../O=../CN=..: exit 0" "$RC" 0
mtk csr create --subject "CN=a.example.com, O=Example\\, Inc., C=US" --key leaf.key -o comma.csr
expect_eq "csr create --subject CN=.., O=.., C=..: exit 0" "$RC" 0
expect_eq "both forms give the same subject" "$(openssl req -in comma.csr -noout -subject)" \
	"$(openssl req -in slash.csr -noout -subject)"
mtk --json keystore genkey g.jks --alias slash --subject "/C=US/O=Example/CN=b.example.com" --key-type ec:P-256
expect_eq "keystore genkey --subject /..: exit 0" "$RC" 0
mtk --json keystore genkey g.jks --alias comma --subject "CN=b.example.com, O=Example, C=US" --key-type ec:P-256
expect_eq "keystore genkey --subject CN=..,: exit 0" "$RC" 0
mtk --json keystore genkey g.jks --alias dname --dname "CN=b.example.com, O=Example, C=US" --keyalg EC --keysize 256 --validity 10
expect_eq "keystore genkey keytool spellings --dname --keyalg --keysize --validity: exit 0" "$RC" 0
mtk --json keystore list g.jks
expect_json "genkey: the three subjects are one" '[.entries[].certificates[0].subject] | unique | length' 1
expect_json "genkey --key-type ec:P-256 and --keyalg EC: EC keys" '[.entries[].certificates[0].key_type] | unique | join(",")' EC
expect_json "genkey --validity 10 (keytool alias of --days)" \
	'.entries[] | select(.alias == "dname") | .certificates[0] | ((.not_after | fromdateiso8601) - (.not_before | fromdateiso8601)) / 86400 | floor' 10
mtk keystore genkey g.jks --alias days --subject "CN=c.example.com" --days 7
mtk --json keystore list g.jks
expect_json "genkey --days 7" \
	'.entries[] | select(.alias == "days") | .certificates[0] | ((.not_after | fromdateiso8601) - (.not_before | fromdateiso8601)) / 86400 | floor' 7
expect_json "genkey without --key-type: rsa:2048" \
	'.entries[] | select(.alias == "days") | .certificates[0] | "\(.key_type):\(.key_bits)"' RSA:2048
expect_rc 2 "genkey --key-type and --keyalg together: usage" "$MTLSKIT" keystore genkey g.jks --alias x --subject CN=x --key-type ec:P-256 --keyalg RSA

# ---- --key-type: key generate (and its --type alias), ca init ----
mtk key generate --key-type ec:P-384 -o k384.pem
expect_eq "key generate --key-type ec:P-384" "$(openssl pkey -in k384.pem -noout -text 2>/dev/null | grep -o 'NIST CURVE: P-384')" "NIST CURVE: P-384"
mtk key generate --type ed25519 -o ked.pem
expect_match "key generate --type (alias) ed25519" 'ED25519' "$(openssl pkey -in ked.pem -noout -text 2>/dev/null)"
mtk ca init ca --name "Vocab Root" --key-type ec:P-256 --days 30
expect_eq "ca init --key-type ec:P-256 --days 30: exit 0" "$RC" 0
expect_match "ca init --key-type: an EC root" 'ASN1 OID: prime256v1' "$(openssl x509 -in ca/root.crt -noout -text)"

# ---- durations: one parser, every span ----
expect_rc 1 "check --within 2w (expires in 10 days: exit 1, as expiry)" "$MTLSKIT" check --within 2w leaf.pem
expect_rc 1 "expiry --within 2w (the same answer)" "$MTLSKIT" expiry --within 2w leaf.pem
expect_rc 0 "check --within 12h" "$MTLSKIT" check --within 12h leaf.pem
expect_rc 0 "check --within 5 (bare: days)" "$MTLSKIT" check --within 5 leaf.pem
expect_rc 0 "expiry --within 5d" "$MTLSKIT" expiry --within 5d leaf.pem
expect_rc 0 "expiry --timeout 5s" "$MTLSKIT" expiry --timeout 5s leaf.pem
expect_rc 0 "expiry --timeout 1500ms" "$MTLSKIT" expiry --timeout 1500ms leaf.pem
expect_rc 2 "expiry --timeout 5x: usage" "$MTLSKIT" expiry --timeout 5x leaf.pem
expect_rc 2 "check --within soon: usage" "$MTLSKIT" check --within soon leaf.pem
expect_match "a duration error says what a duration looks like" "like 90s, 12h, 30d, 2w" "$ERR"
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_rc 5 "probe --timeout 5s --connect-timeout 500ms (a closed port: exit 5, not usage)" \
	"$MTLSKIT" probe --timeout 5s --connect-timeout 500ms "127.0.0.1:$closed"
expect_rc 2 "probe --timeout 5 parsecs: usage" "$MTLSKIT" probe --timeout 5pc "127.0.0.1:$closed"

# ---- passwords: --pass reads, --out-pass writes ----
mtk keystore add-key new.jks --alias mid --pass env:PFXPW --out-pass env:STOREPW leaf.p12
expect_eq "add-key: --pass opens the PFX, --out-pass protects the store" "$RC" 0
expect_rc 0 "the store opens with the --out-pass password" "$MTLSKIT" keystore list --pass env:STOREPW new.jks
expect_rc 4 "...and not with the PFX's" "$MTLSKIT" keystore list --pass env:PFXPW new.jks
mtk keystore add-key new.jks --alias old --pass env:STOREPW --src-pass env:PFXPW leaf.p12
expect_eq "old spellings --pass (store) --src-pass (source) still work" "$RC" 0
expect_match "...with a deprecation warning" "warning: --src-pass is deprecated" "$ERR"
mtk keystore add-key new.jks --alias both --pass env:STOREPW leaf.pem leaf.key
expect_eq "--pass alone opens the store too (then changeit)" "$RC" 0
mtk --json mid install --agent agent --pass env:PFXPW leaf.p12
expect_match "mid install --pass opens the PFX (exit 0 or 1 for MID findings, not 4)" '^[01]$' "$RC"
expect_json "mid install: no password error" '.error.code // "none"' none

# ---- -q ----
mtk -q key generate -o quiet.key
expect_eq "mtlskit -q key generate: exit 0" "$RC" 0
expect_eq "-q: no note on stderr" "$ERR" ""
expect_match "-q: the public key (data asked for) still on stdout" '^-----BEGIN PUBLIC KEY-----' "$OUT"
mtk check -q leaf.pem
expect_eq "check -q: nothing on stdout" "$OUT" ""
mtk check --quiet leaf.pem missing.pem
expect_match "check --quiet: errors are still printed" "missing.pem" "$ERR"

done_testing
