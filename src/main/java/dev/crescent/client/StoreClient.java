package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.ObjectLocation;
import dev.crescent.master.ReplicaConfig;
import dev.crescent.master.ReplicaDescriptor;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;

import java.lang.foreign.MemorySegment;
import java.time.InstantSource;
import java.util.List;

/**
 * Puts and gets object bytes: control through the master, bytes straight to and from the workers' segments
 * through the transfer engine.
 */
public final class StoreClient {
    private final MasterClient master;
    private final TransferEngine engine;
    private final String clientId;
    private final InstantSource clock;

    public StoreClient(MasterClient master, TransferEngine engine, String clientId, InstantSource clock) {
        this.master = master;
        this.engine = engine;
        this.clientId = clientId;
        this.clock = clock;
    }

    /**
     * Two-phase put: reserve ranges, write every replica in parallel, then make the object readable. A failed
     * write revokes the put, so nothing half-written ever becomes visible. If the reservation is gone by PutEnd
     * (a failover to a master that never saw it: reservations are not in the op-log), the put is made once more
     * from the same bytes, so the caller sees a delay rather than an error.
     */
    public void put(String key, MemorySegment value, ReplicaConfig config, boolean upsert) {
        writeReplicas(key, value, config, upsert);
        try {
            master.putEnd(clientId, key);
        } catch (StoreException e) {
            if (e.code() != ErrorCode.OBJECT_NOT_FOUND) {
                throw e;
            }
            writeReplicas(key, value, config, upsert);
            master.putEnd(clientId, key);
        }
    }

    private void writeReplicas(String key, MemorySegment value, ReplicaConfig config, boolean upsert) {
        List<ReplicaDescriptor> replicas = master.putStart(clientId, key, value.byteSize(), config, upsert);
        try {
            engine.execute(replicas.stream()
                    .map(r -> new TransferRequest(TransferOp.WRITE, value, r.segment(), r.endpoint(), r.offset(),
                            r.ticket()))
                    .toList());
        } catch (RuntimeException writeFailure) {
            try {
                master.putRevoke(clientId, key);
            } catch (RuntimeException revokeFailure) {
                writeFailure.addSuppressed(revokeFailure);
            }
            throw writeFailure;
        }
    }

    /** The object's bytes. Tries replicas in order and discards a read that ended after its lease. */
    public byte[] get(String key) {
        ObjectLocation location = master.getReplicaList(key);
        if (location.size() > Integer.MAX_VALUE - 8) {
            throw new StoreException(ErrorCode.INVALID_PARAMS,
                    "object '" + key + "' is " + location.size() + " bytes; read it into a MemorySegment");
        }
        byte[] value = new byte[(int) location.size()];
        readInto(key, location, MemorySegment.ofArray(value));
        return value;
    }

    /** Reads the object into {@code target} (at least the object's size); returns the object's size. */
    public long getInto(String key, MemorySegment target) {
        ObjectLocation location = master.getReplicaList(key);
        if (target.byteSize() < location.size()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS,
                    "buffer of " + target.byteSize() + " bytes is smaller than object '" + key + "' ("
                            + location.size() + ")");
        }
        readInto(key, location, target.asSlice(0, location.size()));
        return location.size();
    }

    /** The object's size, with a read lease (what HEAD answers). */
    public long size(String key) {
        return master.getReplicaList(key).size();
    }

    public boolean exists(String key) {
        return master.exist(key);
    }

    public void remove(String key, boolean force) {
        master.remove(key, force);
    }

    private void readInto(String key, ObjectLocation location, MemorySegment target) {
        StoreException last = null;
        for (ReplicaDescriptor replica : location.replicas()) {
            try {
                engine.execute(List.of(new TransferRequest(TransferOp.READ, target, replica.segment(),
                        replica.endpoint(), replica.offset(), replica.ticket())));
                if (clock.millis() <= location.leaseDeadlineMillis()) {
                    return;
                }
                last = new StoreException(ErrorCode.LEASE_EXPIRED,
                        "read of '" + key + "' finished after its lease; the bytes may be stale");
            } catch (StoreException e) {
                last = e;
            }
        }
        throw last != null ? last
                : new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' has no replica");
    }
}
