#!/usr/bin/env bash
# fixes.sh - every printed fix works.  For each finding id, a fixture that
# triggers it; when the finding carries a command ("fix"), the command is run
# literally (eval, in a fresh copy of the fixture directory), the check is run
# again on what it wrote, and the finding must be gone.  A remedy outside the
# tool (the CA, the user's own key, the instance) must be advice with no
# command.  Every id of include/mtlskit/findings.h must have a row here (or be
# listed under ELSEWHERE with the suite that asserts it): a new id without a
# row fails this test.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check-pki.sh"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

pki_init
cd "$P" || exit 1
BIN=$(mktemp -d "$T/bin.XXXX")
ln -s "$MTLSKIT" "$BIN/mtlskit" # the fix says "mtlskit ...": run it as printed
export KEY_PASS=secret PFX_PASS=pw PASS=pw JKS_PASS=changeit

# ---- fixtures (check-pki.sh lists them) ----
pki_variants
if command -v keytool >/dev/null; then
	# two key entries in one JKS: the "Java Key Store" record uses one
	for a in one two; do
		keytool -genkeypair -alias "$a" -keyalg RSA -keysize 2048 -dname "CN=$a.example.com, C=GB" \
			-validity 365 -storetype JKS -keystore two.jks -storepass changeit -keypass changeit \
			-ext eku=clientAuth >/dev/null 2>&1
	done
fi

# ---- the table ----
# fix VERB ID ARGS...   the finding must carry a command; run it, re-check its output
# adv VERB ID ARGS...   the finding must carry advice and no command
# VERB "check:PROFILE" runs `mtlskit check --profile PROFILE`; "inspect" runs inspect.
declare -A COVERED=()
n=0

# The file a fix writes: the argument of its -o.
fix_output() { printf '%s\n' "$1" | sed -n 's/.* -o \([^ ]*\).*/\1/p'; }

findings_of() { # VERB ARGS... -> $OUT (JSON)
	local verb=$1
	shift
	case $verb in
	check:*) mtk check --json --profile "${verb#check:}" "$@" ;;
	inspect) mtk inspect --json "$@" ;;
	esac
}

fix() {
	local verb=$1 id=$2 fixcmd out dir
	shift 2
	n=$((n + 1))
	COVERED[$id]=1
	dir="$T/row$n"
	mkdir -p "$dir" && cp -- *.pem *.key *.pfx "$dir"/ 2>/dev/null
	cd "$dir" || return
	findings_of "$verb" "$@"
	expect_match "[$n] $verb $*: $id reported" "(^| )$id( |$)" "$(finding_ids)"
	fixcmd=$(printf '%s' "$OUT" | jq -r --arg id "$id" '[.findings[] | select(.id==$id) | .fix] | .[0] // empty')
	if [ -z "$fixcmd" ]; then
		not_ok "[$n] $id: a command is printed"
		diag "$OUT"
		cd "$P" || exit 1
		return
	fi
	expect_match "[$n] $id: the fix is an mtlskit command" '^mtlskit ' "$fixcmd"
	out=$(fix_output "$fixcmd")
	run env PATH="$BIN:$PATH" bash -c "$fixcmd"
	expect_eq "[$n] $id: '$fixcmd' runs (exit 0)" "$RC" 0
	[ "$RC" = 0 ] || diag "$ERR"
	expect_file "[$n] $id: it wrote what it names ($out)" "$out"
	if [ -n "${POST:-}" ]; then
		"$POST" "$out"
		out=$POST_OUT
	fi
	if [ ! -e "$out" ]; then
		not_ok "[$n] $id: gone after the fix (nothing to check again)"
		cd "$P" || exit 1
		return
	fi
	case $verb in
	check:*) findings_of "$verb" "$out" ${RECHECK_ARGS:-} ;;
	*) findings_of "$verb" "$out" ;;
	esac
	if printf '%s' "$(finding_ids)" | grep -Eq "(^| )$id( |$)"; then
		not_ok "[$n] $id: gone after the fix"
		diag "findings: $(finding_ids)"
	else
		ok "[$n] $id: gone after the fix"
	fi
	cd "$P" || exit 1
}

adv() {
	local verb=$1 id=$2
	shift 2
	n=$((n + 1))
	COVERED[$id]=1
	findings_of "$verb" "$@"
	expect_match "[$n] $verb $*: $id reported" "(^| )$id( |$)" "$(finding_ids)"
	expect_eq "[$n] $id: no command (the remedy is outside the tool)" \
		"$(printf '%s' "$OUT" | jq -r --arg id "$id" '[.findings[] | select(.id==$id) | .fix] | unique | join(",")')" ""
	expect_match "[$n] $id: advice says what to do" '[a-z]' \
		"$(printf '%s' "$OUT" | jq -r --arg id "$id" '[.findings[] | select(.id==$id) | .advice // empty] | .[0] // ""')"
}

# A renewal request is not a certificate: the CA signs it (here: openssl,
# copying the request's extensions, so only what the request asks for is
# in the result), then the bundle is rebuilt with the same key.
sign_request() {
	openssl x509 -req -in "$1" -CA "$P/inter.pem" -CAkey "$P/inter.key" -days 30 \
		-copy_extensions copyall -out renewed.pem 2>/dev/null
	cat renewed.pem "$P/inter.pem" "$P/root.pem" "$RENEW_KEY" >renewed-bundle.pem
	POST_OUT=renewed-bundle.pem
}

fix check:mid key-not-pkcs8 pkcs1.pem
fix check:mid key-encrypted enc.pem
fix check:mid key-not-pkcs8 "my bundle.pem"
adv check:mid key-mismatch mismatch.pem
adv check:mid key-missing nokey.pem
fix check:upload-user key-in-upload good.pem
fix check:upload-ca key-in-upload good.pem
adv check:mid chain-incomplete noroot.pem
fix check:mid chain-order order.pem
fix check:mid chain-order dup.pem
fix check:upload-user chain-order nokey.pem
fix check:upload-ca chain-order ca-rev.pem
fix check:upload-ca chain-order nokey.pem
fix check:mid chain-broken extra.pem
adv check:mid chain-broken gap.pem
adv check:mid chain-untrusted good.pem --ca other-root.pem
adv check:mid leaf-self-signed self.pem
POST=sign_request RENEW_KEY=$P/srv.key fix check:mid leaf-no-client-auth srv-bundle.pem
POST=sign_request RENEW_KEY=$P/leaf.key fix check:server leaf-no-server-auth good.pem
adv check:mid cert-expired expired.pem
adv check:mid cert-not-yet-valid notyet.pem
adv check:mid cert-expiring soon-bundle.pem
fix check:mid pem-crlf crlf.pem
fix check:mid pem-stray-bytes bom.pem
fix check:mid pem-stray-bytes ctrlz.pem
fix check:mid pem-blank-lines blank.pem
fix check:upload-ca pem-blank-lines blank.pem
fix check:upload-ca pem-crlf crlf-ca.pem
fix check:upload-user pem-crlf crlf-leaf.pem
fix inspect pem-crlf crlf-leaf.pem
fix inspect pem-crlf crlf-ca.pem
fix check:mid keystore-type l.pfx --pass env:PFX_PASS
RECHECK_ARGS="--pass env:JKS_PASS" fix check:outbound keystore-type l.pfx --pass env:PFX_PASS
if [ -s two.jks ]; then
	adv check:outbound keystore-alias two.jks --pass env:JKS_PASS
else
	ok "keystore-alias row # SKIP keytool missing"
	COVERED[keystore-alias]=1
fi
adv check:mid subject-invalid uk-bundle.pem
adv check:mid subject-servicenow-domain snow-bundle.pem
adv check:mid weak-crypto sha1-bundle.pem
# inspect prints its own fixes for keys
fix inspect key-not-pkcs8 leaf-pkcs1.key
fix inspect key-encrypted leaf-enc.key

# renew prints its own fix for a key that is not the certificate's: run it;
# renew exits 1 while key-mismatch stands, so exit 0 is the finding gone.
n=$((n + 1))
mkdir -p "$T/row$n" && cp leaf.pem other.key "$T/row$n"/ && cd "$T/row$n" || exit 1
mtk --json renew leaf.pem --key other.key -o r.csr
expect_eq "[$n] renew with another key: key-mismatch, exit 1" "$RC/$(finding_ids)" "1/key-mismatch"
fixcmd=$(printf '%s' "$OUT" | jq -r '.findings[0].fix // empty')
expect_match "[$n] key-mismatch: the fix is an mtlskit command" '^mtlskit renew ' "$fixcmd"
run env PATH="$BIN:$PATH" bash -c "$fixcmd"
expect_eq "[$n] key-mismatch: '$fixcmd' runs (exit 0: no key-mismatch)" "$RC" 0
expect_file "[$n] key-mismatch: it wrote $(fix_output "$fixcmd")" "$(fix_output "$fixcmd")"
cd "$P" || exit 1

# ---- coverage: every id of the contract has a row ----
# Asserted by other suites (they need a live server):
ELSEWHERE="tls-intercepted:interop/probe-intercept instance-not-ready:interop/probe-servicenow"
for e in $ELSEWHERE; do
	id=${e%%:*}
	suite=${e#*:}
	grep -q "\.advice" "$SRC/tests/${suite}.sh" &&
		COVERED[$id]=1
done
ids=$(grep -o 'F([A-Z0-9_]*, "[a-z0-9-]*")' "$SRC/include/mtlskit/findings.h" | sed 's/.*"\(.*\)")/\1/')
expect_match "the finding list was read" 'chain-broken' "$ids"
missing=
for id in $ids; do
	[ -n "${COVERED[$id]:-}" ] || missing="$missing $id"
done
expect_eq "every finding id has a row (or a suite that asserts it)" "${missing# }" ""
# ... and every id a source file adds is in the contract's list.
used=$(grep -rhoE 'MTK_F_[A-Z0-9_]+' "$SRC/lib" "$SRC/cli" | sort -u | grep -v '^MTK_F__COUNT$' |
	grep -v '^MTK_F_NAME$' | grep -v '^MTK_F_ENUM$')
unknown=
for e in $used; do
	grep -q "F(${e#MTK_F_}, " "$SRC/include/mtlskit/findings.h" || unknown="$unknown $e"
done
expect_eq "every MTK_F_ id used in lib/ and cli/ is in findings.h" "${unknown# }" ""
done_testing
