package dev.crescent.transfer.tcp;

import java.time.Duration;

/**
 * What one transfer server lets its peers hold: connections are dropped that do not shake hands in time, stall
 * inside a frame, or sit idle; past {@code maxConnections} new ones are closed at once. Each connection holds a
 * thread and about 130 KiB of buffers, so the cap bounds both.
 */
public record TcpServerLimits(
        Duration handshakeTimeout, Duration frameTimeout, Duration idleTimeout, int maxConnections) {

    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;

    public TcpServerLimits {
        if (maxConnections <= 0) {
            throw new IllegalArgumentException("max-connections must be positive, was " + maxConnections);
        }
    }

    /** The given timeouts with the default idle timeout and connection cap. */
    public static TcpServerLimits of(Duration handshakeTimeout, Duration frameTimeout) {
        return new TcpServerLimits(handshakeTimeout, frameTimeout, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS);
    }
}
