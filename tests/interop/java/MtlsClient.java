// MtlsClient - a Java TLS client that presents the key entry of a JKS
// keystore, as the MID Server does with agent_keystore.jks.
// Usage: java MtlsClient HOST PORT KEYSTORE STOREPASS CA_PEM
// Prints "HANDSHAKE OK <protocol> <server subject>" and exits 0, or the
// exception and exits 1.
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public class MtlsClient {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        char[] pass = args[3].toCharArray();
        try {
            KeyStore ks = KeyStore.getInstance("JKS");
            try (InputStream in = new FileInputStream(args[2])) {
                ks.load(in, pass);
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, pass);

            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            try (InputStream in = new FileInputStream(args[4])) {
                X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
                trust.setCertificateEntry("ca", ca);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);

            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
                s.startHandshake();
                OutputStream out = s.getOutputStream();
                out.write("hello from java\n".getBytes("US-ASCII"));
                out.flush();
                X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
                System.out.println("HANDSHAKE OK " + s.getSession().getProtocol() + " "
                        + peer.getSubjectX500Principal().getName());
            }
        } catch (Exception e) {
            System.out.println("HANDSHAKE FAILED " + e);
            System.exit(1);
        }
    }
}
