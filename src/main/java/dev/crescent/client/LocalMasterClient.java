package dev.crescent.client;

import dev.crescent.master.Master;
import dev.crescent.master.ObjectLocation;
import dev.crescent.master.ReplicaDescriptor;

import java.util.List;

/** The master in this JVM, called directly. */
public final class LocalMasterClient implements MasterClient {
    private final Master master;

    public LocalMasterClient(Master master) {
        this.master = master;
    }

    @Override
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, int replicaNum, boolean upsert) {
        return master.putStart(clientId, key, size, replicaNum, upsert);
    }

    @Override
    public void putEnd(String clientId, String key) {
        master.putEnd(clientId, key);
    }

    @Override
    public void putRevoke(String clientId, String key) {
        master.putRevoke(clientId, key);
    }

    @Override
    public ObjectLocation getReplicaList(String key) {
        return master.getReplicaList(key);
    }

    @Override
    public boolean exist(String key) {
        return master.exist(key);
    }

    @Override
    public void remove(String key, boolean force) {
        master.remove(key, force);
    }

    @Override
    public void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        master.mountSegment(clientId, segment, capacity, endpoint);
    }

    @Override
    public void unmountSegment(String clientId, String segment) {
        master.unmountSegment(clientId, segment);
    }
}
