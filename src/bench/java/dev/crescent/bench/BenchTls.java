package dev.crescent.bench;

import dev.crescent.client.ClientTls;

import java.nio.file.Path;
import javax.net.ssl.SSLContext;

/**
 * TLS for the benchmark clients, from {@code -Dbench.tls=<certificate>,<key>,<trusted CA>} (PEM files; bin/bench
 * tls passes them); null without it, for plaintext.
 */
final class BenchTls {
    private BenchTls() {}

    static SSLContext context() {
        String files = System.getProperty("bench.tls", "");
        if (files.isEmpty()) {
            return null;
        }
        String[] parts = files.split(",");
        return ClientTls.fromPem(Path.of(parts[0]), Path.of(parts[1]), Path.of(parts[2]));
    }
}
