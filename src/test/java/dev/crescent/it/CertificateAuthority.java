package dev.crescent.it;

import dev.crescent.client.ClientTls;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * A throwaway certificate authority for mutual-TLS tests, made with the {@code openssl} command (Debian's, which
 * {@code bin/test} installs when missing): EC P-256 keys, PKCS#8, certificates valid for localhost and 127.0.0.1,
 * for both server and client use, with the node name as subject CN.
 */
public final class CertificateAuthority {
    private final Path dir;
    private final String name;

    /** One node's key pair and certificate. */
    public record Identity(Path certificate, Path key, Path trusted) {

        /** A client context presenting this identity and trusting the authority that made it. */
        public SSLContext clientContext() {
            return ClientTls.fromPem(certificate, key, trusted);
        }

        /** A server context presenting this identity (for a transfer server in the test's own JVM). */
        public SSLContext serverContext() throws IOException {
            return jdkContext(SslContextBuilder.forServer(certificate.toFile(), key.toFile()));
        }

        /** The {@code quarkus.tls.*} properties of a server (or worker) with this identity. */
        public List<String> serverProperties() {
            return List.of(
                    "quarkus.tls.key-store.pem.0.cert=" + certificate,
                    "quarkus.tls.key-store.pem.0.key=" + key,
                    "quarkus.tls.trust-store.pem.certs=" + trusted,
                    "quarkus.http.ssl-port=0",
                    "quarkus.http.insecure-requests=disabled");
        }
    }

    private CertificateAuthority(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    /** A new authority whose files live under {@code dir}. */
    public static CertificateAuthority create(Path dir, String name) throws IOException {
        CertificateAuthority ca = new CertificateAuthority(dir, name);
        newKey(dir, ca.file("key"), ca.certificate(), name, "-x509", "-days", "2");
        return ca;
    }

    /** The authority's own certificate: what peers trust. */
    public Path certificate() {
        return file("crt");
    }

    /** A context that trusts this authority and presents no certificate of its own. */
    public SSLContext trustOnly() throws IOException {
        return jdkContext(
                SslContextBuilder.forClient().trustManager(certificate().toFile()));
    }

    /** The JDK's own SSLContext of what {@code builder} describes (Netty reads the PEM files). */
    private static SSLContext jdkContext(SslContextBuilder builder) throws IOException {
        return ((JdkSslContext) builder.sslProvider(SslProvider.JDK).build()).context();
    }

    /** Issues a certificate for {@code commonName}. */
    public Identity issue(String commonName) throws IOException {
        Path key = dir.resolve(name + "-" + commonName + ".key");
        Path request = dir.resolve(name + "-" + commonName + ".csr");
        Path extensions = dir.resolve(name + "-" + commonName + ".ext");
        Path certificate = dir.resolve(name + "-" + commonName + ".crt");
        Files.writeString(
                extensions,
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
                StandardCharsets.US_ASCII);
        newKey(dir, key, request, commonName);
        openssl(
                dir,
                "x509",
                "-req",
                "-in",
                request.toString(),
                "-CA",
                certificate().toString(),
                "-CAkey",
                file("key").toString(),
                "-CAcreateserial",
                "-out",
                certificate.toString(),
                "-days",
                "2",
                "-extfile",
                extensions.toString());
        return new Identity(certificate, key, certificate());
    }

    private Path file(String extension) {
        return dir.resolve(name + "." + extension);
    }

    /**
     * {@code openssl req}: a new EC P-256 key at {@code key}, and at {@code out} a signing request for {@code
     * commonName}, or what {@code more} makes of it ({@code -x509}: a self-signed certificate).
     */
    private static void newKey(Path dir, Path key, Path out, String commonName, String... more) throws IOException {
        List<String> arguments = new ArrayList<>(List.of(
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key.toString(),
                "-out",
                out.toString(),
                "-subj",
                "/CN=" + commonName));
        arguments.addAll(List.of(more));
        openssl(dir, arguments.toArray(String[]::new));
    }

    private static void openssl(Path dir, String... arguments) throws IOException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException("openssl " + String.join(" ", arguments) + " failed:\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
