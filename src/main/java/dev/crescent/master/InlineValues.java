package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.TransferBatch;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Small objects in one round trip (issue 20). A put start that carries the object's bytes is written and committed
 * by the master itself, and a replica-list request whose reader accepts bytes is answered with them, whenever the
 * master reaches the replicas by a memory copy: its own segments (standalone) or a same-host worker's shared-memory
 * file. Otherwise both answer as usual and the client moves the bytes. Either way the object lives in a segment
 * range like any other, so leases, eviction, pins, tickets and the op-log treat it as they treat every object: the
 * put is an ordinary PutStart and PutEnd (acknowledged once durable), the read an ordinary lease handed back as soon
 * as the copy is done.
 *
 * <p>Only memory copies, never the network: these calls run on the event loop, which may not wait on a peer.
 */
public final class InlineValues {
    /** The highest limit one may configure: bytes in a master call are copied and held whole. */
    public static final long MAX_LIMIT = 16 << 20;
    /** The most object bytes one batch answer carries; further objects are answered as replicas. */
    public static final long BATCH_INLINE_BYTES = 4 << 20;

    private final Master master;
    private final TransferEngine engine;
    private final long maxBytes;

    /** @param maxBytes the largest object moved inline (0: none) */
    public InlineValues(Master master, TransferEngine engine, long maxBytes) {
        this.master = master;
        this.engine = engine;
        this.maxBytes = maxBytes;
    }

    /**
     * Starts a put of {@code value}; commits it at once when the bytes could be written here.
     *
     * @return COMMITTED once the put is durable, or the replicas the caller is to write (it then ends the put)
     */
    public CompletableFuture<StartedPut> putStart(
            String clientId, String key, MemorySegment value, ReplicaConfig config, boolean upsert, Long crc32c) {
        List<ReplicaDescriptor> replicas;
        try {
            replicas = master.putStart(clientId, key, value.byteSize(), config, upsert);
        } catch (StoreException e) {
            if (upsert || e.code() != ErrorCode.OBJECT_ALREADY_EXISTS || !holds(key, value)) {
                throw e;
            }
            return repeated(clientId, key, crc32c, e);
        }
        if (value.byteSize() > maxBytes) {
            return CompletableFuture.completedFuture(StartedPut.toWrite(replicas));
        }
        List<TransferRequest> writes = new ArrayList<>(replicas.size());
        for (ReplicaDescriptor replica : replicas) {
            TransferRequest write = replica.write(value, 0);
            if (!inMemory(write)) {
                return CompletableFuture.completedFuture(StartedPut.toWrite(replicas));
            }
            writes.add(write);
        }
        StoreException failed = firstFailure(engine.submit(writes));
        if (failed != null) {
            master.putRevoke(clientId, key);
            throw failed;
        }
        return master.putEndAsync(clientId, key, crc32c).thenApply(durable -> StartedPut.COMMITTED);
    }

    /**
     * A put start whose bytes the object already holds, by the client that committed it: its earlier attempt was
     * committed but the answer was lost (the leader died between the two, and the client asked the next one).
     * Acknowledged like a repeated PutEnd, once that commit is durable; another client's object stays
     * OBJECT_ALREADY_EXISTS.
     */
    private CompletableFuture<StartedPut> repeated(String clientId, String key, Long crc32c, StoreException exists) {
        try {
            return master.putEndAsync(clientId, key, crc32c).thenApply(durable -> StartedPut.COMMITTED);
        } catch (StoreException notOurs) {
            throw exists;
        }
    }

    /** Whether the complete object under {@code key} holds exactly these bytes (read here, lease handed back). */
    private boolean holds(String key, MemorySegment value) {
        if (value.byteSize() > maxBytes) {
            return false;
        }
        ObjectLocation location;
        try {
            location = master.getReplicaList(key);
        } catch (StoreException notComplete) {
            return false;
        }
        ObjectLocation read = withBytes(location, maxBytes, "");
        release(key, location);
        return read.value() != null && read.value().mismatch(value) == -1;
    }

    /**
     * The object's replicas, or its bytes when it is at most {@code acceptInline} (and this master's limit), a
     * replica is in reach of a memory copy, and none is in the reader's own reach: a reader that maps a replica on
     * its host ({@code readerHost}, empty: none) copies it faster itself than it receives it on a socket (64 KiB
     * shm gets: 29.9k/s mapped, 17.0k/s inline). The read's lease ends before this returns when bytes are answered.
     */
    public ObjectLocation locate(String key, long acceptInline, String readerHost) {
        ObjectLocation location = master.getReplicaList(key);
        ObjectLocation answered = withBytes(location, acceptInline, readerHost);
        if (answered.value() != null) {
            release(key, location); // the read is over: its bytes are in the answer
        }
        return answered;
    }

    /**
     * {@link #locate} for many keys in one master call: objects are answered with their bytes while the answer
     * holds at most {@link #BATCH_INLINE_BYTES} of them (the rest as replicas), and the leases of those answered
     * with bytes go back in one release.
     */
    public List<KeyResult<ObjectLocation>> locateAll(List<String> keys, long acceptInline, String readerHost) {
        List<KeyResult<ObjectLocation>> located = master.batchGetReplicaList(keys);
        List<KeyResult<ObjectLocation>> answered = new ArrayList<>(located.size());
        List<ReadLease> done = new ArrayList<>();
        long budget = BATCH_INLINE_BYTES;
        for (KeyResult<ObjectLocation> result : located) {
            if (!result.ok() || result.value().size() > budget) {
                answered.add(result);
                continue;
            }
            ObjectLocation location = withBytes(result.value(), acceptInline, readerHost);
            if (location.value() != null) {
                budget -= location.size();
                ReadLease lease = ReadLease.of(result.key(), result.value());
                if (lease != null) {
                    done.add(lease);
                }
            }
            answered.add(new KeyResult<>(result.key(), location, null));
        }
        if (!done.isEmpty()) {
            master.releaseLeases(done);
        }
        return answered;
    }

    /** The location with the object's bytes instead of its replicas, when they may and can be read here. */
    private ObjectLocation withBytes(ObjectLocation location, long acceptInline, String readerHost) {
        if (location.size() > Math.min(acceptInline, maxBytes) || mappedByReader(location, readerHost)) {
            return location;
        }
        byte[] bytes = new byte[(int) location.size()];
        for (ReplicaDescriptor replica : location.replicas()) {
            TransferRequest read = replica.read(MemorySegment.ofArray(bytes));
            if (inMemory(read) && firstFailure(engine.submit(List.of(read))) == null) {
                return location.inlined(MemorySegment.ofArray(bytes));
            }
        }
        return location; // no replica in memory, or none read: the reader reads them itself
    }

    /** The read under {@code location}'s lease is over. */
    private void release(String key, ObjectLocation location) {
        ReadLease lease = ReadLease.of(key, location);
        if (lease != null) {
            master.releaseLeases(List.of(lease));
        }
    }

    private static boolean mappedByReader(ObjectLocation location, String readerHost) {
        if (readerHost.isEmpty()) {
            return false;
        }
        for (ReplicaDescriptor replica : location.replicas()) {
            PeerAddress peer = PeerAddress.parse(replica.endpoint());
            if (!peer.shmFile().isEmpty() && peer.hostId().equals(readerHost)) {
                return true;
            }
        }
        return false;
    }

    private boolean inMemory(TransferRequest request) {
        Transport transport = engine.transportFor(request);
        return transport != null && transport.copiesInMemory();
    }

    /** The first failure of a batch of memory copies (complete when submitted), or null. */
    private static StoreException firstFailure(TransferBatch batch) {
        if (!batch.future().isDone()) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "a memory copy did not complete on its thread");
        }
        for (int i = 0; i < batch.requests().size(); i++) {
            StoreException failure = TransferEngine.failureOf(batch, i);
            if (failure != null) {
                return failure;
            }
        }
        return null;
    }
}
