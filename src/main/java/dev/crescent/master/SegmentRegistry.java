package dev.crescent.master;

import dev.crescent.alloc.OffsetAllocator;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/** The segments mounted at this master, by name. */
public final class SegmentRegistry {
    private final ConcurrentHashMap<String, MountedSegment> byName = new ConcurrentHashMap<>();
    /** What {@link #mounted} answers, rebuilt on every mount and unmount (rare) rather than on every put. */
    private volatile List<MountedSegment> snapshot = List.of();

    private final int alignment;

    public SegmentRegistry(int alignment) {
        this.alignment = alignment;
    }

    /**
     * Mounting is idempotent: the same owner mounting the same segment again is a no-op. A different owner, or a
     * different size or endpoint under the same name, is refused so two nodes can never share a name.
     */
    public MountedSegment mount(String ownerClientId, String name, long capacity, String endpoint) {
        if (name == null || name.isBlank()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "segment name must not be empty");
        }
        if (capacity < alignment) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "segment capacity " + capacity + " is below the allocation unit " + alignment);
        }
        MountedSegment segment =
                byName.computeIfAbsent(name, n -> new MountedSegment(n, ownerClientId, endpoint, capacity, alignment));
        boolean same = Objects.equals(segment.ownerClientId(), ownerClientId)
                && segment.capacity() == (capacity / alignment) * alignment
                && Objects.equals(segment.endpoint(), endpoint);
        if (!same) {
            throw new StoreException(
                    ErrorCode.SEGMENT_ALREADY_EXISTS, "segment '" + name + "' is already mounted by another client");
        }
        refreshSnapshot();
        return segment;
    }

    /** Mounts a segment whose allocator already holds its objects' ranges (restore after a failover). */
    MountedSegment restore(String ownerClientId, String name, String endpoint, OffsetAllocator allocator) {
        MountedSegment segment = new MountedSegment(name, ownerClientId, endpoint, allocator);
        byName.put(name, segment);
        refreshSnapshot();
        return segment;
    }

    int alignment() {
        return alignment;
    }

    /**
     * Unmounting is idempotent too: a segment that is not mounted (any more) is left alone.
     *
     * @return the segment now unmounted, or null when it was not mounted
     */
    public MountedSegment unmount(String ownerClientId, String name) {
        MountedSegment segment = byName.get(name);
        if (segment == null) {
            return null;
        }
        if (!Objects.equals(segment.ownerClientId(), ownerClientId)) {
            throw new StoreException(ErrorCode.ILLEGAL_CLIENT, "segment '" + name + "' belongs to another client");
        }
        byName.remove(name, segment);
        segment.markUnmounted();
        refreshSnapshot();
        return segment;
    }

    /** The segments {@code ownerClientId} mounted. */
    public List<MountedSegment> ownedBy(String ownerClientId) {
        return byName.values().stream()
                .filter(s -> s.ownerClientId().equals(ownerClientId))
                .toList();
    }

    public MountedSegment get(String name) {
        return byName.get(name);
    }

    /** A stable snapshot for placement: segments mounted right now. */
    public List<MountedSegment> mounted() {
        return snapshot;
    }

    private synchronized void refreshSnapshot() {
        snapshot = List.copyOf(byName.values());
    }

    public Collection<MountedSegment> view() {
        return byName.values();
    }

    public long capacityBytes() {
        return byName.values().stream().mapToLong(MountedSegment::capacity).sum();
    }

    public long usedBytes() {
        return byName.values().stream()
                .mapToLong(s -> s.allocator().usedBytes())
                .sum();
    }
}
