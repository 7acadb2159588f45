package dev.crescent.master;

import java.time.Duration;

/** The master's tunables, taken from configuration once at start-up. */
public record MasterSettings(Duration leaseTtl, Duration putStartDiscardTimeout, Duration putStartReleaseTimeout,
                             int defaultReplicaNum, int allocationAlignment, double evictionHighWatermark,
                             double evictionRatio) {

    public static MasterSettings defaults() {
        return new MasterSettings(Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(600), 1, 64,
                0.90, 0.05);
    }
}
