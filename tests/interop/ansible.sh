#!/usr/bin/env bash
# ansible.sh - the example Ansible role (packaging/ansible) run for real with
# `ansible-playbook -c local -i localhost,` against a temporary agent
# directory: the first run installs the MID bundle and two trusted
# certificates (changed > 0 in the PLAY RECAP), the second run changes
# nothing (changed=0), a renewed bundle changes exactly the keystore entry
# (changed=2: the copied bundle and the install); keytool reads the results.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
command -v ansible-playbook >/dev/null || { ok "# SKIP ansible-playbook not installed"; done_testing; exit 0; }
cd "$T" || exit 1
mtk_q() { "$MTLSKIT" "$@" >/dev/null 2>&1; }

# A lab CA, a client certificate and its MID bundle; a partner CA to trust.
mtk_q ca init lab --name "Ansible Lab Root" --intermediate "Ansible Lab Issuing" --key-type ec:P-256
mtk_q csr create --cn mid01.example.com --org "Example Corp" --country US --new-key ec:P-256 --key-out c.key -o c.csr
mtk_q ca sign lab c.csr -o c.crt --chain-out chain.pem
mtk_q bundle c.crt chain.pem c.key -o bundle.pem
mtk_q ca init partner --name "Partner Root" --key-type ec:P-256
mkdir -p agent && echo "<parameters/>" >agent/config.xml
expect_file "the bundle exists" bundle.pem

export ANSIBLE_LOCAL_TEMP=$T/ansible-local ANSIBLE_REMOTE_TEMP=$T/ansible-remote ANSIBLE_NOCOLOR=1 \
	ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
	ANSIBLE_ROLES_PATH=$MTLSKIT_SRC/packaging/ansible/roles HOME=$T
cat >vars.yml <<VARS
mtlskit_bin: $MTLSKIT
mtlskit_mid_agent_dir: $T/agent
mtlskit_mid_bundle_src: $T/bundle.pem
mtlskit_truststore_path: $T/agent/security/partners.jks
mtlskit_truststore_pass: trust-me-please
mtlskit_trusted_certs:
  - {alias: partner-root, src: $T/partner/root.crt}
  - {alias: lab-root, src: $T/lab/root.crt}
VARS
cat >site.yml <<'PLAY'
- hosts: all
  gather_facts: false
  roles:
    - mtlskit_mid
PLAY
play() { LC_ALL=C.UTF-8 run timeout 300 ansible-playbook -c local -i localhost, -e @vars.yml site.yml; }
recap() { printf '%s\n' "$OUT" | sed -n 's/^localhost *: *\(ok=.*\)$/\1/p' | tr -s ' '; }
field() { recap | grep -oE "$1=[0-9]+" | cut -d= -f2; }

play
expect_eq "first run: ansible-playbook exits 0" "$RC" 0
[ "$RC" = 0 ] || diag "$OUT" "$ERR"
diag "first run: $(recap)"
expect_eq "first run: failed=0" "$(field failed)" 0
expect_eq "first run: changed=6 tasks (security dir, bundle copy, mid install, certs dir, the copies, the add-trusted loop)" \
	"$(field changed)" 6
mtk --json keystore list agent/security/agent_keystore.jks
expect_json "the agent keystore holds defaultsecuritykeypairhandle" '[.entries[].alias] | join(",")' defaultsecuritykeypairhandle
mtk --json keystore list --pass pass:trust-me-please agent/security/partners.jks
expect_json "the truststore holds both trusted certificates" '[.entries[] | .alias + ":" + .type] | sort | join(",")' \
	"lab-root:trustedCertEntry,partner-root:trustedCertEntry"

play
expect_eq "second run: exits 0" "$RC" 0
diag "second run: $(recap)"
expect_eq "second run: changed=0" "$(field changed)" 0
expect_eq "second run: failed=0" "$(field failed)" 0
expect_no_file "second run: no backup of the agent keystore (nothing was rewritten)" "$(ls agent/security/agent_keystore.jks.bak-* 2>/dev/null | head -1)"

# A renewal: same key, new certificate.
mtk_q ca sign lab c.csr -o c2.crt --days 400
mtk_q bundle c2.crt chain.pem c.key -o bundle.pem --force
play
expect_eq "renewed bundle: exits 0" "$RC" 0
diag "third run: $(recap)"
expect_eq "renewed bundle: changed=2 (the bundle copied, mid install)" "$(field changed)" 2
expect_match "renewed bundle: the old keystore was kept as .bak-" 'agent_keystore\.jks\.bak-[0-9]{8}T[0-9]{6}Z' "$(ls agent/security)"
expect_eq "the agent keystore now holds the renewed certificate" \
	"$("$MTLSKIT" keystore export agent/security/agent_keystore.jks --alias defaultsecuritykeypairhandle | openssl x509 -noout -fingerprint -sha256)" \
	"$(openssl x509 -in c2.crt -noout -fingerprint -sha256)"

# Java's keytool reads both stores.
if command -v keytool >/dev/null; then
	run keytool -list -keystore agent/security/agent_keystore.jks -storepass changeit
	expect_match "keytool: defaultsecuritykeypairhandle is a PrivateKeyEntry" '^defaultsecuritykeypairhandle, .*PrivateKeyEntry' "$OUT"
	run keytool -list -keystore agent/security/partners.jks -storepass trust-me-please
	expect_match "keytool: partner-root is a trustedCertEntry" '^partner-root, .*trustedCertEntry' "$OUT"
else
	ok "# SKIP keytool not installed"
fi

# add-trusted's own answers, which the role relies on.
mtk keystore add-trusted --json --pass pass:trust-me-please agent/security/partners.jks --alias lab-root lab/root.crt
expect_json "add-trusted, same certificate and alias: changed false, exit 0" '"\(.changed) \(.exit)"' "false 0"
mtk keystore add-trusted --json --pass pass:trust-me-please agent/security/partners.jks --alias lab-root partner/root.crt
expect_json "add-trusted, another certificate under the alias: refused without --force" '.exit' 2
done_testing
