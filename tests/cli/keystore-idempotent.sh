#!/usr/bin/env bash
# keystore-idempotent.sh - `keystore add-trusted` tells "changed" from
# "unchanged" (what configuration tools such as the Ansible role in
# packaging/ansible rely on), in every store type: the first add writes
# ("changed": true), the same certificate under the same alias again writes
# nothing ("changed": false, exit 0, the file untouched), another certificate
# under that alias is refused without --force (exit 2) and replaced with it.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
cd "$T" || exit 1
"$MTLSKIT" ca init a --name "Idem Root A" --key-type ec:P-256 >/dev/null 2>&1
"$MTLSKIT" ca init b --name "Idem Root B" --key-type ec:P-256 >/dev/null 2>&1
for type in jks jceks pkcs12; do
	S=$T/trust.$type
	mtk keystore add-trusted --json --type $type --pass pass:changeit "$S" --alias root a/root.crt
	expect_json "$type: first add-trusted: changed true, exit 0" '"\(.changed) \(.exit)"' "true 0"
	before=$(sha256sum <"$S")
	mtk keystore add-trusted --json --pass pass:changeit "$S" --alias root a/root.crt
	expect_json "$type: same certificate, same alias: changed false, exit 0" '"\(.changed) \(.exit)"' "false 0"
	expect_eq "$type: the store was not rewritten" "$(sha256sum <"$S")" "$before"
	mtk keystore add-trusted --pass pass:changeit "$S" --alias root a/root.crt
	expect_match "$type: without --json it says unchanged" '^unchanged: <root> already holds this certificate$' "$OUT"
	mtk keystore add-trusted --json --pass pass:changeit "$S" --alias root b/root.crt
	expect_json "$type: another certificate under the alias: refused (exit 2)" '.exit' 2
	mtk keystore add-trusted --json --force --pass pass:changeit "$S" --alias root b/root.crt
	expect_json "$type: with --force it is replaced: changed true" '"\(.changed) \(.exit)"' "true 0"
	mtk --json keystore list --pass pass:changeit "$S"
	expect_json "$type: the alias now holds B's root" '.entries[0].certificates[0].subject' "CN=Idem Root B"
done
done_testing
