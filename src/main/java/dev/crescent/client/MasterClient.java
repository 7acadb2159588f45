package dev.crescent.client;

import dev.crescent.master.ObjectLocation;
import dev.crescent.master.ReplicaDescriptor;

import java.util.List;

/**
 * The master's operations as a client sees them, whether the master runs in this JVM or across the network.
 * Failures are StoreExceptions carrying the master's error code.
 */
public interface MasterClient extends AutoCloseable {

    List<ReplicaDescriptor> putStart(String clientId, String key, long size, int replicaNum, boolean upsert);

    void putEnd(String clientId, String key);

    void putRevoke(String clientId, String key);

    ObjectLocation getReplicaList(String key);

    boolean exist(String key);

    void remove(String key, boolean force);

    void mountSegment(String clientId, String segment, long capacity, String endpoint);

    void unmountSegment(String clientId, String segment);

    @Override
    default void close() {
    }
}
