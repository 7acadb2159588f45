package dev.crescent.client;

import dev.crescent.master.HeartbeatReply;
import dev.crescent.master.KeyResult;
import dev.crescent.master.Master;
import dev.crescent.master.ObjectLocation;
import dev.crescent.master.ReplicaConfig;
import dev.crescent.master.ReplicaDescriptor;
import dev.crescent.master.SegmentSpec;

import java.util.List;

/** The master in this JVM, called directly (after checking this master may serve: it leads). */
public final class LocalMasterClient implements MasterClient {
    private final Master master;
    private final Runnable requireLeader;

    public LocalMasterClient(Master master) {
        this(master, () -> { });
    }

    /** @param requireLeader throws NOT_LEADER when this master is a standby */
    public LocalMasterClient(Master master, Runnable requireLeader) {
        this.master = master;
        this.requireLeader = requireLeader;
    }

    @Override
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, ReplicaConfig config,
                                            boolean upsert) {
        requireLeader.run();
        return master.putStart(clientId, key, size, config, upsert);
    }

    @Override
    public void putEnd(String clientId, String key, Long crc32c) {
        requireLeader.run();
        master.putEnd(clientId, key, crc32c);
    }

    @Override
    public void putRevoke(String clientId, String key) {
        requireLeader.run();
        master.putRevoke(clientId, key);
    }

    @Override
    public ObjectLocation getReplicaList(String key) {
        requireLeader.run();
        return master.getReplicaList(key);
    }

    @Override
    public boolean exist(String key) {
        requireLeader.run();
        return master.exist(key);
    }

    @Override
    public void remove(String key, boolean force) {
        requireLeader.run();
        master.remove(key, force);
    }

    @Override
    public long removeAll(boolean force) {
        requireLeader.run();
        return master.removeAll(force);
    }

    @Override
    public List<KeyResult<List<ReplicaDescriptor>>> batchPutStart(String clientId, List<String> keys,
                                                                  List<Long> sizes, ReplicaConfig config,
                                                                  boolean upsert) {
        requireLeader.run();
        return master.batchPutStart(clientId, keys, sizes, config, upsert);
    }

    @Override
    public List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys, List<Long> crc32cs) {
        requireLeader.run();
        return master.batchPutEnd(clientId, keys, crc32cs);
    }

    @Override
    public List<KeyResult<Void>> batchPutRevoke(String clientId, List<String> keys) {
        requireLeader.run();
        return master.batchPutRevoke(clientId, keys);
    }

    @Override
    public List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys) {
        requireLeader.run();
        return master.batchGetReplicaList(keys);
    }

    @Override
    public List<KeyResult<Boolean>> batchExist(List<String> keys) {
        requireLeader.run();
        return master.batchExist(keys);
    }

    @Override
    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        requireLeader.run();
        return master.batchRemove(keys, force);
    }

    @Override
    public void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        requireLeader.run();
        master.mountSegment(clientId, segment, capacity, endpoint);
    }

    @Override
    public void unmountSegment(String clientId, String segment) {
        requireLeader.run();
        master.unmountSegment(clientId, segment);
    }

    @Override
    public void remountSegments(String clientId, List<SegmentSpec> segments) {
        requireLeader.run();
        master.remountSegments(clientId, segments);
    }

    @Override
    public HeartbeatReply heartbeat(String clientId) {
        requireLeader.run();
        return master.heartbeat(clientId);
    }
}
