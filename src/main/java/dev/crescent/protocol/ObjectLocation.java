package dev.crescent.protocol;

import java.util.List;

/**
 * Answer to GetReplicaList: the object's size, its readable replicas, how long they are leased, and the CRC32C of
 * its bytes when the writer recorded one (else null).
 */
public record ObjectLocation(long size, List<ReplicaDescriptor> replicas, long leaseDeadlineMillis, Long crc32c) {}
