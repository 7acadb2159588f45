package dev.crescent.master;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * A point-in-time summary for metrics and the admin API.
 *
 * @param leaseBlocks operations a read lease held back: non-forced removes refused, evictions skipped and memory
 *                    releases deferred until the lease ended
 * @param clientCount live clients that mounted memory
 * @param capacityBytes DRAM capacity (the pool puts are placed in); {@code usedBytes} likewise
 * @param diskCapacityBytes the disk tier's capacity (0: none mounted); {@code diskUsedBytes} likewise
 * @param offloadedObjects objects moved from DRAM to the disk tier instead of being evicted
 * @param promotedObjects objects moved back to DRAM because they were read
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
        int clientCount,
        long diskCapacityBytes,
        long diskUsedBytes,
        long offloadedObjects,
        long promotedObjects) {}
