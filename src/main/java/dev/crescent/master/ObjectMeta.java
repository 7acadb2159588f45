package dev.crescent.master;

import java.util.List;

/**
 * What the master knows of one object. Instances are only changed inside the index's per-key atomic sections
 * ({@link ObjectIndex}), which is what makes the plain fields safe.
 */
final class ObjectMeta {
    final String key;
    final long size;
    ObjectState state = ObjectState.PROCESSING;
    String ownerClientId;
    long putStartMillis;
    List<Replica> replicas;
    volatile long leaseDeadlineMillis;
    long completedMillis;
    long lastAccessMillis;
    long accessCount;

    ObjectMeta(String key, long size, String ownerClientId, long putStartMillis, List<Replica> replicas) {
        this.key = key;
        this.size = size;
        this.ownerClientId = ownerClientId;
        this.putStartMillis = putStartMillis;
        this.replicas = replicas;
    }

    boolean isLeased(long nowMillis) {
        return leaseDeadlineMillis > nowMillis;
    }

    List<Replica> liveReplicas() {
        return replicas.stream().filter(r -> r.segment().isMounted()).toList();
    }
}
