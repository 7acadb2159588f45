package dev.crescent.master;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * A point-in-time summary for metrics and the admin API.
 *
 * @param leaseBlocks operations a read lease held back: non-forced removes refused, evictions skipped and memory
 *                    releases deferred until the lease ended
 * @param clientCount live clients that mounted memory
 */
@RegisterForReflection
public record MasterStats(
        long objectCount,
        long processingCount,
        int segmentCount,
        long capacityBytes,
        long usedBytes,
        long evictedObjects,
        long leaseBlocks,
        int clientCount) {}
