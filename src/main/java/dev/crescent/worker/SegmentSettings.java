package dev.crescent.worker;

import java.nio.file.Path;
import java.time.Duration;

/**
 * One segment a process contributes to the pool.
 *
 * @param shmDir            directory of the shared-memory file backing it; when it does not exist the segment is
 *                          plain process memory
 * @param shmGroup          the group that may map the file besides its owner; null: the owner only
 * @param heartbeatInterval how often the master hears from the owner (well inside its client-ttl)
 * @param drainTimeout      how long transfers in flight may finish after the segment is unmounted
 */
public record SegmentSettings(
        String name, long capacity, Path shmDir, String shmGroup, Duration heartbeatInterval, Duration drainTimeout) {

    /** A segment with a worker's defaults: a file in /dev/shm, a heartbeat a second, 5 s to drain on close. */
    public static SegmentSettings defaults(String name, long capacity) {
        return new SegmentSettings(
                name, capacity, Path.of("/dev/shm"), null, Duration.ofSeconds(1), Duration.ofSeconds(5));
    }
}
