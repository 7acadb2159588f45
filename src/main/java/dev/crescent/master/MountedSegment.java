package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.alloc.OffsetAllocator;

/**
 * A worker's (or client's) memory segment as the master sees it: who mounted it, where its transfer endpoint
 * is, and the allocator that hands out its ranges. The master never touches the memory itself.
 */
public final class MountedSegment {
    private final String name;
    private final String ownerClientId;
    private final String endpoint;
    private final OffsetAllocator allocator;
    private volatile boolean mounted = true;

    MountedSegment(String name, String ownerClientId, String endpoint, long capacity, int alignment) {
        this(name, ownerClientId, endpoint, new OffsetAllocator(capacity, alignment));
    }

    /** A segment whose allocator was rebuilt elsewhere (a new leader restoring the replicated index). */
    MountedSegment(String name, String ownerClientId, String endpoint, OffsetAllocator allocator) {
        this.name = name;
        this.ownerClientId = ownerClientId;
        this.endpoint = endpoint;
        this.allocator = allocator;
    }

    public String name() {
        return name;
    }

    public String ownerClientId() {
        return ownerClientId;
    }

    public String endpoint() {
        return endpoint;
    }

    public long capacity() {
        return allocator.capacityBytes();
    }

    public OffsetAllocator allocator() {
        return allocator;
    }

    /** False once unmounted: replicas on it are gone, and freeing into it is pointless but harmless. */
    public boolean isMounted() {
        return mounted;
    }

    void markUnmounted() {
        mounted = false;
    }

    Allocation allocate(long bytes) {
        return mounted ? allocator.allocate(bytes) : null;
    }

    void free(Allocation allocation) {
        if (mounted) {
            allocator.free(allocation);
        }
    }
}
