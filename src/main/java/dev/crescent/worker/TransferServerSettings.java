package dev.crescent.worker;

import dev.crescent.transfer.tcp.TcpServerLimits;

import java.time.Duration;
import javax.net.ssl.SSLContext;

/**
 * Where and how a segment's TCP transfer server listens.
 *
 * @param enabled       serve over TCP at all
 * @param advertiseHost the host others reach this one at; null: this host's address
 * @param limits        what peers may hold: timeouts and the connection cap
 * @param tls           serve TLS only, with this context's key; null: plain TCP
 */
public record TransferServerSettings(
        boolean enabled, String bindHost, int port, String advertiseHost, TcpServerLimits limits, SSLContext tls) {

    /** A server on a free port of every interface, advertised at this host's address. */
    public static TransferServerSettings defaults() {
        return new TransferServerSettings(
                true, "0.0.0.0", 0, null, TcpServerLimits.of(Duration.ofSeconds(5), Duration.ofSeconds(30)), null);
    }
}
