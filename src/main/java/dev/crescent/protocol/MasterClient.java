package dev.crescent.protocol;

import dev.crescent.transfer.SegmentDescriptor;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The master's operations as a client sees them, whether the master runs in this JVM or across the network.
 * Failures are StoreExceptions carrying the master's error code; batch operations answer one result per key.
 */
public interface MasterClient extends AutoCloseable {
    /** The most object bytes one batch call carries inline, either way; further objects go as replicas. */
    long BATCH_INLINE_BYTES = 4 << 20;

    List<ReplicaDescriptor> putStart(String clientId, String key, long size, ReplicaConfig config, boolean upsert);

    default List<ReplicaDescriptor> putStart(String clientId, String key, long size, int replicaNum, boolean upsert) {
        return putStart(clientId, key, size, ReplicaConfig.replicas(replicaNum), upsert);
    }

    /**
     * A put start that carries the object's bytes (a small object): a master that can write them itself does, and
     * commits the put, so the whole put is one call. Otherwise the answer holds the replicas to write, as
     * {@link #putStart} would, and the put goes on as usual. A master in this process has nothing to save: it
     * answers the replicas.
     *
     * @param crc32c the CRC32C of {@code value}, kept as PutEnd keeps it; or null
     */
    default StartedPut putStartInline(
            String clientId, String key, MemorySegment value, ReplicaConfig config, boolean upsert, Long crc32c) {
        return StartedPut.toWrite(putStart(clientId, key, value.byteSize(), config, upsert));
    }

    /**
     * The largest put whose bytes are worth sending with its put start although they are past the inline limit: the
     * master reads them from its socket straight into the object's memory and commits the put in that call. 0: none
     * (a master that predates it, one that does not announce it, or one that cannot be asked now).
     */
    default long streamedPutBytes() {
        return 0;
    }

    /**
     * A put start by a writer that maps this host's shared-memory segments ({@code writerHost}, its host id): as
     * {@link #putStartInline} when {@code value} is given, as {@link #putStart} otherwise, and when {@code inSpace} is
     * not 0 the caller has already copied the bytes into that space, granted to it earlier, and the master makes the
     * object there and commits it in this call. When the space is no longer the caller's, the answer holds the
     * replicas to write instead, as for any put start. The answer may carry space for the caller's next put of this
     * size. A master in this process, or one that grants no space, answers as {@link #putStartInline} or
     * {@link #putStart} would.
     *
     * @param value   the object's bytes when they go with the call (a small object), else null
     * @param inSpace the space holding the object's bytes already, or 0
     */
    default StartedPut putStartNear(
            String clientId,
            String key,
            long size,
            MemorySegment value,
            long inSpace,
            String writerHost,
            ReplicaConfig config,
            boolean upsert,
            Long crc32c) {
        return value != null
                ? putStartInline(clientId, key, value, config, upsert, crc32c)
                : StartedPut.toWrite(putStart(clientId, key, size, config, upsert));
    }

    default void putEnd(String clientId, String key) {
        putEnd(clientId, key, null);
    }

    /** @param crc32c the CRC32C of the bytes written, kept with the object for readers to verify; or null */
    void putEnd(String clientId, String key, Long crc32c);

    void putRevoke(String clientId, String key);

    ObjectLocation getReplicaList(String key);

    /**
     * {@link #getReplicaList(String)}, taking an object of at most {@code acceptInline} bytes as its bytes (in
     * {@link ObjectLocation#value()}) when the master can read them itself: a small get in one call.
     *
     * @param readerHost this host's id when the caller maps same-host segments itself (it then gets such replicas
     *                   as replicas), else empty
     */
    default ObjectLocation getReplicaList(String key, long acceptInline, String readerHost) {
        return getReplicaList(key);
    }

    /**
     * {@link #getReplicaList(String, long, String)} for a reader with a buffer of its own ({@code acceptInline} at
     * most its size): bytes answered inline may come already copied into {@code target} (the answer's value is
     * then {@code target}'s first bytes), so a client whose answers live in a buffer it reuses need not allocate
     * one per answer.
     */
    default ObjectLocation getReplicaListInto(String key, long acceptInline, String readerHost, MemorySegment target) {
        return getReplicaList(key, acceptInline, readerHost);
    }

    boolean exist(String key);

    void remove(String key, boolean force);

    long removeAll(boolean force);

    List<KeyResult<List<ReplicaDescriptor>>> batchPutStart(
            String clientId, List<String> keys, List<Long> sizes, ReplicaConfig config, boolean upsert);

    /**
     * {@link #batchPutStart} as {@link #putStartNear} for each key: the bytes of small objects go with the call, and
     * keys whose bytes the caller already copied into space granted to it are named by that space; each key the master
     * writes itself, or makes in its space, is committed in this one call, and the others answer their replicas to
     * write. With {@code writerHost} each key's answer may carry space for a later put of its size. A master in this
     * process answers replicas for every key.
     *
     * @param sizes    parallel to keys: each object's size
     * @param values   parallel to keys: each object's bytes, or null where they are not sent
     * @param inSpaces parallel to keys: the space holding that object's bytes already, or 0; null for none
     * @param crc32cs  parallel to keys: each object's CRC32C, or null entries (or a null list) for none
     */
    default List<KeyResult<StartedPut>> batchPutStartNear(
            String clientId,
            List<String> keys,
            List<Long> sizes,
            List<MemorySegment> values,
            List<Long> inSpaces,
            String writerHost,
            ReplicaConfig config,
            boolean upsert,
            List<Long> crc32cs) {
        return batchPutStart(clientId, keys, sizes, config, upsert).stream()
                .map(r -> new KeyResult<>(r.key(), r.ok() ? StartedPut.toWrite(r.value()) : null, r.error()))
                .toList();
    }

    default List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys) {
        return batchPutEnd(clientId, keys, null);
    }

    /** @param crc32cs parallel to keys (null entries: none), or null */
    List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys, List<Long> crc32cs);

    List<KeyResult<Void>> batchPutRevoke(String clientId, List<String> keys);

    List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys);

    /** {@link #batchGetReplicaList(List)} taking small objects as bytes, as {@link #getReplicaList(String, long, String)}. */
    default List<KeyResult<ObjectLocation>> batchGetReplicaList(
            List<String> keys, long acceptInline, String readerHost) {
        return batchGetReplicaList(keys);
    }

    /**
     * {@link #batchGetReplicaList(List, long, String)} for a reader with buffers of its own, as
     * {@link #getReplicaListInto}: bytes answered inline may come already copied into {@code targetFor(index, size)}
     * (the location's value is then that target's first bytes), so the answer need not be kept whole to copy
     * them out afterwards. {@code targetFor} is asked only for keys answered with their bytes.
     */
    default List<KeyResult<ObjectLocation>> batchGetReplicaListInto(
            List<String> keys,
            long acceptInline,
            String readerHost,
            BiFunction<Integer, Long, MemorySegment> targetFor) {
        return batchGetReplicaList(keys, acceptInline, readerHost);
    }

    List<KeyResult<Boolean>> batchExist(List<String> keys);

    List<KeyResult<Void>> batchRemove(List<String> keys, boolean force);

    /** Mounts memory that holds nothing yet. */
    default void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        mountSegment(clientId, new SegmentDescriptor(segment, capacity, endpoint), false);
    }

    /**
     * Mounts a segment this client contributes (idempotent for the same owner).
     *
     * @param claimsContents the memory already holds objects (a segment file a restarted worker adopted, or memory
     *                       mounted before): refused with SEGMENT_CONTENTS_UNKNOWN unless this master holds the segment
     *                       with the same contents id, whose objects it then hands to this client
     */
    void mountSegment(String clientId, SegmentDescriptor segment, boolean claimsContents);

    void unmountSegment(String clientId, String segment);

    void remountSegments(String clientId, List<SegmentDescriptor> segments);

    HeartbeatReply heartbeat(String clientId);

    /**
     * The transfers under these read leases are over: their memory may be reused as soon as no other reader holds
     * it. Never waits on the network: a remote master may get them carried on a following call. A lease not handed
     * back ends at its deadline anyway.
     */
    void releaseLeases(List<ReadLease> leases);

    /**
     * {@code clientId} is closing and will copy into none of the put spaces granted to it: their memory is free at
     * once, not when their lifetimes end. Best effort: a space not given back is freed by its lifetime as before.
     */
    void releaseSpaces(String clientId);

    @Override
    default void close() {}
}
