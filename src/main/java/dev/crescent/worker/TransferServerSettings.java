package dev.crescent.worker;

import java.time.Duration;

/**
 * Where and how a segment's TCP transfer server listens.
 *
 * @param enabled          serve over TCP at all
 * @param advertiseHost    the host others reach this one at; null: this host's address
 * @param handshakeTimeout connections that do not shake hands within this are dropped
 * @param frameTimeout     connections that stall inside one frame this long are dropped
 */
public record TransferServerSettings(
        boolean enabled,
        String bindHost,
        int port,
        String advertiseHost,
        Duration handshakeTimeout,
        Duration frameTimeout) {

    /** A server on a free port of every interface, advertised at this host's address. */
    public static TransferServerSettings defaults() {
        return new TransferServerSettings(true, "0.0.0.0", 0, null, Duration.ofSeconds(5), Duration.ofSeconds(30));
    }
}
