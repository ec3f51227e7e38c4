// ReadStores.java - loads keystores with the Java 17 KeyStore API, as a Java
// application (the MID Server) does, and prints one line per entry:
//   FILE ALIAS KIND CHAIN_LENGTH SHA256,SHA256,... KEY
// KIND is key, trusted or secret; KEY is "match" when the private key signs
// what the leaf's public key verifies, "n/a" for other entries, or the
// exception when the key cannot be recovered; for a secret key, its
// algorithm, size and the start of its SHA-256.  Arguments: triples of
// FILE TYPE PASSWORD ("-" for none).  TYPE MIDBUNDLE reads a PEM bundle as
// the MID Server does (certificates, then an unencrypted PKCS#8 key) and
// prints it as one key entry.  One JVM reads every file of a test.
import java.io.ByteArrayInputStream;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.security.*;
import java.security.cert.Certificate;
import java.util.*;

public class ReadStores {
	static String hex(byte[] b) {
		StringBuilder s = new StringBuilder();
		for (int i = 0; i < b.length; i++)
			s.append(i > 0 ? ":" : "").append(String.format("%02X", b[i]));
		return s.toString();
	}

	static String sigAlg(PrivateKey k) {
		switch (k.getAlgorithm()) {
		case "RSA": return "SHA256withRSA";
		case "EC": return "SHA256withECDSA";
		case "Ed25519": return "Ed25519";
		default: return "SHA256with" + k.getAlgorithm();
		}
	}

	// A PEM bundle as a PKCS12 store in memory: one key entry "bundle".
	static KeyStore bundle(String file) throws Exception {
		String text = new String(Files.readAllBytes(Paths.get(file)), "US-ASCII");
		Matcher m = Pattern.compile("-----BEGIN ([A-Z ]+)-----\\n([A-Za-z0-9+/=\\n]+)-----END \\1-----").matcher(text);
		List<Certificate> chain = new ArrayList<>();
		PrivateKey key = null;
		while (m.find()) {
			byte[] der = Base64.getMimeDecoder().decode(m.group(2));
			if (m.group(1).equals("CERTIFICATE"))
				chain.add(CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)));
			else if (m.group(1).equals("PRIVATE KEY"))
				for (String alg : new String[] { "RSA", "EC", "Ed25519" }) {
					try { key = KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der)); break; }
					catch (Exception e) { }
				}
			else
				throw new Exception("unexpected block " + m.group(1));
		}
		if (key == null)
			throw new Exception("no PKCS#8 key the JDK reads");
		KeyStore ks = KeyStore.getInstance("PKCS12");
		ks.load(null, null);
		ks.setKeyEntry("bundle", key, "-".toCharArray(), chain.toArray(new Certificate[0]));
		return ks;
	}

	public static void main(String[] a) throws Exception {
		for (int i = 0; i + 2 < a.length; i += 3) {
			String file = a[i], type = a[i + 1];
			char[] pw = a[i + 2].equals("-") ? null : a[i + 2].toCharArray();
			try {
				KeyStore ks;
				if (type.equals("MIDBUNDLE")) {
					ks = bundle(file);
					pw = "-".toCharArray();
				} else {
					ks = KeyStore.getInstance(type);
					try (FileInputStream in = new FileInputStream(file)) {
						ks.load(in, pw);
					}
				}
				for (String al : Collections.list(ks.aliases())) {
					String kind = ks.isKeyEntry(al) ? (ks.getCertificateChain(al) == null ? "secret" : "key") : "trusted";
					Certificate[] ch = kind.equals("key") ? ks.getCertificateChain(al)
						: kind.equals("trusted") ? new Certificate[] { ks.getCertificate(al) } : new Certificate[0];
					StringBuilder fps = new StringBuilder();
					for (Certificate c : ch)
						fps.append(fps.length() > 0 ? "," : "").append(hex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded())));
					String key = "n/a";
					if (!kind.equals("trusted")) {
						try {
							Key k = ks.getKey(al, pw);
							if (k instanceof PrivateKey) {
								Signature s = Signature.getInstance(sigAlg((PrivateKey) k));
								s.initSign((PrivateKey) k);
								s.update("mtlskit".getBytes());
								byte[] sig = s.sign();
								s.initVerify(ch[0].getPublicKey());
								s.update("mtlskit".getBytes());
								key = s.verify(sig) ? "match" : "mismatch";
							} else {
								key = k.getAlgorithm() + "-" + (k.getEncoded().length * 8) + "-"
									+ hex(MessageDigest.getInstance("SHA-256").digest(k.getEncoded())).substring(0, 11);
							}
						} catch (Exception e) {
							key = "ERROR:" + e.getClass().getSimpleName() + ":" + String.valueOf(e.getMessage()).replace(' ', '_');
						}
					}
					System.out.println(file + " " + al + " " + kind + " " + ch.length + " " + (fps.length() > 0 ? fps : "-") + " " + key);
				}
			} catch (Exception e) {
				System.out.println(file + " LOAD-ERROR " + e.getClass().getSimpleName() + ":" + String.valueOf(e.getMessage()).replace(' ', '_'));
			}
		}
	}
}
