package dev.crescent.master;

import dev.crescent.alloc.Allocation;

/** One copy of an object: a range of a mounted segment. */
public record Replica(MountedSegment segment, Allocation range) {

    public ReplicaDescriptor describe() {
        return new ReplicaDescriptor(segment.name(), segment.endpoint(), range.offset(), range.length());
    }

    void release() {
        segment.free(range);
    }
}
