package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.MasterClient;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.TransferBatch;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferRequest;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.zip.CRC32C;

/**
 * Puts and gets object bytes: control through the master, bytes straight to and from the workers' segments
 * through the transfer engine. Thread-safe: it holds no per-call state.
 *
 * <p>Reads try replicas in the order of the engine's best path to them (same JVM, same host, network) and fall
 * back to the next replica when a read fails or ends after its lease. Writes go to every replica in parallel. An
 * object may be assembled from several buffers (e.g. a block's K and V), which land back to back.
 *
 * <p>With checksums on, each put records the CRC32C of its bytes with the object, and each read of an object that
 * has one verifies it: a replica whose bytes do not match counts as a failed read (CHECKSUM_MISMATCH), so the
 * next replica is tried.
 */
public final class StoreClient {
    /** Objects up to this size travel with their master call unless the client says otherwise (the master's default). */
    public static final long DEFAULT_INLINE_BYTES = 64 << 10;
    /** How long a location read from a same-host segment is reused without asking, unless the client says otherwise. */
    public static final Duration DEFAULT_CACHED_LOCATIONS = Duration.ofSeconds(1);

    /**
     * The master's refusals of a put in space that leave the space the writer's: answered before the space is used.
     * Any other failure (one in transit above all) may come after the object was made there, so the space is dropped.
     */
    private static final Set<ErrorCode> LEAVES_SPACE = EnumSet.of(
            ErrorCode.OBJECT_ALREADY_EXISTS,
            ErrorCode.REPLICA_IS_NOT_READY,
            ErrorCode.OBJECT_HAS_LEASE,
            ErrorCode.QUOTA_EXCEEDED,
            ErrorCode.INVALID_KEY,
            ErrorCode.INVALID_PARAMS);

    private final MasterClient master;
    private final TransferEngine engine;
    private final String clientId;
    private final InstantSource clock;
    private final boolean checksums;
    private final long inlineBytes;
    /** This host, when the engine maps same-host segments: the master then answers those as replicas. */
    private final String readerHost;
    /** Where objects this client read from same-host segments lie, for gets that need no master call. */
    private final LocationCache locations;
    /** Space granted ahead on same-host segments, for puts that carry no bytes on the socket; null: none mapped. */
    private final GrantedSpaces spaces;

    public StoreClient(MasterClient master, TransferEngine engine, String clientId, InstantSource clock) {
        this(master, engine, clientId, clock, false, DEFAULT_INLINE_BYTES, DEFAULT_CACHED_LOCATIONS);
    }

    /**
     * @param inlineBytes     the largest object whose bytes travel with its master call, when the master can move
     *                        them itself (one round trip instead of two or three); 0: never
     * @param cachedLocations how long a location read from a same-host segment is reused without asking the master
     *                        (while its version word says it is current); zero: never
     */
    public StoreClient(
            MasterClient master,
            TransferEngine engine,
            String clientId,
            InstantSource clock,
            boolean checksums,
            long inlineBytes,
            Duration cachedLocations) {
        this.master = master;
        this.engine = engine;
        this.clientId = clientId;
        this.clock = clock;
        this.checksums = checksums;
        this.inlineBytes = inlineBytes;
        this.readerHost = engine.sharedMemoryHost();
        this.locations = new LocationCache(engine, cachedLocations, checksums);
        this.spaces = readerHost.isEmpty() ? null : new GrantedSpaces(engine);
    }

    /**
     * Gives back the spaces the master granted this client ahead, as it closes: their memory is free for other puts at
     * once instead of when their lifetimes end. A master that cannot be reached frees them by their lifetimes.
     */
    void releaseSpaces() {
        if (spaces != null && spaces.everGranted()) {
            try {
                master.releaseSpaces(clientId);
            } catch (StoreException e) {
                // freed when their lifetimes end, as before
            }
        }
    }

    public void put(String key, MemorySegment value, ReplicaConfig config, boolean upsert) {
        put(key, List.of(value), config, upsert);
    }

    /**
     * Two-phase put of the concatenation of {@code parts}: reserve ranges, write every replica in parallel, then
     * make the object readable. A failed write revokes the put, so nothing half-written ever becomes visible. If
     * the reservation is gone by PutEnd (a failover to a master that never saw it: reservations are not in the
     * op-log), the put is made once more from the same bytes, so the caller sees a delay rather than an error. A
     * small object's bytes go with the put start: a master that can write them itself ends the put in that call. A
     * client that maps same-host segments copies the bytes into space granted ahead ({@link GrantedSpaces}) when it
     * holds some of this size, and the put is over in one call that carries no bytes.
     */
    public void put(String key, List<MemorySegment> parts, ReplicaConfig config, boolean upsert) {
        locations.forget(key);
        Long crc32c = checksum(parts);
        long size = totalSize(parts);
        long askedAt = System.nanoTime();
        StartedPut started = spaces == null ? null : startedInSpace(key, parts, size, config, upsert, crc32c);
        if (started == null) {
            MemorySegment value = sentWithStart(parts, size) ? joined(parts, size) : null;
            started = master.putStartNear(clientId, key, size, value, 0, readerHost, config, upsert, crc32c);
        }
        if (spaces != null) {
            spaces.keep(started.space(), askedAt); // for the next put of this size
        }
        if (started.committed()) {
            return;
        }
        writeReplicas(key, started.replicas(), parts);
        try {
            master.putEnd(clientId, key, crc32c);
        } catch (StoreException e) {
            if (e.code() != ErrorCode.OBJECT_NOT_FOUND) {
                throw e;
            }
            writeReplicas(key, master.putStart(clientId, key, size, config, upsert), parts);
            master.putEnd(clientId, key, crc32c);
        }
    }

    /**
     * Whether a put's bytes go with its put start: a small object's (up to the inline limit), and a larger one's in
     * one part when the master streams it into place ({@link MasterClient#streamedPutBytes}) and this client maps no
     * same-host segment (one that does copies the bytes into the segment itself, which beats any socket). A client
     * with inline values off sends neither.
     */
    private boolean sentWithStart(List<MemorySegment> parts, long size) {
        return size <= inlineBytes
                || inlineBytes > 0 && spaces == null && parts.size() == 1 && size <= master.streamedPutBytes();
    }

    /**
     * The put start of a client that maps same-host segments, into space granted ahead when it holds some of this size:
     * the bytes are copied there first, and the put is over in this call (or, the space no longer this client's, the
     * answer holds replicas to write). Null when it holds none.
     */
    private StartedPut startedInSpace(
            String key, List<MemorySegment> parts, long size, ReplicaConfig config, boolean upsert, Long crc32c) {
        GrantedSpaces.Space space = copiedIntoSpace(parts, size);
        if (space == null) {
            return null;
        }
        try {
            return master.putStartNear(clientId, key, size, null, space.id(), readerHost, config, upsert, crc32c);
        } catch (StoreException e) {
            if (LEAVES_SPACE.contains(e.code())) {
                spaces.giveBack(space);
            }
            throw e;
        }
    }

    /**
     * Per object, the space granted ahead its bytes were copied into (as {@link #startedInSpace} does for one put), or
     * null where this client held no space of its size or the master had withdrawn it.
     */
    private List<GrantedSpaces.Space> copiedIntoSpaces(List<List<MemorySegment>> values, List<Long> sizes) {
        List<GrantedSpaces.Space> copied = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            copied.add(spaces == null ? null : copiedIntoSpace(values.get(i), sizes.get(i)));
        }
        return copied;
    }

    /** A space of this client's that now holds {@code parts}, or null when it held none of their size. */
    private GrantedSpaces.Space copiedIntoSpace(List<MemorySegment> parts, long size) {
        GrantedSpaces.Space space = spaces.take(size);
        try {
            return space != null && space.write(parts) ? space : null; // not written: withdrawn, of no more use
        } catch (IllegalStateException unmapped) {
            return null; // the transport dropped its mapping of the segment: the space is of no more use
        }
    }

    /**
     * Per object, its bytes when they go with the put start, else null: small objects' (up to the inline limit) within
     * the call's budget of {@link MasterClient#BATCH_INLINE_BYTES}, when not copied into a space already; and larger
     * ones a single put would stream ({@link #sentWithStart}) when all of them fit in that budget too. A batch whose
     * large objects come to more is written by the transfer engine, whose parallel writes beat one socket there
     * (measured: batches of 8 values of 1 MiB, 3,314-3,520 keys/s written against 2,625-2,916 streamed).
     */
    private List<MemorySegment> sentInline(
            List<List<MemorySegment>> values, List<Long> sizes, List<GrantedSpaces.Space> inSpaces) {
        boolean[] sendable = new boolean[values.size()]; // as a single put's bytes would be
        long large = 0;
        for (int i = 0; i < values.size(); i++) {
            long size = sizes.get(i);
            sendable[i] = inSpaces.get(i) == null && sentWithStart(values.get(i), size);
            large += sendable[i] && size > inlineBytes ? size : 0;
        }
        boolean streamsLarge = large <= MasterClient.BATCH_INLINE_BYTES;
        List<MemorySegment> sent = new ArrayList<>(values.size());
        long budget = MasterClient.BATCH_INLINE_BYTES;
        for (int i = 0; i < values.size(); i++) {
            long size = sizes.get(i);
            boolean inline = sendable[i] && size <= budget && (size <= inlineBytes || streamsLarge);
            budget -= inline ? size : 0;
            sent.add(inline ? joined(values.get(i), size) : null);
        }
        return sent;
    }

    /** The parts back to back in one segment: the part itself when there is one. */
    private static MemorySegment joined(List<MemorySegment> parts, long size) {
        if (parts.size() == 1) {
            return parts.getFirst();
        }
        MemorySegment whole = MemorySegment.ofArray(new byte[(int) size]);
        copyBackToBack(parts, whole);
        return whole;
    }

    /** Copies the parts back to back into {@code target}, from its start. */
    static void copyBackToBack(List<MemorySegment> parts, MemorySegment target) {
        long at = 0;
        for (MemorySegment part : parts) {
            MemorySegment.copy(part, 0, target, at, part.byteSize());
            at += part.byteSize();
        }
    }

    private void writeReplicas(String key, List<ReplicaDescriptor> replicas, List<MemorySegment> parts) {
        try {
            engine.execute(writes(replicas, parts));
        } catch (RuntimeException writeFailure) {
            try {
                master.putRevoke(clientId, key);
            } catch (RuntimeException revokeFailure) {
                writeFailure.addSuppressed(revokeFailure);
            }
            throw writeFailure;
        }
    }

    /**
     * Puts many objects with one master call per phase and one transfer batch; small objects' bytes go with the put
     * starts (up to {@link MasterClient#BATCH_INLINE_BYTES} of them per call), and those the master writes itself
     * are over in that one call. One result per key, in order; a key that fails (master refusal, failed write) never
     * fails the others.
     */
    public List<KeyResult<Void>> batchPut(
            List<String> keys, List<List<MemorySegment>> values, ReplicaConfig config, boolean upsert) {
        requireSameLength(keys, values.size());
        keys.forEach(locations::forget);
        List<Long> sizes = values.stream().map(StoreClient::totalSize).toList();
        List<Long> crc32cs = values.stream().map(this::checksum).toList();
        long askedAt = System.nanoTime();
        List<GrantedSpaces.Space> inSpaces = copiedIntoSpaces(values, sizes);
        List<KeyResult<StartedPut>> started;
        try {
            started = master.batchPutStartNear(
                    clientId,
                    keys,
                    sizes,
                    sentInline(values, sizes, inSpaces),
                    inSpaces.stream()
                            .map(space -> space == null ? 0L : space.id())
                            .toList(),
                    readerHost,
                    config,
                    upsert,
                    crc32cs);
        } catch (StoreException e) {
            if (LEAVES_SPACE.contains(e.code())) { // refused whole, before anything was made
                inSpaces.stream().filter(Objects::nonNull).forEach(spaces::giveBack);
            }
            throw e;
        }
        for (int i = 0; i < keys.size(); i++) {
            KeyResult<StartedPut> key = started.get(i);
            if (key.ok() && spaces != null) {
                spaces.keep(key.value().space(), askedAt); // for a later put of this size
            } else if (!key.ok() && inSpaces.get(i) != null && LEAVES_SPACE.contains(key.code())) {
                spaces.giveBack(inSpaces.get(i)); // the master refused this key and left the space this client's
            }
        }
        List<TransferRequest> requests = new ArrayList<>();
        int[] firstRequest = new int[keys.size() + 1];
        for (int i = 0; i < keys.size(); i++) {
            firstRequest[i] = requests.size();
            if (started.get(i).ok()) {
                requests.addAll(writes(started.get(i).value().replicas(), values.get(i)));
            }
        }
        firstRequest[keys.size()] = requests.size();
        TransferBatch batch =
                requests.isEmpty() ? null : engine.submit(requests).future().join();
        StoreException[] errors = new StoreException[keys.size()];
        List<String> written = new ArrayList<>();
        List<Long> writtenChecksums = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            errors[i] = started.get(i).error();
            for (int r = firstRequest[i]; r < firstRequest[i + 1] && errors[i] == null; r++) {
                errors[i] = TransferEngine.failureOf(batch, r);
            }
            boolean committed = started.get(i).ok() && started.get(i).value().committed();
            if (started.get(i).ok() && errors[i] == null && !committed) {
                written.add(keys.get(i));
                writtenChecksums.add(crc32cs.get(i));
            } else if (started.get(i).ok() && !committed) {
                failed.add(keys.get(i));
            }
        }
        if (!failed.isEmpty()) {
            master.batchPutRevoke(clientId, failed);
        }
        List<KeyResult<Void>> ended = written.isEmpty()
                ? List.of()
                : master.batchPutEnd(clientId, written, checksums ? writtenChecksums : null);
        List<KeyResult<Void>> results = new ArrayList<>(keys.size());
        for (int i = 0, e = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            if (errors[i] != null || started.get(i).value().committed()) {
                results.add(new KeyResult<>(key, null, errors[i]));
                continue;
            }
            KeyResult<Void> end = ended.get(e++);
            List<MemorySegment> value = values.get(i);
            results.add(
                    end.ok() || end.code() != ErrorCode.OBJECT_NOT_FOUND
                            ? end
                            : KeyResult.of(
                                    key,
                                    () -> { // reservation lost in a failover: put this one again
                                        put(key, value, config, upsert);
                                        return null;
                                    }));
        }
        return results;
    }

    /** The object's bytes. */
    public byte[] get(String key) {
        long cached = locations.size(key);
        if (cached >= 0 && cached <= Integer.MAX_VALUE - 8) {
            byte[] value = new byte[(int) cached];
            if (locations.read(key, MemorySegment.ofArray(value)) == cached) {
                return value;
            }
        }
        ObjectLocation location = master.getReplicaList(key, inlineBytes, readerHost);
        try {
            byte[] value = new byte[arraySize(key, location)];
            readInto(key, location, MemorySegment.ofArray(value), 0, null);
            locations.remember(key, location);
            return value;
        } finally {
            release(key, location);
        }
    }

    /** Reads the object into {@code target} (at least the object's size); returns the object's size. */
    public long getInto(String key, MemorySegment target) {
        long cached = locations.read(key, target);
        if (cached >= 0) {
            return cached;
        }
        ObjectLocation location =
                master.getReplicaListInto(key, Math.min(inlineBytes, target.byteSize()), readerHost, target);
        try {
            requireRoom(key, location, target);
            readInto(key, location, target.asSlice(0, location.size()), 0, null);
            locations.remember(key, location);
            return location.size();
        } finally {
            release(key, location);
        }
    }

    /**
     * Reads many objects, each into its own buffer, with one master call and one transfer batch for the first
     * choice of replica; a key whose read fails falls back to its other replicas. One result per key (the
     * object's size), in order.
     */
    public List<KeyResult<Long>> batchGetInto(List<String> keys, List<MemorySegment> targets) {
        requireSameLength(keys, targets.size());
        return batchRead(keys, (i, size) -> targets.get(i));
    }

    /** {@link #batchGetInto} into fresh arrays: one result per key, its bytes or its error. */
    public List<KeyResult<byte[]>> batchGet(List<String> keys) {
        byte[][] values = new byte[keys.size()][];
        List<KeyResult<Long>> read = batchRead(keys, (i, size) -> {
            values[i] = new byte[arraySize(keys.get(i), size)];
            return MemorySegment.ofArray(values[i]);
        });
        List<KeyResult<byte[]>> results = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            results.add(new KeyResult<>(
                    keys.get(i),
                    read.get(i).ok() ? values[i] : null,
                    read.get(i).error()));
        }
        return results;
    }

    /**
     * Reads each key into {@code targetFor(index, size)}: keys whose cached location is current by a memory copy,
     * the others with one master call and one transfer batch.
     */
    private List<KeyResult<Long>> batchRead(List<String> keys, BiFunction<Integer, Long, MemorySegment> targetFor) {
        List<KeyResult<Long>> results = new ArrayList<>(Collections.nCopies(keys.size(), null));
        List<Integer> asked = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            long cached = locations.size(key);
            int index = i;
            KeyResult<Long> read =
                    cached < 0 ? null : KeyResult.of(key, () -> locations.read(key, targetFor.apply(index, cached)));
            if (read != null && read.ok() && read.value() == cached) {
                results.set(i, read);
            } else {
                asked.add(i);
            }
        }
        if (!asked.isEmpty()) {
            List<KeyResult<Long>> answered = batchReadAsking(
                    asked.stream().map(keys::get).toList(), (j, size) -> targetFor.apply(asked.get(j), size));
            for (int j = 0; j < asked.size(); j++) {
                results.set(asked.get(j), answered.get(j));
            }
        }
        return results;
    }

    private List<KeyResult<Long>> batchReadAsking(
            List<String> keys, BiFunction<Integer, Long, MemorySegment> targetFor) {
        // Each key's target is asked for once: bytes answered inline are copied into it as the answer is read.
        MemorySegment[] chosen = new MemorySegment[keys.size()];
        BiFunction<Integer, Long, MemorySegment> once =
                (i, size) -> chosen[i] != null ? chosen[i] : (chosen[i] = targetFor.apply(i, size));
        List<KeyResult<ObjectLocation>> located = master.batchGetReplicaListInto(keys, inlineBytes, readerHost, once);
        List<KeyResult<Long>> results = new ArrayList<>(keys.size());
        List<TransferRequest> firstReads = new ArrayList<>();
        List<Integer> readKeys = new ArrayList<>();
        List<MemorySegment> targets = new ArrayList<>(keys.size());
        List<ObjectLocation> ordered = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            KeyResult<ObjectLocation> where = located.get(i);
            ObjectLocation location = where.ok() ? inPreferenceOrder(where.value()) : null;
            ordered.add(location);
            targets.add(null);
            StoreException refused = where.error();
            if (location != null) {
                try {
                    MemorySegment target = once.apply(i, location.size());
                    requireRoom(keys.get(i), location, target);
                    targets.set(i, target.asSlice(0, location.size()));
                    if (location.value() != null) {
                        readInline(keys.get(i), location, targets.get(i));
                        results.add(new KeyResult<>(keys.get(i), location.size(), null));
                        continue;
                    }
                    firstReads.add(read(location.replicas().getFirst(), target, location.size()));
                    readKeys.add(i);
                } catch (StoreException e) {
                    refused = e;
                }
            }
            results.add(refused == null ? null : new KeyResult<>(keys.get(i), null, refused));
        }
        TransferBatch batch = engine.submit(firstReads).future().join();
        for (int r = 0; r < firstReads.size(); r++) {
            int i = readKeys.get(r);
            String key = keys.get(i);
            ObjectLocation location = ordered.get(i);
            MemorySegment target = targets.get(i);
            StoreException failure = TransferEngine.failureOf(batch, r);
            if (failure == null) {
                failure = checkRead(key, location.replicas().getFirst(), location, target);
            }
            if (failure == null) {
                results.set(i, new KeyResult<>(key, location.size(), null));
                locations.remember(key, location);
            } else {
                StoreException first = failure;
                results.set(i, KeyResult.of(key, () -> {
                    readInto(key, location, target, 1, first);
                    return location.size();
                }));
            }
        }
        List<ReadLease> over = new ArrayList<>(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            ReadLease lease = ordered.get(i) == null ? null : ReadLease.of(keys.get(i), ordered.get(i));
            if (lease != null) {
                over.add(lease);
            }
        }
        master.releaseLeases(over);
        return results;
    }

    /** The object's size (what HEAD answers); nothing is read, so the lease goes back at once. */
    public long size(String key) {
        ObjectLocation location = master.getReplicaList(key);
        release(key, location);
        return location.size();
    }

    /** The read under {@code location}'s lease is over. */
    private void release(String key, ObjectLocation location) {
        ReadLease lease = ReadLease.of(key, location);
        if (lease != null) {
            master.releaseLeases(List.of(lease));
        }
    }

    public boolean exists(String key) {
        return master.exist(key);
    }

    public List<KeyResult<Boolean>> batchExists(List<String> keys) {
        return master.batchExist(keys);
    }

    public void remove(String key, boolean force) {
        locations.forget(key);
        master.remove(key, force);
    }

    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        keys.forEach(locations::forget);
        return master.batchRemove(keys, force);
    }

    public long removeAll(boolean force) {
        return master.removeAll(force);
    }

    /**
     * Reads from the replicas in preference order, starting at {@code firstReplica}, until one read's bytes can be
     * trusted (see {@link #checkRead}); if none can, throws the last reason ({@code earlier}: why the replicas
     * before {@code firstReplica} failed). A replica that stalled may use up the whole lease (the transfer timeout
     * is as long as a lease): the next replica is then read under a fresh lease, never under one already over.
     */
    private void readInto(
            String key, ObjectLocation location, MemorySegment target, int firstReplica, StoreException earlier) {
        if (location.value() != null) {
            readInline(key, location, target);
            return;
        }
        List<ReadLease> renewed = new ArrayList<>(0);
        try {
            readReplicas(key, location, target, firstReplica, earlier, renewed);
        } finally {
            master.releaseLeases(renewed);
        }
    }

    /** {@link #readInto}, adding the leases of locations it renews to {@code renewed}. */
    private void readReplicas(
            String key,
            ObjectLocation location,
            MemorySegment target,
            int firstReplica,
            StoreException earlier,
            List<ReadLease> renewed) {
        ObjectLocation current = firstReplica == 0 ? inPreferenceOrder(location) : location;
        Set<String> tried = new HashSet<>();
        current.replicas().stream().limit(firstReplica).forEach(r -> tried.add(r.segment()));
        StoreException last = earlier;
        int renewals = 0;
        for (ReplicaDescriptor next = untried(current, tried); next != null; next = untried(current, tried)) {
            if (last != null && clock.millis() >= current.leaseDeadlineMillis() && renewals < tried.size()) {
                renewals++;
                current = inPreferenceOrder(master.getReplicaList(key));
                ReadLease lease = ReadLease.of(key, current);
                if (lease != null) {
                    renewed.add(lease);
                }
                if (current.size() != location.size()) {
                    break; // replaced meanwhile: what the caller sized its buffer for is gone
                }
                continue;
            }
            tried.add(next.segment());
            try {
                engine.execute(List.of(read(next, target, current.size())));
                StoreException wrong = checkRead(key, next, current, target);
                if (wrong == null) {
                    return;
                }
                last = wrong;
            } catch (StoreException e) {
                last = e;
            }
        }
        throw last != null
                ? last
                : new StoreException(ErrorCode.TRANSFER_FAIL, "every replica of '" + key + "' failed to read");
    }

    /**
     * Takes the bytes the master answered with the location; bytes that fail their checksum are read again from
     * the replicas, as a failed replica read would be.
     */
    private void readInline(String key, ObjectLocation location, MemorySegment target) {
        if (!location.value().equals(target)) { // getReplicaListInto may have put them there already
            MemorySegment.copy(location.value(), 0, target, 0, location.size());
        }
        StoreException wrong = checkSum(key, "the master's answer", location, target);
        if (wrong == null) {
            return;
        }
        ObjectLocation replicas = master.getReplicaList(key);
        try {
            if (replicas.size() != location.size()) {
                throw wrong; // replaced meanwhile: what the caller sized its buffer for is gone
            }
            readInto(key, replicas, target, 0, wrong);
        } finally {
            release(key, replicas);
        }
    }

    private static ReplicaDescriptor untried(ObjectLocation location, Set<String> tried) {
        return location.replicas().stream()
                .filter(r -> !tried.contains(r.segment()))
                .findFirst()
                .orElse(null);
    }

    /** The CRC32C of the parts back to back, when checksums are on; else null. */
    private Long checksum(List<MemorySegment> parts) {
        if (!checksums) {
            return null;
        }
        CRC32C crc = new CRC32C();
        for (MemorySegment part : parts) {
            crc.update(part.asByteBuffer());
        }
        return crc.getValue();
    }

    /**
     * Why bytes just read from {@code replica} cannot be trusted, or null: the read ended after the lease (it may
     * have raced a removal), or they do not match the CRC32C recorded at put (when checksums are on).
     */
    private StoreException checkRead(
            String key, ReplicaDescriptor replica, ObjectLocation location, MemorySegment read) {
        if (clock.millis() > location.leaseDeadlineMillis()) {
            return new StoreException(
                    ErrorCode.LEASE_EXPIRED, "read of '" + key + "' finished after its lease; the bytes may be stale");
        }
        return checkSum(key, replica.segment(), location, read);
    }

    /** Why bytes read from {@code source} do not match the CRC32C recorded at put (checksums on), or null. */
    private StoreException checkSum(String key, String source, ObjectLocation location, MemorySegment read) {
        if (checksums && location.crc32c() != null) {
            CRC32C crc = new CRC32C();
            crc.update(read.asSlice(0, location.size()).asByteBuffer());
            if (crc.getValue() != location.crc32c()) {
                return new StoreException(
                        ErrorCode.CHECKSUM_MISMATCH,
                        "the bytes of '" + key + "' read from " + source + " do not match the CRC32C recorded at put");
            }
        }
        return null;
    }

    private ObjectLocation inPreferenceOrder(ObjectLocation location) {
        if (location.replicas().size() < 2) {
            return location;
        }
        List<ReplicaDescriptor> sorted = new ArrayList<>(location.replicas());
        sorted.sort(Comparator.comparingInt(r -> engine.preference(r.segment(), r.endpoint())));
        return location.withReplicas(sorted);
    }

    private static TransferRequest read(ReplicaDescriptor replica, MemorySegment target, long size) {
        return replica.read(target.asSlice(0, size));
    }

    /** Every replica gets every part, back to back from the start of its range. */
    private static List<TransferRequest> writes(List<ReplicaDescriptor> replicas, List<MemorySegment> parts) {
        List<TransferRequest> requests = new ArrayList<>(replicas.size() * parts.size());
        for (ReplicaDescriptor replica : replicas) {
            long at = 0;
            for (MemorySegment part : parts) {
                if (part.byteSize() > 0) {
                    requests.add(replica.write(part, at));
                }
                at += part.byteSize();
            }
        }
        return requests;
    }

    private static long totalSize(List<MemorySegment> parts) {
        long total = 0;
        for (MemorySegment part : parts) {
            total += part.byteSize();
        }
        return total;
    }

    private static int arraySize(String key, ObjectLocation location) {
        return arraySize(key, location.size());
    }

    private static int arraySize(String key, long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "object '" + key + "' is " + size + " bytes; read it into a MemorySegment");
        }
        return (int) size;
    }

    private static void requireRoom(String key, ObjectLocation location, MemorySegment target) {
        if (target.byteSize() < location.size()) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "buffer of " + target.byteSize() + " bytes is smaller than object '" + key + "' (" + location.size()
                            + ")");
        }
    }

    private static void requireSameLength(List<String> keys, int values) {
        if (keys.size() != values) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, keys.size() + " keys but " + values + " buffers");
        }
    }
}
