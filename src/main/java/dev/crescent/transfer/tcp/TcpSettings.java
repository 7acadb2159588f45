package dev.crescent.transfer.tcp;

import java.time.Duration;

/**
 * Client-side TCP tunables.
 *
 * @param connectionsPerPeer parallel connections to one peer; slices of a request spread over them
 * @param sliceBytes         requests are cut into slices of at most this size
 * @param timeout            a slice not answered within this is TIMEOUT (its connection is dropped)
 * @param maxAttempts        tries per slice; retries go to another connection
 * @param blacklistFailures  connection failures within {@code blacklistWindow} that blacklist a peer
 * @param blacklistCooldown  how long a blacklisted peer is not tried
 */
public record TcpSettings(
        int connectionsPerPeer,
        int sliceBytes,
        Duration timeout,
        int maxAttempts,
        int blacklistFailures,
        Duration blacklistWindow,
        Duration blacklistCooldown) {

    public static TcpSettings defaults() {
        return new TcpSettings(4, 1 << 20, Duration.ofSeconds(10), 3, 5, Duration.ofSeconds(10), Duration.ofSeconds(5));
    }
}
