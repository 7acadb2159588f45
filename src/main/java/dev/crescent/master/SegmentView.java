package dev.crescent.master;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** A mounted segment as the admin API shows it; {@code tier} is {@code dram} or {@code disk}. */
@RegisterForReflection
public record SegmentView(
        String name,
        String tier,
        String owner,
        String endpoint,
        long capacityBytes,
        long usedBytes,
        long freeBytes,
        long largestFreeBytes,
        double fragmentation,
        int allocations) {

    static SegmentView of(MountedSegment segment) {
        var allocator = segment.allocator();
        return new SegmentView(
                segment.name(),
                segment.tier().wireName(),
                segment.ownerClientId(),
                segment.endpoint(),
                segment.capacity(),
                allocator.usedBytes(),
                allocator.freeBytes(),
                allocator.largestFreeBytes(),
                allocator.fragmentation(),
                allocator.allocationCount());
    }
}
