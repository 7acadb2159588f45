package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;

/**
 * Reads a replica's bytes back to check them against the CRC32C its writer recorded: how the master verifies the
 * objects of a segment a restarted worker took over.
 */
public interface ReplicaChecksums {

    /**
     * @param range the replica, with a READ ticket when access control is on
     * @param size  how many of its bytes are the object's
     * @return the CRC32C of those bytes
     * @throws dev.crescent.common.StoreException when they cannot be read
     */
    long crc32c(ReplicaDescriptor range, long size);
}
