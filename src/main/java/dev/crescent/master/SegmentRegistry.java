package dev.crescent.master;

import dev.crescent.alloc.OffsetAllocator;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;

import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/** The segments mounted at this master, by name. */
public final class SegmentRegistry {
    private final ConcurrentHashMap<String, MountedSegment> byName = new ConcurrentHashMap<>();
    /** What {@link #mounted} answers, rebuilt on every mount and unmount (rare) rather than on every put. */
    private volatile List<MountedSegment> snapshot = List.of();
    /** What {@link #disk} answers, rebuilt with {@link #snapshot}. */
    private volatile List<MountedSegment> diskSnapshot = List.of();

    private final int alignment;

    public SegmentRegistry(int alignment) {
        this.alignment = alignment;
    }

    /**
     * What a mount did.
     *
     * @param previousOwner the dead owner whose segment (and objects) the caller took over; null when it took none
     */
    public record Mounting(MountedSegment segment, String previousOwner) {}

    /**
     * Mounting is idempotent: the same owner mounting the same segment again is a no-op. Under the same name, a
     * different owner, size or endpoint is refused so two nodes can never share a name, with one exception: a
     * mount from the same host that shows the contents id of the mounted segment (a worker that restarted and
     * adopted its segment file) takes it over, objects and all, from its earlier owner, which is dead, for its file
     * would not have been adopted otherwise.
     *
     * @param claimsContents the memory already holds objects: refused with SEGMENT_CONTENTS_UNKNOWN unless this
     *                       registry holds the segment with the same contents id (memory nobody here knows the
     *                       contents of must be cleared before any of it is handed out)
     */
    public Mounting mount(String ownerClientId, SegmentDescriptor spec, boolean claimsContents) {
        String name = spec.name();
        long capacity = spec.capacity();
        String endpoint = spec.endpoint();
        if (name == null || name.isBlank()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "segment name must not be empty");
        }
        if (capacity < alignment) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "segment capacity " + capacity + " is below the allocation unit " + alignment);
        }
        long contentsId = spec.contentsId();
        long rounded = (capacity / alignment) * alignment;
        String[] previousOwner = new String[1];
        MountedSegment segment = byName.compute(name, (n, mounted) -> {
            if (mounted == null) {
                if (claimsContents) {
                    throw new StoreException(
                            ErrorCode.SEGMENT_CONTENTS_UNKNOWN,
                            "segment '" + name + "' holds objects this master does not know of (contents id "
                                    + Long.toHexString(contentsId) + "): clear it and mount it empty");
                }
                return new MountedSegment(n, ownerClientId, endpoint, contentsId, spec.tier(), capacity, alignment);
            }
            if (Objects.equals(mounted.ownerClientId(), ownerClientId)
                    && mounted.capacity() == rounded
                    && Objects.equals(mounted.endpoint(), endpoint)) {
                mounted.revive(); // the same process, back after it was declared dead (it was frozen)
                return mounted;
            }
            if (contentsId != 0
                    && contentsId == mounted.contentsId()
                    && spec.tier() == mounted.tier()
                    && mounted.capacity() == rounded
                    && !Objects.equals(mounted.ownerClientId(), ownerClientId)
                    && sameHost(mounted.endpoint(), endpoint)) {
                previousOwner[0] = mounted.ownerClientId();
                mounted.handOver(ownerClientId, endpoint);
                return mounted;
            }
            throw new StoreException(
                    ErrorCode.SEGMENT_ALREADY_EXISTS, "segment '" + name + "' is already mounted by another client");
        });
        refreshSnapshot();
        return new Mounting(segment, previousOwner[0]);
    }

    /** Whether two endpoints are on one host: a file is adopted only where it lies. */
    private static boolean sameHost(String endpoint, String other) {
        return PeerAddress.parse(endpoint)
                .hostId()
                .equals(PeerAddress.parse(other).hostId());
    }

    /** Mounts a segment whose allocator already holds its objects' ranges (restore after a failover). */
    MountedSegment restore(
            String ownerClientId,
            String name,
            String endpoint,
            long contentsId,
            SegmentTier tier,
            OffsetAllocator allocator) {
        MountedSegment segment = new MountedSegment(name, ownerClientId, endpoint, contentsId, tier, allocator);
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

    /** The segments whose wait for their owner's restart ended by {@code nowMillis}. */
    List<MountedSegment> restartGraceOver(long nowMillis) {
        return byName.values().stream()
                .filter(s -> s.awaitingRestartUntilMillis() != 0 && s.awaitingRestartUntilMillis() <= nowMillis)
                .toList();
    }

    public MountedSegment get(String name) {
        return byName.get(name);
    }

    /** A stable snapshot for placement: DRAM segments mounted right now (puts are placed in DRAM only). */
    public List<MountedSegment> mounted() {
        return snapshot;
    }

    /** The disk-tier segments mounted right now, where objects evicted from DRAM may move. */
    public List<MountedSegment> disk() {
        return diskSnapshot;
    }

    private synchronized void refreshSnapshot() {
        snapshot = byName.values().stream()
                .filter(s -> s.tier() == SegmentTier.DRAM)
                .toList();
        diskSnapshot = byName.values().stream()
                .filter(s -> s.tier() == SegmentTier.DISK)
                .toList();
    }

    public Collection<MountedSegment> view() {
        return byName.values();
    }

    /** DRAM capacity: what puts are placed in and eviction frees. */
    public long capacityBytes() {
        return capacityBytes(SegmentTier.DRAM);
    }

    /** DRAM in use. */
    public long usedBytes() {
        return usedBytes(SegmentTier.DRAM);
    }

    public long capacityBytes(SegmentTier tier) {
        return byName.values().stream()
                .filter(s -> s.tier() == tier && s.isMounted())
                .mapToLong(MountedSegment::capacity)
                .sum();
    }

    public long usedBytes(SegmentTier tier) {
        return byName.values().stream()
                .filter(s -> s.tier() == tier && s.isMounted())
                .mapToLong(s -> s.allocator().usedBytes())
                .sum();
    }
}
