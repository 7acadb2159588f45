package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ArrivingValue;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterClient;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.TransferEngine;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;

/**
 * Small objects in one round trip (issue 20). A put start that carries the object's bytes is written and committed
 * by the master itself, and a replica-list request whose reader accepts bytes is answered with them, whenever the
 * master reaches the replicas by a memory copy: its own segments (standalone) or a same-host worker's shared-memory
 * file. Otherwise both answer as usual and the client moves the bytes. Either way the object lives in a segment
 * range like any other, so leases, eviction, pins, tickets and the op-log treat it as they treat every object: the
 * put is a PutStart and a PutEnd made in one step of its key, as a put into granted space is (acknowledged once
 * durable); the read a copy made in one step of its key, which needs no lease ({@link ReadLeases.Copier}), or, for
 * a value the answer sends from its segment, an ordinary lease handed back once the answer is out.
 *
 * <p>Only memory copies, never the network: these calls run on the event loop, which may not wait on a peer.
 */
public final class InlineValues {
    /** The highest limit one may configure: bytes in a master call are copied and held whole. */
    public static final long MAX_LIMIT = 16 << 20;

    /**
     * Under a lending, objects of this size and more are lent from their segments, not copied under their keys: the
     * answer's writer then sends them from the segments as they are, with no copy of its own, and copies smaller
     * ones into its frame anyway (a piece of its own costs more than the copy below this size).
     */
    public static final long LENT_FROM = 16 << 10;

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
     * Starts a put of {@code value}; writes and commits it in the same step when the bytes could be written here.
     *
     * @return COMMITTED once the put is durable, or the replicas the caller is to write (it then ends the put)
     */
    public CompletableFuture<StartedPut> putStart(
            String clientId, String key, MemorySegment value, ReplicaConfig config, boolean upsert, Long crc32c) {
        return startOne(clientId, key, value.byteSize(), value, config, upsert, crc32c, 0);
    }

    /**
     * Starts a put whose value is still arriving on its caller's connection ({@link ArrivingValue}): placed as any put
     * start, its bytes read from the socket straight into every replica (outside its key's step: the key is not held
     * while they arrive), then committed. One call instead of three for a large put; the reads are the caller's
     * connection's own, so the value is read only when the placement was answered at once, on that connection's
     * thread. A put that had to wait for room, or whose replicas are out of reach of a memory copy, is answered with
     * its replicas as any put start (its writer writes the bytes it still holds, and the connection skips them). A
     * value that does not arrive whole revokes the put.
     *
     * @return COMMITTED once durable, or the replicas the caller is to write (it then ends the put)
     */
    public CompletableFuture<StartedPut> putStartArriving(
            String clientId, String key, ArrivingValue value, ReplicaConfig config, boolean upsert, Long crc32c) {
        long size = value.byteSize();
        CompletableFuture<List<ReplicaDescriptor>> placing = master.putStartAsync(clientId, key, size, config, upsert);
        if (!placing.isDone() || placing.isCompletedExceptionally()) {
            return placing.thenApply(StartedPut::toWrite);
        }
        List<ReplicaDescriptor> replicas = placing.join();
        MemorySegment[] ranges = new MemorySegment[replicas.size()];
        for (int i = 0; i < ranges.length; i++) {
            ReplicaDescriptor replica = replicas.get(i);
            ranges[i] = viewOf(replica.segment(), replica.endpoint(), replica.offset(), size);
            if (ranges[i] == null) {
                return CompletableFuture.completedFuture(StartedPut.toWrite(replicas));
            }
        }
        try {
            value.readInto(ranges[0]);
        } catch (IOException e) {
            try {
                master.putRevoke(clientId, key);
            } catch (StoreException gone) {
                // revoked already (its reservation ran out): nothing of it is left either way
            }
            throw new StoreException(
                    ErrorCode.TRANSFER_FAIL, "the value of " + key + " did not arrive whole: " + e.getMessage());
        }
        for (int i = 1; i < ranges.length; i++) {
            MemorySegment.copy(ranges[0], 0, ranges[i], 0, size);
        }
        return master.putEndAsync(clientId, key, crc32c).thenApply(durable -> StartedPut.COMMITTED);
    }

    /**
     * {@link #putStart} for many keys in one master call: each key whose bytes were sent is started, written and
     * committed as one put start with bytes is; a key whose bytes its writer copied into space granted to it is made
     * there as {@link Master#putStartInSpace} makes it; the others are ordinary put starts. One key's failure never
     * fails the others.
     *
     * @param values  parallel to keys: each object's bytes, or null where they were not sent
     * @param crc32cs parallel to keys: each object's CRC32C or null
     * @param inSpaces parallel to keys: the space each object's bytes were copied into, 0 where none; null for none
     * @return per key, in order: its refusal, or the future of its answer (COMMITTED once durable, or the replicas
     * the caller is to write and end)
     */
    public List<KeyResult<CompletableFuture<StartedPut>>> batchPutStart(
            String clientId,
            List<String> keys,
            List<Long> sizes,
            List<MemorySegment> values,
            ReplicaConfig config,
            boolean upsert,
            List<Long> crc32cs,
            List<Long> inSpaces) {
        return each(
                keys,
                (i, key) -> startOne(
                        clientId,
                        key,
                        sizes.get(i),
                        values.get(i),
                        config,
                        upsert,
                        crc32cs.get(i),
                        spaceOf(inSpaces, i)));
    }

    /**
     * {@link #batchPutStart} of a batch whose values are still arriving on its caller's connection, one entry per key
     * in order ({@link ArrivingValues}): each key whose bytes were sent is placed, and its bytes read straight into
     * its replicas and committed, as {@link #putStartArriving} does for one put; the others as in a batch without
     * bytes. Keys are started in order, so the entries are read in the order they arrive.
     *
     * @param values per key, by its index in {@code keys}: its bytes still arriving, or null where none were sent
     */
    public List<KeyResult<CompletableFuture<StartedPut>>> batchPutStartArriving(
            String clientId,
            List<String> keys,
            List<Long> sizes,
            IntFunction<ArrivingValue> values,
            ReplicaConfig config,
            boolean upsert,
            List<Long> crc32cs,
            List<Long> inSpaces) {
        return each(keys, (i, key) -> {
            long space = spaceOf(inSpaces, i);
            ArrivingValue value = space == 0 ? values.apply(i) : null; // in its space already: its entry is skipped
            if (value == null) {
                return startOne(clientId, key, sizes.get(i), null, config, upsert, crc32cs.get(i), space);
            }
            requireValueSize(key, sizes.get(i), value.byteSize());
            return putStartArriving(clientId, key, value, config, upsert, crc32cs.get(i));
        });
    }

    /** One key's start in a batch: its index and key; its answer, or the refusal it throws. */
    @FunctionalInterface
    private interface KeyStart {
        CompletableFuture<StartedPut> start(int index, String key);
    }

    /** Starts every key in order; one key's failure never fails the others. */
    private static List<KeyResult<CompletableFuture<StartedPut>>> each(List<String> keys, KeyStart start) {
        if (keys.size() > Master.MAX_BATCH_KEYS) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    keys.size() + " keys in one batch; at most " + Master.MAX_BATCH_KEYS + " (split the batch)");
        }
        List<KeyResult<CompletableFuture<StartedPut>>> answers = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            int index = i;
            String key = keys.get(i);
            answers.add(KeyResult.of(key, () -> start.start(index, key)));
        }
        return answers;
    }

    /** Refuses a put whose bytes are not as many as its size says. */
    public static void requireValueSize(String key, long size, long valueBytes) {
        if (valueBytes != size) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "size " + size + " but " + valueBytes + " bytes of value for '" + key + "'");
        }
    }

    private static long spaceOf(List<Long> inSpaces, int i) {
        return inSpaces == null ? 0 : inSpaces.get(i);
    }

    /**
     * One key's put start: in the space granted to its writer ({@code space} not 0), with its bytes ({@code value}
     * not null), or an ordinary put start whose replicas the caller writes. A single put comes here directly, without
     * a batch's lists around it (the small put's path: every object there is garbage a moment later).
     */
    private CompletableFuture<StartedPut> startOne(
            String clientId,
            String key,
            long size,
            MemorySegment value,
            ReplicaConfig config,
            boolean upsert,
            Long crc32c,
            long space) {
        if (space != 0) {
            return master.putStartInSpace(clientId, key, space, size, config, upsert, crc32c);
        }
        return value != null
                ? begin(clientId, key, value, config, upsert, crc32c)
                : master.putStartAsync(clientId, key, size, config, upsert).thenApply(StartedPut::toWrite);
    }

    /**
     * Starts a put whose bytes came with it, and writes and commits it in the same step when the master reaches
     * every replica by a memory copy; past the limit, the copy is made between the put's placing and its commit
     * ({@link #putStartArriving}), so its key is not held while a large value is copied.
     *
     * @return COMMITTED once durable, the acknowledgement of a repeated put, or the replicas for the caller to write
     * (a replica out of reach of a memory copy, or placed only after waiting for the disk tier to make room)
     */
    private CompletableFuture<StartedPut> begin(
            String clientId, String key, MemorySegment value, ReplicaConfig config, boolean upsert, Long crc32c) {
        if (value.byteSize() > maxBytes && maxBytes > 0) {
            // Too large to copy within the key's step, but here already: placed, copied, committed.
            return putStartArriving(clientId, key, ArrivingValue.of(value), config, upsert, crc32c);
        }
        Copier copier = maxBytes > 0 ? new Copier(value) : null; // 0: bytes never go with a call
        try {
            return master.putStartFilled(clientId, key, value.byteSize(), config, upsert, crc32c, copier);
        } catch (StoreException e) {
            if (upsert || e.code() != ErrorCode.OBJECT_ALREADY_EXISTS || !holds(key, value)) {
                throw e;
            }
            return repeated(clientId, key, crc32c, e);
        } finally {
            if (copier != null) {
                copier.expire();
            }
        }
    }

    /**
     * Copies a put's bytes into the ranges placed for it, while the call that brought them is on: they lie in the
     * frame the call was read from, which is read into again after it. A put that waits for the disk tier to make
     * room is placed after that; its writer then writes the bytes it still has.
     */
    private final class Copier implements PutPath.Filler {
        private final MemorySegment value;
        private volatile boolean open = true;

        Copier(MemorySegment value) {
            this.value = value;
        }

        void expire() {
            open = false;
        }

        @Override
        public boolean fill(List<Replica> replicas) {
            if (!open) {
                return false;
            }
            MemorySegment[] ranges = new MemorySegment[replicas.size()];
            for (int i = 0; i < ranges.length; i++) {
                Replica replica = replicas.get(i);
                ranges[i] = engine.view(
                        replica.segment().name(),
                        replica.segment().endpoint(),
                        replica.range().offset(),
                        value.byteSize());
                if (ranges[i] == null) {
                    return false; // not in reach of a memory copy: the writer writes it over the network
                }
            }
            for (MemorySegment range : ranges) {
                MemorySegment.copy(value, 0, range, 0, value.byteSize());
            }
            return true;
        }
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

    /** Whether the complete object under {@code key} holds exactly these bytes (copied under its key and compared). */
    private boolean holds(String key, MemorySegment value) {
        if (value.byteSize() > maxBytes) {
            return false;
        }
        ObjectLocation location;
        try {
            location = master.getReplicaList(key, new Copies(maxBytes, "", value.byteSize(), null));
        } catch (StoreException notComplete) {
            return false;
        }
        if (location.value() == null) { // another size, or out of reach of a memory copy: leased, and handed back
            release(key, location);
            return false;
        }
        return location.value().mismatch(value) == -1;
    }

    /**
     * The object's replicas, or its bytes when it is at most {@code acceptInline} (and this master's limit), a
     * replica is in reach of a memory copy, and none is in the reader's own reach: a reader that maps a replica on
     * its host ({@code readerHost}, empty: none) copies it faster itself than it receives it on a socket (64 KiB
     * shm gets: 29.9k/s mapped, 17.0k/s inline).
     *
     * @param lending null: the bytes are copied under the object's key into an array of their own, and no lease is
     *                granted; else they are lent as a view of their segment under a read lease that ends with the
     *                lending (once the answer that carries them is out). One value is not copied under its key here:
     *                the answer's writer copies it once anyway, straight from the segment, and that second copy cost
     *                what the lease saved (single 4 KiB gets, alternating runs, even to 4% fewer).
     */
    public ObjectLocation locate(String key, long acceptInline, String readerHost, Lending lending) {
        if (lending == null) {
            return master.getReplicaList(key, new Copies(acceptInline, readerHost, Long.MAX_VALUE, null));
        }
        ObjectLocation location = master.getReplicaList(key);
        ObjectLocation answered = lent(List.of(location), acceptInline, readerHost, Long.MAX_VALUE)
                .getFirst();
        if (answered.value() != null) {
            lending.until(() -> release(key, location)); // the read is over once its bytes are in the answer
        }
        return answered;
    }

    /**
     * {@link #locate} for many keys in one master call: objects are answered with their bytes while the answer
     * holds at most {@link MasterClient#BATCH_INLINE_BYTES} of them (the rest as replicas). Under {@code lending},
     * objects below {@link #LENT_FROM} are copied under their keys into the lending's room (a batch of 128 4 KiB
     * values spent about a fifth of the master's time granting, describing and handing back their leases), larger ones lent
     * from their segments, whose leases go back in one release once the answer is out.
     */
    public List<KeyResult<ObjectLocation>> locateAll(
            List<String> keys, long acceptInline, String readerHost, Lending lending) {
        Copies copies = new Copies(acceptInline, readerHost, MasterClient.BATCH_INLINE_BYTES, lending);
        List<KeyResult<ObjectLocation>> located = master.batchGetReplicaList(keys, copies);
        if (lending == null) {
            return located;
        }
        List<ObjectLocation> leased = new ArrayList<>(located.size());
        for (KeyResult<ObjectLocation> result : located) {
            leased.add(result.ok() && result.value().value() == null ? result.value() : null);
        }
        List<ObjectLocation> read = lent(leased, acceptInline, readerHost, copies.budget);
        if (read == leased) {
            return located; // nothing lent: every lease stays with its reader
        }
        List<KeyResult<ObjectLocation>> answered = new ArrayList<>(located.size());
        List<ReadLease> done = new ArrayList<>();
        for (int i = 0; i < located.size(); i++) {
            KeyResult<ObjectLocation> result = located.get(i);
            if (read.get(i) == leased.get(i)) {
                answered.add(result);
                continue;
            }
            ReadLease lease = ReadLease.of(result.key(), result.value());
            if (lease != null) {
                done.add(lease);
            }
            answered.add(new KeyResult<>(result.key(), read.get(i), null));
        }
        if (!done.isEmpty()) {
            lending.until(() -> master.releaseLeases(done));
        }
        return answered;
    }

    /**
     * Copies objects' bytes under their keys ({@link ReadLeases.Copier}): an object of at most the limit, while the
     * bytes copied stay within the budget, from the first replica a memory copy reaches, unless the reader maps a
     * replica itself. Under a lending, only objects below {@link #LENT_FROM}, into the lending's room; else into an
     * array each.
     */
    private final class Copies implements ReadLeases.Copier {
        private final long largest;
        private final String readerHost;
        private final Lending lending;
        /** The bytes further copies may add up to. */
        long budget;

        Copies(long acceptInline, String readerHost, long budget, Lending lending) {
            long limit = Math.min(acceptInline, maxBytes);
            this.largest = lending == null ? limit : Math.min(limit, LENT_FROM - 1);
            this.readerHost = readerHost;
            this.budget = budget;
            this.lending = lending;
        }

        @Override
        public MemorySegment copy(List<Replica> live, long size) {
            if (size > largest || size > budget) {
                return null;
            }
            for (Replica replica : live) {
                if (mappedBy(replica.segment().endpoint(), readerHost)) {
                    return null;
                }
            }
            for (Replica replica : live) {
                MemorySegment view = viewOf(
                        replica.segment().name(),
                        replica.segment().endpoint(),
                        replica.range().offset(),
                        size);
                if (view != null) {
                    MemorySegment copy = lending == null ? Lending.Room.HEAP.take(size) : lending.room(size);
                    MemorySegment.copy(view, 0, copy, 0, size);
                    budget -= size;
                    return copy;
                }
            }
            return null;
        }
    }

    /**
     * Each location with its object's bytes instead of its replicas where they may and can be read here, as views of
     * the segment itself, the others as they are (a null stays null), while the bytes lent add up to at most
     * {@code budget}; the list itself when none is. The answer's writer copies the views once, straight into its
     * frame, or sends them as they are: copying them into an array here first cost that array's zeroing and a second
     * copy. A view that fails leaves the object to its reader, who reads the replicas itself.
     */
    private List<ObjectLocation> lent(
            List<ObjectLocation> locations, long acceptInline, String readerHost, long budget) {
        long limit = Math.min(acceptInline, maxBytes);
        List<ObjectLocation> answered = locations;
        for (int i = 0; i < locations.size(); i++) {
            ObjectLocation location = locations.get(i);
            if (location == null
                    || location.size() > limit
                    || location.size() > budget
                    || mappedByReader(location, readerHost)) {
                continue;
            }
            MemorySegment view = firstView(location);
            if (view != null) {
                if (answered == locations) {
                    answered = new ArrayList<>(locations);
                }
                answered.set(i, location.inlined(view));
                budget -= location.size();
            }
        }
        return answered;
    }

    /** The object's bytes as a view of the first replica a memory copy reaches, or null. */
    private MemorySegment firstView(ObjectLocation location) {
        for (ReplicaDescriptor replica : location.replicas()) {
            MemorySegment view = viewOf(replica.segment(), replica.endpoint(), replica.offset(), location.size());
            if (view != null) {
                return view;
            }
        }
        return null;
    }

    /**
     * The {@code size} bytes at {@code offset} of a segment as a view of its memory, or null when a memory copy does
     * not reach them.
     */
    private MemorySegment viewOf(String segment, String endpoint, long offset, long size) {
        try {
            return engine.view(segment, endpoint, offset, size);
        } catch (RuntimeException unmapped) {
            // As a failed copy would: e.g. a shared-memory file that no longer verifies or maps. The reader reads
            // the replicas itself and finds out why.
            return null;
        }
    }

    /** The read under {@code location}'s lease is over. */
    private void release(String key, ObjectLocation location) {
        ReadLease lease = ReadLease.of(key, location);
        if (lease != null) {
            master.releaseLeases(List.of(lease));
        }
    }

    private static boolean mappedByReader(ObjectLocation location, String readerHost) {
        for (ReplicaDescriptor replica : location.replicas()) {
            if (mappedBy(replica.endpoint(), readerHost)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a reader on {@code readerHost} (empty: none named) maps a segment at {@code endpoint} itself. */
    private static boolean mappedBy(String endpoint, String readerHost) {
        if (readerHost.isEmpty()) {
            return false;
        }
        PeerAddress peer = PeerAddress.parse(endpoint);
        return !peer.shmFile().isEmpty() && peer.hostId().equals(readerHost);
    }
}
