package dev.crescent.master;

/** A point-in-time summary for metrics and the admin API. */
public record MasterStats(long objectCount, long processingCount, int segmentCount, long capacityBytes,
                          long usedBytes, long evictedObjects) {
}
