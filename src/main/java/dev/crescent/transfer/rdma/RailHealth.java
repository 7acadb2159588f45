package dev.crescent.transfer.rdma;

import dev.crescent.transfer.tcp.PeerHealth;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Per-NIC (rail) error tracking: after {@code threshold} failures in a row a rail is paused for {@code pause}, so
 * slices go to the other rails instead of timing out one after another on a bad link; one success clears the
 * count. A paused rail is tried again when its pause ends. Each rail's record is the TCP transport's
 * {@link PeerHealth} with no window, so only failures in a row count.
 */
public final class RailHealth {
    private final int threshold;
    private final long pauseNanos;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<String, PeerHealth> rails = new ConcurrentHashMap<>();

    public RailHealth(int threshold, Duration pause, LongSupplier nanoClock) {
        this.threshold = Math.max(1, threshold);
        this.pauseNanos = pause.toNanos();
        this.nanoClock = nanoClock;
    }

    public boolean usable(String rail) {
        PeerHealth health = rails.get(rail);
        return health == null || health.blacklistedForMillis(nanoClock.getAsLong()) == 0;
    }

    /** @return whether the rail is paused after this failure */
    public boolean failed(String rail) {
        PeerHealth health = rails.computeIfAbsent(rail, r -> new PeerHealth(threshold, Long.MAX_VALUE, pauseNanos));
        long now = nanoClock.getAsLong();
        health.failure(now, "");
        return health.blacklistedForMillis(now) > 0;
    }

    public void succeeded(String rail) {
        PeerHealth health = rails.get(rail);
        if (health != null) {
            health.success();
        }
    }
}
