package dev.crescent.worker;

import java.nio.file.Path;

/**
 * A worker's disk tier: a file of {@code capacity} bytes in {@code directory} (on a local disk), mapped into the
 * worker and mounted as a segment of tier DISK, where the master moves objects it would otherwise evict from DRAM.
 * Reached over the worker's TCP transfer server only: it is not shared memory, so same-host readers do not map it.
 */
public record DiskTier(Path directory, long capacity) {

    /** The disk segment's name: the DRAM segment's, marked. */
    static String segmentName(String dramSegment) {
        return dramSegment + "-disk";
    }
}
