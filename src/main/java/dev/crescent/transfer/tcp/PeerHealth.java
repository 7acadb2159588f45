package dev.crescent.transfer.tcp;

import java.util.ArrayDeque;

/**
 * Failure bookkeeping for one peer (a TCP peer, or an RDMA rail): {@code threshold} failures within
 * {@code windowNanos} blacklist it for {@code cooldownNanos}; after that it is tried again, and one success clears
 * its record.
 */
public final class PeerHealth {
    private final int threshold;
    private final long windowNanos;
    private final long cooldownNanos;
    private final ArrayDeque<Long> failures = new ArrayDeque<>();
    private long blacklistedUntil;
    private String lastError = "";

    public PeerHealth(int threshold, long windowNanos, long cooldownNanos) {
        this.threshold = threshold;
        this.windowNanos = windowNanos;
        this.cooldownNanos = cooldownNanos;
    }

    public synchronized void failure(long nowNanos, String error) {
        lastError = error;
        failures.addLast(nowNanos);
        while (!failures.isEmpty() && nowNanos - failures.peekFirst() > windowNanos) {
            failures.removeFirst();
        }
        if (failures.size() >= threshold) {
            blacklistedUntil = nowNanos + cooldownNanos;
            failures.clear();
        }
    }

    public synchronized void success() {
        failures.clear();
        blacklistedUntil = 0;
    }

    /** Milliseconds the peer stays blacklisted, 0 when it may be tried. */
    public synchronized long blacklistedForMillis(long nowNanos) {
        long left = blacklistedUntil - nowNanos;
        return left > 0 ? Math.max(1, left / 1_000_000) : 0;
    }

    public synchronized String lastError() {
        return lastError;
    }
}
