package dev.crescent.client;

import dev.crescent.master.HeartbeatReply;
import dev.crescent.master.KeyResult;
import dev.crescent.master.Master;
import dev.crescent.master.ObjectLocation;
import dev.crescent.master.ReplicaConfig;
import dev.crescent.master.ReplicaDescriptor;
import dev.crescent.master.SegmentSpec;

import java.util.List;

/** The master in this JVM, called directly. */
public final class LocalMasterClient implements MasterClient {
    private final Master master;

    public LocalMasterClient(Master master) {
        this.master = master;
    }

    @Override
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, ReplicaConfig config,
                                            boolean upsert) {
        return master.putStart(clientId, key, size, config, upsert);
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
    public long removeAll(boolean force) {
        return master.removeAll(force);
    }

    @Override
    public List<KeyResult<List<ReplicaDescriptor>>> batchPutStart(String clientId, List<String> keys,
                                                                  List<Long> sizes, ReplicaConfig config,
                                                                  boolean upsert) {
        return master.batchPutStart(clientId, keys, sizes, config, upsert);
    }

    @Override
    public List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys) {
        return master.batchPutEnd(clientId, keys);
    }

    @Override
    public List<KeyResult<Void>> batchPutRevoke(String clientId, List<String> keys) {
        return master.batchPutRevoke(clientId, keys);
    }

    @Override
    public List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys) {
        return master.batchGetReplicaList(keys);
    }

    @Override
    public List<KeyResult<Boolean>> batchExist(List<String> keys) {
        return master.batchExist(keys);
    }

    @Override
    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        return master.batchRemove(keys, force);
    }

    @Override
    public void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        master.mountSegment(clientId, segment, capacity, endpoint);
    }

    @Override
    public void unmountSegment(String clientId, String segment) {
        master.unmountSegment(clientId, segment);
    }

    @Override
    public void remountSegments(String clientId, List<SegmentSpec> segments) {
        master.remountSegments(clientId, segments);
    }

    @Override
    public HeartbeatReply heartbeat(String clientId) {
        return master.heartbeat(clientId);
    }
}
