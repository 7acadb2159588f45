package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.alloc.OffsetAllocator;
import dev.crescent.transfer.SegmentTier;

/**
 * A worker's (or client's) memory segment as the master sees it: who mounted it, where its transfer endpoint
 * is, and the allocator that hands out its ranges. The master never touches the memory itself. Owner and endpoint
 * change only when a restarted worker takes the segment over ({@link #handOver}): the memory and every object in
 * it stay, so replicas keep pointing at this same object.
 */
public final class MountedSegment {
    private final String name;
    private final long contentsId;
    private final SegmentTier tier;
    private final OffsetAllocator allocator;
    private volatile String ownerClientId;
    private volatile String endpoint;
    private volatile boolean mounted = true;
    /** Until then its owner is dead and the segment waits for its restart, out of use; 0: in use. */
    private volatile long awaitingRestartUntilMillis;
    /** Its version table as {@link ObjectVersions} last found it (null: not looked up yet), kept here for speed. */
    volatile ObjectVersions.Found versionTable;

    MountedSegment(
            String name,
            String ownerClientId,
            String endpoint,
            long contentsId,
            SegmentTier tier,
            long capacity,
            int alignment) {
        this(name, ownerClientId, endpoint, contentsId, tier, new OffsetAllocator(capacity, alignment));
    }

    /** A segment whose allocator was rebuilt elsewhere (a new leader restoring the replicated index). */
    MountedSegment(
            String name,
            String ownerClientId,
            String endpoint,
            long contentsId,
            SegmentTier tier,
            OffsetAllocator allocator) {
        this.name = name;
        this.ownerClientId = ownerClientId;
        this.endpoint = endpoint;
        this.contentsId = contentsId;
        this.tier = tier;
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

    /** What the memory holds, as its owner's segment file names it; 0: not known (nothing can take it over). */
    public long contentsId() {
        return contentsId;
    }

    /** DRAM, or DISK: a worker's disk tier, which puts are never placed in. */
    public SegmentTier tier() {
        return tier;
    }

    /** The process that now serves this memory (a restarted worker that adopted its file), reached at its endpoint. */
    void handOver(String newOwnerClientId, String newEndpoint) {
        this.endpoint = newEndpoint;
        this.ownerClientId = newOwnerClientId;
        this.awaitingRestartUntilMillis = 0;
    }

    /**
     * Its owner was declared dead: until {@code untilMillis} nothing is placed here and its objects are not read,
     * but they stay for a restart of the owner that takes the segment over ({@link #handOver}, or {@link #revive}
     * when the same process comes back).
     */
    void awaitRestart(long untilMillis) {
        awaitingRestartUntilMillis = untilMillis;
    }

    /** Its owner came back (a process that was only frozen): in use again, objects and all. */
    void revive() {
        awaitingRestartUntilMillis = 0;
    }

    /** When the wait for its owner's restart ends; 0 when it is not waiting. */
    public long awaitingRestartUntilMillis() {
        return awaitingRestartUntilMillis;
    }

    public long capacity() {
        return allocator.capacityBytes();
    }

    public OffsetAllocator allocator() {
        return allocator;
    }

    /**
     * False once unmounted (replicas on it are gone, and freeing into it is pointless but harmless), and while it
     * waits for its owner's restart (replicas on it are not read, nothing is placed in it).
     */
    public boolean isMounted() {
        return mounted && awaitingRestartUntilMillis == 0;
    }

    /** Still in the pool: mounted, or waiting for its owner's restart (its ranges are still accounted here). */
    boolean inPool() {
        return mounted;
    }

    void markUnmounted() {
        mounted = false;
    }

    Allocation allocate(long bytes) {
        return isMounted() ? allocator.allocate(bytes) : null;
    }

    void free(Allocation allocation) {
        if (mounted) {
            allocator.free(allocation);
        }
    }
}
