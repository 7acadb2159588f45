package dev.crescent.master;

import java.util.List;

/** Answer to GetReplicaList: the object's size, its readable replicas, and how long they are leased. */
public record ObjectLocation(long size, List<ReplicaDescriptor> replicas, long leaseDeadlineMillis) {
}
