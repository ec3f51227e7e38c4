// GatewayClient - a Java 17 mTLS client for the gateway tests.
//
// Usage: java GatewayClient URL KEYSTORE TRUSTSTORE
// The keystore (JKS, as a MID Server uses) and truststore passwords come from
// the environment (GW_KS_PASS, GW_TS_PASS), never from the command line.
// Prints "STATUS <code>" then the response body; on a refused handshake
// prints "HANDSHAKE-FAILED <message>" and exits 1.
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URL;
import java.security.KeyStore;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

public class GatewayClient {
    public static void main(String[] args) throws Exception {
        char[] ksPass = System.getenv("GW_KS_PASS").toCharArray();
        char[] tsPass = System.getenv("GW_TS_PASS").toCharArray();
        KeyStore ks = KeyStore.getInstance("JKS");
        try (FileInputStream in = new FileInputStream(args[1])) {
            ks.load(in, ksPass);
        }
        KeyStore ts = KeyStore.getInstance("JKS");
        try (FileInputStream in = new FileInputStream(args[2])) {
            ts.load(in, tsPass);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, ksPass);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);

        HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
        c.setSSLSocketFactory(ctx.getSocketFactory());
        c.setConnectTimeout(10000);
        c.setReadTimeout(10000);
        c.setRequestProperty("X-Client-User", "spoofed-by-java");
        int code;
        try {
            code = c.getResponseCode();
        } catch (SSLException | java.net.SocketException e) {
            System.out.println("HANDSHAKE-FAILED " + e);
            System.exit(1);
            return;
        }
        System.out.println("STATUS " + code);
        System.out.println("PROTOCOL " + c.getCipherSuite());
        InputStream body = code < 400 ? c.getInputStream() : c.getErrorStream();
        if (body != null) {
            System.out.print(new String(body.readAllBytes(), "UTF-8"));
        }
    }
}
