package dev.crescent.protocol;

import java.util.List;

/**
 * Answer to GetReplicaList: the object's size, its readable replicas, until when they are leased, the CRC32C of its
 * bytes when the writer recorded one (else null), and the lease's id, which the reader hands back when its transfer
 * is over so the memory can be reused at once (0: the lease ends by time only).
 */
public record ObjectLocation(
        long size, List<ReplicaDescriptor> replicas, long leaseDeadlineMillis, Long crc32c, long leaseId) {

    /** The same answer with its replicas in another order. */
    public ObjectLocation withReplicas(List<ReplicaDescriptor> reordered) {
        return new ObjectLocation(size, reordered, leaseDeadlineMillis, crc32c, leaseId);
    }
}
