#!/usr/bin/env bash
# check-java.sh - what Java says: a small Java 17 reader that does what the
# MID Server's bundle import does (certificates with CertificateFactory, the
# key with PKCS8EncodedKeySpec, chain signed link by link and ending in a CA,
# key matching the leaf, then a JKS entry under defaultsecuritykeypairhandle)
# accepts what `mtlskit bundle` writes and rejects what `mtlskit check`
# flags; and keytool-made keystores for the outbound and mid profiles.
source "${MTLSKIT_TESTLIB:-$(dirname "$0")/../lib/tap.sh}"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check-pki.sh"

command -v java >/dev/null && command -v keytool >/dev/null || {
	echo "1..0 # SKIP java/keytool not installed"
	exit 0
}
pki_init
cd "$P" || exit 1

cat >MidBundle.java <<'EOF'
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class MidBundle {
    public static void main(String[] a) throws Exception {
        String s = new String(Files.readAllBytes(Path.of(a[0])), StandardCharsets.ISO_8859_1);
        Matcher m = Pattern.compile("-----BEGIN ([A-Z ]+)-----\n([A-Za-z0-9+/=\n]+)-----END \\1-----\n").matcher(s);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> certs = new ArrayList<>();
        PrivateKey key = null;
        int pos = 0;
        while (m.find()) {
            if (m.start() != pos) throw new Exception("PEM parsing error at byte " + pos);
            pos = m.end();
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            if (m.group(1).equals("CERTIFICATE")) {
                certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
            } else if (m.group(1).equals("PRIVATE KEY")) {
                for (String alg : new String[] {"RSA", "EC"}) {
                    try { key = KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der)); break; }
                    catch (InvalidKeySpecException e) { }
                }
            }
        }
        if (pos != s.length()) throw new Exception("PEM parsing error at byte " + pos);
        if (key == null) throw new Exception("Could not find valid private key");
        for (int i = 0; i + 1 < certs.size(); i++) certs.get(i).verify(certs.get(i + 1).getPublicKey());
        X509Certificate last = certs.get(certs.size() - 1);
        if (last.getBasicConstraints() < 0 || !last.getSubjectX500Principal().equals(last.getIssuerX500Principal()))
            throw new Exception("Certificate chain is not end with a CA cert");
        last.verify(last.getPublicKey());
        String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        Signature sg = Signature.getInstance(alg);
        sg.initSign(key); sg.update(new byte[] {1}); byte[] sig = sg.sign();
        sg.initVerify(certs.get(0)); sg.update(new byte[] {1});
        if (!sg.verify(sig)) throw new Exception("the key does not match the leaf");
        KeyStore ks = KeyStore.getInstance("JKS");
        ks.load(null, null);
        ks.setKeyEntry("defaultsecuritykeypairhandle", key, "changeit".toCharArray(), certs.toArray(new X509Certificate[0]));
        System.out.println("OK " + certs.size() + " certificates, " + key.getAlgorithm() + " key");
    }
}
EOF
javac -d . MidBundle.java 2>/dev/null || { echo "Bail out! javac failed"; exit 1; }
jread() { run java -cp "$P" MidBundle "$1"; }

# The Windows-made bundle: Java refuses it, mtlskit bundle fixes it, Java takes the result.
{
	printf '\xef\xbb\xbf'
	cat root.pem leaf-pkcs1.key
	printf '\x1a'
	cat inter.pem leaf.pem
} | sed 's/$/\r/' >win.pem
jread win.pem
expect_match "Java refuses the Windows bundle" "PEM parsing error|Could not find valid private key" "$ERR"
mtk bundle win.pem -o fixed.pem
expect_eq "mtlskit bundle: exit 0" "$RC" 0
jread fixed.pem
expect_eq "Java reads the fixed bundle (chain, key, JKS entry)" "$OUT" "OK 3 certificates, RSA key"
mtk bundle win.pem --order key-after-leaf -o kal.pem
jread kal.pem
expect_eq "Java reads the key-after-leaf variant" "$OUT" "OK 3 certificates, RSA key"

# What check flags, Java rejects with the quoted message.
cat leaf.pem inter.pem root.pem leaf-pkcs1.key >pkcs1.pem
mtk check --json --profile mid pkcs1.pem
expect_eq "check: key-not-pkcs8" "$(finding_ids)" "key-not-pkcs8"
jread pkcs1.pem
expect_match "Java: 'Could not find valid private key'" "Could not find valid private key" "$ERR"
cat leaf.pem inter.pem leaf.key >noroot.pem
mtk check --json --profile mid noroot.pem
expect_eq "check: chain-incomplete" "$(finding_ids)" "chain-incomplete"
jread noroot.pem
expect_match "Java: 'Certificate chain is not end with a CA cert'" "Certificate chain is not end with a CA cert" "$ERR"
sed 's/$/\r/' fixed.pem >crlf.pem
mtk check --json --profile mid crlf.pem
expect_eq "check: pem-crlf" "$(finding_ids)" "pem-crlf"
jread crlf.pem
expect_match "Java: a PEM parsing error on CRLF" "PEM parsing error" "$ERR"

# keystore-type: a PKCS12 keystore from keytool for an outbound "Java Key Store" record.
keytool -genkeypair -keystore out.p12 -storetype PKCS12 -storepass changeit -alias client \
	-keyalg RSA -keysize 2048 -dname "CN=out.example.com,O=Example,C=GB" -validity 365 \
	-ext EKU=clientAuth >/dev/null 2>&1
mtk check --json --profile outbound --pass pass:changeit out.p12
expect_eq "keytool PKCS12 for outbound: keystore-type (and its self-signed leaf)" "$(finding_ids)" \
	"keystore-type leaf-self-signed"
expect_json "keystore-type is an error" '.findings[] | select(.id=="keystore-type") | .severity' error
expect_eq "exit 1" "$RC" 1

# A MID agent directory with a JKS keystore (keytool): read when this build
# has the JKS reader, otherwise a clear "cannot read" (exit 3).
mkdir -p agent/security && echo "<parameters/>" >agent/config.xml
keytool -genkeypair -keystore agent/security/agent_keystore.jks -storetype JKS -storepass changeit \
	-keypass changeit -alias somethingelse -keyalg RSA -keysize 2048 \
	-dname "CN=mid01.example.com,O=Example,C=GB" -validity 365 -ext EKU=clientAuth >/dev/null 2>&1
mtk check --json --profile mid agent
if [ "$RC" = 3 ]; then
	expect_match "agent dir without a JKS reader: says it cannot read the keystore" \
		"cannot read JKS keystore entries" "$ERR"
else
	expect_eq "agent dir: the alias is missing and the leaf self-signed" "$(finding_ids)" \
		"keystore-alias leaf-self-signed"
fi
expect_rc 3 "a directory that is no agent" "$MTLSKIT" check --profile mid "$P/ca"
expect_match "says what it looked for" "security/agent_keystore.jks" "$ERR"
# The agent directory is decided where `mid install` decides it (mid.h):
# the MID Server's own directory is refused with the same pointer.
expect_rc 3 "the MID Server's directory, one above agent/: refused as mid install does" \
	"$MTLSKIT" check --profile mid .
expect_match "points at the agent directory below" "found \./agent/config\.xml \(use \./agent\)" "$ERR"
# The default password is tried on an agent keystore only, by name.
cp agent/security/agent_keystore.jks other.jks
expect_rc 4 "another JKS with the MID default: not opened with a guessed password" \
	"$MTLSKIT" check other.jks
expect_match "asks for --pass" "other.jks: password-protected; give --pass" "$ERR"
done_testing
