package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;

/** Copies an object's bytes from one replica to another: how the master moves objects between tiers. */
public interface ReplicaCopier {

    /**
     * @param from  the replica read (with a READ ticket when access control is on)
     * @param to    the range written (with a WRITE ticket when access control is on)
     * @param bytes how many bytes, from the start of each
     * @throws dev.crescent.common.StoreException when the copy fails
     */
    void copy(ReplicaDescriptor from, ReplicaDescriptor to, long bytes);
}
