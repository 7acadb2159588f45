package dev.crescent.master;

import java.time.Duration;

/**
 * The master's tunables, taken from configuration once at start-up.
 *
 * @param softPinTtl how long a soft pin protects an object after its put or its last read
 * @param clientTtl  a client that mounted memory and is silent this long is declared dead
 * @param maxLeasedVersions how many replaced versions of one key may wait for their readers at once; an upsert
 *                  past that is refused OBJECT_HAS_LEASE (a hot key pins at most this many times its size)
 * @param eventBuffer how many of the last object events the master keeps for watchers to resume from
 * @param restartGrace how long the segments of a client declared dead stay, out of use, for its restart to take them
 *                  over with their objects (0: they go at once)
 */
public record MasterSettings(
        Duration leaseTtl,
        Duration putStartDiscardTimeout,
        Duration putStartReleaseTimeout,
        int defaultReplicaNum,
        int allocationAlignment,
        double evictionHighWatermark,
        double evictionRatio,
        Duration softPinTtl,
        Duration clientTtl,
        int maxLeasedVersions,
        int eventBuffer,
        Duration restartGrace) {

    public static MasterSettings defaults() {
        return new MasterSettings(
                Duration.ofSeconds(10),
                Duration.ofSeconds(30),
                Duration.ofSeconds(600),
                1,
                64,
                0.90,
                0.05,
                Duration.ofMinutes(30),
                Duration.ofSeconds(10),
                4,
                65_536,
                Duration.ZERO);
    }

    public MasterSettings withDefaultReplicaNum(int replicas) {
        return new MasterSettings(
                leaseTtl,
                putStartDiscardTimeout,
                putStartReleaseTimeout,
                replicas,
                allocationAlignment,
                evictionHighWatermark,
                evictionRatio,
                softPinTtl,
                clientTtl,
                maxLeasedVersions,
                eventBuffer,
                restartGrace);
    }

    public MasterSettings withRestartGrace(Duration grace) {
        return new MasterSettings(
                leaseTtl,
                putStartDiscardTimeout,
                putStartReleaseTimeout,
                defaultReplicaNum,
                allocationAlignment,
                evictionHighWatermark,
                evictionRatio,
                softPinTtl,
                clientTtl,
                maxLeasedVersions,
                eventBuffer,
                grace);
    }
}
