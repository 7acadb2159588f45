package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.alloc.OffsetAllocator;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds an empty master from the durable state a standby replicated: segments with allocators that hold exactly
 * the objects' ranges, complete objects, and the segments' owners as live clients (a worker that died during the
 * failover is declared dead after client-ttl like any other).
 */
final class IndexRestore {
    private final SegmentRegistry segments;
    private final ClientRegistry clients;
    private final ObjectIndex index;

    IndexRestore(SegmentRegistry segments, ClientRegistry clients, ObjectIndex index) {
        this.segments = segments;
        this.clients = clients;
        this.index = index;
    }

    /**
     * Every restored object counts as leased for a full lease from now: the old leader may have granted a read lease
     * just before it died, and the op-log does not carry leases. With tickets, a WRITE ticket of a restored object
     * may live until its discard timeout after the object completed.
     *
     * @param grantWindowMillis how long after PutStart a WRITE ticket lives; 0 when no tickets are handed out
     * @return how many objects were restored
     */
    int restore(ReplicatedIndex replicated, long nowMillis, MasterSettings settings, long grantWindowMillis) {
        // One snapshot of the objects for the ranges and the objects alike: the index may still be applied to
        // meanwhile, and an object of a later snapshot could name a range the mount never allocated.
        Collection<OpLogEntry.Commit> objects = replicated.objects();
        Map<String, Map<Long, Allocation>> handles = mountSegments(objects, replicated.segments(), nowMillis);
        int restored = 0;
        for (OpLogEntry.Commit commit : objects) {
            List<Replica> replicas = commit.replicas().stream()
                    .filter(r -> handles.containsKey(r.segment()))
                    .map(r -> new Replica(
                            segments.get(r.segment()), handles.get(r.segment()).get(r.offset())))
                    .toList();
            if (replicas.isEmpty()) {
                continue;
            }
            ObjectMeta meta =
                    new ObjectMeta(commit.key(), commit.size(), commit.owner(), commit.completedMillis(), replicas);
            meta.state = ObjectState.COMPLETE;
            meta.completedMillis = commit.completedMillis();
            meta.lastAccessMillis = commit.completedMillis();
            meta.hardPin = commit.hardPin();
            meta.softPin = commit.softPin();
            meta.crc32c = commit.crc32c();
            meta.softPinDeadlineMillis = nowMillis + settings.softPinTtl().toMillis();
            long leasedUntil = nowMillis + settings.leaseTtl().toMillis();
            meta.leases.holdUntil(leasedUntil);
            if (grantWindowMillis != 0) {
                meta.readTicketsUntilMillis = leasedUntil; // the old leader's READ tickets, like its leases
            }
            meta.writeGrantDeadlineMillis = grantWindowMillis == 0 ? 0 : commit.completedMillis() + grantWindowMillis;
            index.update(commit.key(), (k, old) -> meta);
            restored++;
        }
        return restored;
    }

    /** Mounts every replicated segment with its objects' ranges allocated; @return segment -> offset -> range */
    private Map<String, Map<Long, Allocation>> mountSegments(
            Collection<OpLogEntry.Commit> objects, Collection<OpLogEntry.Mount> mounts, long nowMillis) {
        Map<String, List<OpLogEntry.Range>> rangesBySegment = new HashMap<>();
        for (OpLogEntry.Commit commit : objects) {
            for (OpLogEntry.Range r : commit.replicas()) {
                rangesBySegment
                        .computeIfAbsent(r.segment(), s -> new ArrayList<>())
                        .add(r);
            }
        }
        Map<String, Map<Long, Allocation>> handles = new HashMap<>();
        for (OpLogEntry.Mount mount : mounts) {
            List<OpLogEntry.Range> ranges = rangesBySegment.getOrDefault(mount.segment(), List.of());
            long[] offsets = ranges.stream().mapToLong(OpLogEntry.Range::offset).toArray();
            long[] lengths = ranges.stream().mapToLong(OpLogEntry.Range::length).toArray();
            Allocation[] allocated = new Allocation[offsets.length];
            OffsetAllocator allocator =
                    OffsetAllocator.withAllocated(mount.capacity(), segments.alignment(), offsets, lengths, allocated);
            Map<Long, Allocation> byOffset = new HashMap<>();
            for (Allocation a : allocated) {
                byOffset.put(a.offset(), a);
            }
            handles.put(mount.segment(), byOffset);
            segments.restore(
                    mount.owner(), mount.segment(), mount.endpoint(), mount.contentsId(), mount.tier(), allocator);
            clients.register(mount.owner(), nowMillis);
        }
        return handles;
    }
}
