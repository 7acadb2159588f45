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
 * @param orphanRetention   how long the file of another segment whose process died is kept for its restart
 */
public record SegmentSettings(
        String name,
        long capacity,
        Path shmDir,
        String shmGroup,
        Duration heartbeatInterval,
        Duration drainTimeout,
        Duration orphanRetention) {

    /**
     * A segment with a worker's defaults: a file in /dev/shm, a heartbeat a second, 5 s to drain on close, dead
     * processes' files kept 10 minutes.
     */
    public static SegmentSettings defaults(String name, long capacity) {
        return new SegmentSettings(
                name,
                capacity,
                Path.of("/dev/shm"),
                null,
                Duration.ofSeconds(1),
                Duration.ofSeconds(5),
                WorkerSegment.DEFAULT_ORPHAN_RETENTION);
    }
}
