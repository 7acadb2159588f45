package dev.crescent.protocol;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Answer to GetReplicaList: the object's size, its readable replicas, until when they are leased, the CRC32C of its
 * bytes when the writer recorded one (else null), and the lease's id, which the reader hands back when its transfer
 * is over so the memory can be reused at once (0: the lease ends by time only). A small object may come with its
 * bytes instead ({@code value}, read-only; see {@link MasterClient#getReplicaList(String, long)}): then there are no
 * replicas and no lease. {@code version} is the object's version published in the version words of replicas with a
 * {@link ReplicaDescriptor#versionSlot()} (0: none), which lets a reader that maps them cache the location.
 */
public record ObjectLocation(
        long size,
        List<ReplicaDescriptor> replicas,
        long leaseDeadlineMillis,
        Long crc32c,
        long leaseId,
        MemorySegment value,
        long version) {

    public ObjectLocation(
            long size, List<ReplicaDescriptor> replicas, long leaseDeadlineMillis, Long crc32c, long leaseId) {
        this(size, replicas, leaseDeadlineMillis, crc32c, leaseId, null, 0);
    }

    /** The same answer with its replicas in another order. */
    public ObjectLocation withReplicas(List<ReplicaDescriptor> reordered) {
        return new ObjectLocation(size, reordered, leaseDeadlineMillis, crc32c, leaseId, value, version);
    }

    /** The object's bytes instead of its replicas: nothing is leased to the reader. */
    public ObjectLocation inlined(MemorySegment bytes) {
        return new ObjectLocation(size, List.of(), leaseDeadlineMillis, crc32c, 0, bytes, version);
    }
}
