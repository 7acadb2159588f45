package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.alloc.OffsetAllocator;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.EvictionCandidate;
import dev.crescent.master.eviction.EvictionPolicy;
import dev.crescent.master.placement.PlacementStrategy;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.ticket.TicketSigner;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * The master's object semantics: two-phase put with owner check, first writer wins, upsert, replica lists with
 * read leases, pins, remove, batches, segment mounts with client liveness. It decides where bytes go and never
 * touches them.
 *
 * <p>Memory of an object that may still be read (an active lease) is never handed out again before the lease
 * ends: such ranges wait in {@link #deferred} until {@link #sweep} finds the lease over.
 */
public final class Master {
    private static final long DURABLE_TIMEOUT_SECONDS = 5;
    private final ObjectIndex index = new ObjectIndex();
    private final SegmentRegistry segments;
    private final ClientRegistry clients = new ClientRegistry();
    /** Whether this master served at the last expiry check (see {@link #expireSilentClients(boolean)}). */
    private volatile boolean servedAtLastExpiry = true;
    private final PlacementStrategy placement;
    private final MasterSettings settings;
    private final InstantSource clock;
    /** Signs a transfer ticket into every replica descriptor handed out; null when access control is off. */
    private final TicketSigner tickets;
    /** Keys with an unfinished PutStart, and when it started; sweep reclaims the abandoned ones. */
    private final ConcurrentHashMap<String, Long> processing = new ConcurrentHashMap<>();
    private final PriorityBlockingQueue<DeferredRelease> deferred = new PriorityBlockingQueue<>();
    private final LongAdder completeObjects = new LongAdder();
    private final LongAdder evictedObjects = new LongAdder();
    private final LongAdder leaseBlocks = new LongAdder();
    private final MasterCounters counters = new MasterCounters();
    private final EvictionPolicy eviction;
    /** Where durable changes go (the op-log when this master leads a replicated cluster). */
    private volatile IndexJournal journal = IndexJournal.NONE;

    public Master(MasterSettings settings, PlacementStrategy placement, EvictionPolicy eviction, InstantSource clock) {
        this(settings, placement, eviction, clock, null);
    }

    public Master(MasterSettings settings, PlacementStrategy placement, EvictionPolicy eviction, InstantSource clock,
                  TicketSigner tickets) {
        this.settings = settings;
        this.placement = placement;
        this.eviction = eviction;
        this.clock = clock;
        this.tickets = tickets;
        this.segments = new SegmentRegistry(settings.allocationAlignment());
    }

    public SegmentRegistry segments() {
        return segments;
    }

    public MasterCounters counters() {
        return counters;
    }

    /** From now on every durable change is recorded in {@code journal} (this master has become the leader). */
    public void attachJournal(IndexJournal journal) {
        this.journal = journal;
    }

    /** Config names of the placement strategy and eviction policy in use. */
    public String placementStrategy() {
        return placement.name();
    }

    public String evictionPolicy() {
        return eviction.name();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Segments and client liveness

    /** Mounts a segment (idempotent for the same owner) and registers its owner as a live client. */
    public void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        counters.count(MasterOp.MOUNT_SEGMENT, () -> mount(clientId, new SegmentSpec(segment, capacity, endpoint)));
    }

    /** Mounts again every segment of a client the master told NEED_REMOUNT (idempotent). */
    public void remountSegments(String clientId, List<SegmentSpec> owned) {
        counters.count(MasterOp.REMOUNT_SEGMENTS, () -> owned.forEach(spec -> mount(clientId, spec)));
    }

    private void mount(String clientId, SegmentSpec spec) {
        requireClient(clientId);
        MountedSegment segment = segments.mount(clientId, spec.name(), spec.capacity(), spec.endpoint());
        journal.record(IndexOp.mount(segment.name(), clientId, segment.capacity(), segment.endpoint()));
        clients.register(clientId, clock.millis());
    }

    /**
     * Unmounts a segment (a segment that is not mounted is left alone); objects whose only replicas were on it are
     * dropped, others stay readable.
     */
    public void unmountSegment(String clientId, String segment) {
        counters.count(MasterOp.UNMOUNT_SEGMENT, () -> {
            unmountAndDrop(clientId, segment);
            if (segments.ownedBy(clientId).isEmpty()) {
                clients.forget(clientId); // nothing of it left to watch over
            }
        });
    }

    /** A client's sign of life. An unknown client (expired, or met by a restarted master) must remount. */
    public HeartbeatReply heartbeat(String clientId) {
        return counters.count(MasterOp.HEARTBEAT, () -> {
            requireClient(clientId);
            return clients.refresh(clientId, clock.millis()) ? HeartbeatReply.OK : HeartbeatReply.NEED_REMOUNT;
        });
    }

    /**
     * Declares clients silent for {@code client-ttl} dead: their segments are unmounted and the replicas on them
     * dropped (objects with a replica elsewhere stay readable).
     *
     * @return the clients declared dead
     */
    public List<String> expireSilentClients() {
        return expireSilentClients(true);
    }

    /**
     * Declares clients silent for client-ttl dead, only while this master serves. A master that does not serve (a
     * standby, or a leader suspended while the metadata store is unreachable) refuses heartbeats, so silence then
     * says nothing about the clients; when it serves again each client gets a full client-ttl from that moment.
     * (Without this, an etcd outage longer than client-ttl made a recovering leader drop every worker's segment,
     * and with them objects it had kept through the outage.)
     *
     * @param serving whether this master serves now
     */
    public List<String> expireSilentClients(boolean serving) {
        if (!serving) {
            servedAtLastExpiry = false;
            return List.of();
        }
        if (!servedAtLastExpiry) {
            clients.touchAll(clock.millis());
            servedAtLastExpiry = true;
        }
        List<String> expired = clients.takeExpired(clock.millis(), settings.clientTtl().toMillis());
        for (String clientId : expired) {
            for (MountedSegment segment : segments.ownedBy(clientId)) {
                unmountAndDrop(clientId, segment.name());
            }
        }
        return expired;
    }

    /** Live clients that mounted memory, with their segments and when each was last heard from. */
    public List<ClientView> clients() {
        long now = clock.millis();
        return clients.view().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> new ClientView(e.getKey(), e.getValue(), now - e.getValue(),
                        segments.ownedBy(e.getKey()).stream().map(MountedSegment::name).sorted().toList()))
                .toList();
    }

    /** Mounted segments with their usage and fragmentation, by name. */
    public List<SegmentView> segmentViews() {
        return segments.view().stream().map(SegmentView::of).sorted(Comparator.comparing(SegmentView::name))
                .toList();
    }

    /** Unmounts (if mounted), records it, and drops the replicas that lived there. */
    private void unmountAndDrop(String clientId, String segment) {
        MountedSegment gone = segments.unmount(clientId, segment);
        if (gone != null) {
            journal.record(IndexOp.unmount(gone.name()));
            dropReplicasOn(gone);
        }
    }

    private void dropReplicasOn(MountedSegment gone) {
        List<String> affected = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.replicas.stream().anyMatch(r -> r.segment() == gone)) {
                affected.add(meta.key);
            }
        });
        for (String key : affected) {
            index.update(key, (k, meta) -> {
                if (meta == null) {
                    return null;
                }
                meta.replicas = meta.replicas.stream().filter(r -> r.segment() != gone).toList();
                if (!meta.replicas.isEmpty()) {
                    return meta;
                }
                forget(meta);
                return null;
            });
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Puts

    /**
     * Reserves one range per replica and records the object as PROCESSING.
     *
     * @param upsert overwrite a complete object instead of answering OBJECT_ALREADY_EXISTS
     * @return one descriptor per placed replica (fewer than asked when fewer segments have room), each with a
     * WRITE ticket when access control is on
     */
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, ReplicaConfig config,
                                            boolean upsert) {
        return counters.count(MasterOp.PUT_START, () -> startWithEviction(clientId, key, size, config, upsert));
    }

    /** {@link #putStart} with {@code replicaNum} replicas and no pins or preferences. */
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, int replicaNum, boolean upsert) {
        return putStart(clientId, key, size, ReplicaConfig.replicas(replicaNum), upsert);
    }

    private List<ReplicaDescriptor> startWithEviction(String clientId, String key, long size, ReplicaConfig config,
                                                      boolean upsert) {
        try {
            return startPut(clientId, key, size, config, upsert);
        } catch (StoreException e) {
            if (e.code() != ErrorCode.NO_AVAILABLE_HANDLE || size > largestSegmentBytes()) {
                // Evicting cannot make room for an object larger than every segment: keep what is stored.
                throw e;
            }
            // No room: evict (outside any per-key section) and try once more before answering back-pressure.
            evict(Math.max(size, (long) (segments.capacityBytes() * settings.evictionRatio())));
            return startPut(clientId, key, size, config, upsert);
        }
    }

    private List<ReplicaDescriptor> startPut(String clientId, String key, long size, ReplicaConfig config,
                                             boolean upsert) {
        ObjectKeys.validate(key);
        requireClient(clientId);
        if (!journal.accepting()) {
            throw new StoreException(ErrorCode.METADATA_ERROR,
                    "the op-log is unreachable: puts are refused until it is back (reads go on)");
        }
        if (size <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "object size must be positive, was " + size);
        }
        ReplicaConfig wanted = config == null ? ReplicaConfig.DEFAULT : config;
        long now = clock.millis();
        ObjectMeta started = index.update(key, (k, existing) -> {
            ObjectMeta fresh;
            if (existing == null) {
                fresh = new ObjectMeta(k, size, clientId, now, allocateReplicas(size, wanted, clientId));
            } else if (existing.state == ObjectState.PROCESSING) {
                if (now - existing.putStartMillis < settings.putStartDiscardTimeout().toMillis()) {
                    throw new StoreException(ErrorCode.OBJECT_ALREADY_EXISTS, "a put of '" + key + "' is in progress");
                }
                // The earlier writer has been silent past the discard timeout: pre-empt it. Allocate first, so
                // that a failed allocation leaves its entry as it was.
                fresh = new ObjectMeta(k, size, clientId, now, allocateReplicas(size, wanted, clientId));
                forget(existing);
            } else if (!upsert) {
                throw new StoreException(ErrorCode.OBJECT_ALREADY_EXISTS, "object '" + key + "' exists");
            } else {
                fresh = overwrite(existing, clientId, size, wanted, now);
            }
            fresh.hardPin = wanted.hardPin();
            fresh.softPin = wanted.softPin();
            return fresh;
        });
        processing.put(key, started.putStartMillis);
        // A writer silent past the discard timeout may be pre-empted; its ticket must not outlive that.
        return describe(started.replicas, TransferOp.WRITE, now + settings.putStartDiscardTimeout().toMillis());
    }

    /** Makes the object readable. Only the client that started the put may end it. */
    public void putEnd(String clientId, String key) {
        putEnd(clientId, key, null);
    }

    /** @param crc32c the CRC32C of the bytes written, kept with the object for readers to verify; or null */
    public void putEnd(String clientId, String key, Long crc32c) {
        counters.count(MasterOp.PUT_END, () -> endPut(clientId, key, crc32c));
    }

    /**
     * {@link #putEnd} without holding a thread while the op-log makes the put durable: the future completes when
     * it is (or fails with METADATA_ERROR after the durability timeout).
     */
    public CompletableFuture<Void> putEndAsync(String clientId, String key, Long crc32c) {
        CompletableFuture<Void> durable = counters.count(MasterOp.PUT_END, () -> commitPut(clientId, key, crc32c));
        return durable == null ? CompletableFuture.completedFuture(null) : durableOrError(durable, key);
    }

    /** The COMMIT's durability, failing with METADATA_ERROR if the op-log does not confirm it in time. */
    private static CompletableFuture<Void> durableOrError(CompletableFuture<Void> durable, String key) {
        return durable.orTimeout(DURABLE_TIMEOUT_SECONDS, TimeUnit.SECONDS).handle((ok, failure) -> {
            if (failure != null) {
                throw notDurable(key, failure instanceof CompletionException c && c.getCause() != null
                        ? c.getCause() : failure);
            }
            return null;
        });
    }

    private Void endPut(String clientId, String key, Long crc32c) {
        CompletableFuture<Void> durable = commitPut(clientId, key, crc32c);
        if (durable != null) {
            awaitDurable(durable, key);
        }
        return null;
    }

    /** Completes the put in memory and records it; @return the COMMIT's durability, or null if already complete */
    private CompletableFuture<Void> commitPut(String clientId, String key, Long crc32c) {
        ObjectKeys.validate(key);
        @SuppressWarnings("unchecked")
        CompletableFuture<Void>[] durable = new CompletableFuture[1];
        index.update(key, (k, meta) -> {
            requireOwnedPut(meta, clientId, key);
            if (meta.state == ObjectState.PROCESSING) {
                meta.state = ObjectState.COMPLETE;
                meta.crc32c = crc32c;
                meta.completedMillis = clock.millis();
                meta.lastAccessMillis = meta.completedMillis;
                meta.softPinDeadlineMillis = meta.completedMillis + settings.softPinTtl().toMillis();
                completeObjects.increment();
                processing.remove(key, meta.putStartMillis);
                durable[0] = journal.record(IndexOp.commit(key, meta.size, meta.ownerClientId,
                        meta.replicas.stream().map(r -> new IndexOp.Range(r.segment().name(), r.range().offset(),
                                r.range().length())).toList(), meta.hardPin, meta.softPin, meta.completedMillis,
                        meta.crc32c));
            }
            return meta;
        });
        return durable[0];
    }

    /** A PutEnd is acknowledged only once its COMMIT is in the op-log (waited for outside the key's section). */
    private static void awaitDurable(CompletableFuture<Void> durable, String key) {
        try {
            durableOrError(durable, key).join();
        } catch (CompletionException e) {
            throw (StoreException) e.getCause();
        }
    }

    private static StoreException notDurable(String key, Throwable why) {
        String reason = why instanceof TimeoutException ? "no answer from the op-log in " + DURABLE_TIMEOUT_SECONDS
                + " s" : String.valueOf(why.getMessage());
        return new StoreException(ErrorCode.METADATA_ERROR, "put of '" + key + "' is not durable yet (" + reason
                + "); it becomes durable once the op-log is reachable");
    }

    /** Abandons an unfinished put and frees its ranges. Only the client that started the put may revoke it. */
    public void putRevoke(String clientId, String key) {
        counters.count(MasterOp.PUT_REVOKE, () -> revokePut(clientId, key));
    }

    private Void revokePut(String clientId, String key) {
        ObjectKeys.validate(key);
        index.update(key, (k, meta) -> {
            requireOwnedPut(meta, clientId, key);
            if (meta.state == ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "put of '" + key + "' already ended");
            }
            forget(meta);
            return null;
        });
        return null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reads

    /** The readable replicas of a complete object, with a fresh read lease (and READ tickets until it ends). */
    public ObjectLocation getReplicaList(String key) {
        return counters.count(MasterOp.GET_REPLICA_LIST, () -> locate(key));
    }

    private ObjectLocation locate(String key) {
        ObjectKeys.validate(key);
        long now = clock.millis();
        long deadline = now + settings.leaseTtl().toMillis();
        ObjectLocation[] answer = new ObjectLocation[1];
        index.update(key, (k, meta) -> {
            if (meta == null) {
                throw notFound(key);
            }
            if (meta.state != ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.REPLICA_IS_NOT_READY, "put of '" + key + "' has not ended");
            }
            List<Replica> live = meta.liveReplicas();
            if (live.isEmpty()) {
                throw notFound(key);
            }
            meta.leaseDeadlineMillis = Math.max(meta.leaseDeadlineMillis, deadline);
            touch(meta, now);
            answer[0] = new ObjectLocation(meta.size, describe(live, TransferOp.READ, meta.leaseDeadlineMillis),
                    meta.leaseDeadlineMillis, meta.crc32c);
            return meta;
        });
        return answer[0];
    }

    /** Whether a complete object exists; an existing object also gets a read lease. Not-found is just false. */
    public boolean exist(String key) {
        return counters.count(MasterOp.EXIST, () -> exists(key));
    }

    private boolean exists(String key) {
        ObjectKeys.validate(key);
        long now = clock.millis();
        long deadline = now + settings.leaseTtl().toMillis();
        boolean[] found = new boolean[1];
        index.update(key, (k, meta) -> {
            if (meta != null && meta.state == ObjectState.COMPLETE && meta.hasLiveReplica()) {
                meta.leaseDeadlineMillis = Math.max(meta.leaseDeadlineMillis, deadline);
                touch(meta, now);
                found[0] = true;
            }
            return meta;
        });
        return found[0];
    }

    // ---------------------------------------------------------------------------------------------------------
    // Removal

    /**
     * Removes a complete object. A leased object is refused with OBJECT_HAS_LEASE unless {@code force}; a forced
     * remove hides the key at once but keeps its memory until the lease ends, so readers in flight stay correct.
     */
    public void remove(String key, boolean force) {
        counters.count(MasterOp.REMOVE, () -> removeOne(key, force));
    }

    private Void removeOne(String key, boolean force) {
        ObjectKeys.validate(key);
        long now = clock.millis();
        index.update(key, (k, meta) -> {
            if (meta == null) {
                throw notFound(key);
            }
            if (meta.state != ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.REPLICA_IS_NOT_READY,
                        "put of '" + key + "' has not ended; revoke it instead");
            }
            if (meta.isLeased(now) && !force) {
                leaseBlocks.increment();
                throw new StoreException(ErrorCode.OBJECT_HAS_LEASE,
                        "object '" + key + "' is leased to readers; remove with force");
            }
            forget(meta);
            return null;
        });
        return null;
    }

    /**
     * Removes every complete object (pinned ones too: this is an explicit remove); leased objects are kept unless
     * {@code force}. Unfinished puts are left to their writers.
     *
     * @return how many objects were removed
     */
    public long removeAll(boolean force) {
        return counters.count(MasterOp.REMOVE_ALL, () -> {
            List<String> keys = new ArrayList<>();
            index.forEach(meta -> keys.add(meta.key));
            long removed = 0;
            for (String key : keys) {
                long now = clock.millis();
                boolean[] gone = new boolean[1];
                index.update(key, (k, meta) -> {
                    if (meta == null || meta.state != ObjectState.COMPLETE) {
                        return meta;
                    }
                    if (meta.isLeased(now) && !force) {
                        leaseBlocks.increment();
                        return meta;
                    }
                    forget(meta);
                    gone[0] = true;
                    return null;
                });
                removed += gone[0] ? 1 : 0;
            }
            return removed;
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Batches: one result per key, in key order; one key's failure does not fail the others.

    /** PutStart for many keys with one config; {@code sizes} is parallel to {@code keys}. */
    public List<KeyResult<List<ReplicaDescriptor>>> batchPutStart(String clientId, List<String> keys,
                                                                  List<Long> sizes, ReplicaConfig config,
                                                                  boolean upsert) {
        return counters.count(MasterOp.BATCH_PUT_START, () -> {
            if (keys.size() != sizes.size()) {
                throw new StoreException(ErrorCode.INVALID_PARAMS,
                        keys.size() + " keys but " + sizes.size() + " sizes");
            }
            List<KeyResult<List<ReplicaDescriptor>>> results = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++) {
                String key = keys.get(i);
                long size = sizes.get(i);
                results.add(KeyResult.of(key, () -> startWithEviction(clientId, key, size, config, upsert)));
            }
            return results;
        });
    }

    /** Commits every key first and then waits for durability once, so a batch costs about one op-log write. */
    public List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys) {
        return batchPutEnd(clientId, keys, null);
    }

    /** @param crc32cs parallel to keys: each object's CRC32C, or null entries (or a null list) for none */
    public List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys, List<Long> crc32cs) {
        return counters.count(MasterOp.BATCH_PUT_END, () -> {
            List<KeyResult<CompletableFuture<Void>>> committed = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++) {
                Long crc32c = crc32cs == null ? null : crc32cs.get(i);
                String key = keys.get(i);
                committed.add(KeyResult.of(key, () -> commitPut(clientId, key, crc32c)));
            }
            return committed.stream().map(c -> !c.ok() || c.value() == null ? new KeyResult<Void>(c.key(), null, c.error())
                    : KeyResult.<Void>of(c.key(), () -> {
                        awaitDurable(c.value(), c.key());
                        return null;
                    })).toList();
        });
    }

    public List<KeyResult<Void>> batchPutRevoke(String clientId, List<String> keys) {
        return counters.count(MasterOp.BATCH_PUT_REVOKE, () -> KeyResult.each(keys, key -> revokePut(clientId, key)));
    }

    public List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys) {
        return counters.count(MasterOp.BATCH_GET_REPLICA_LIST, () -> KeyResult.each(keys, this::locate));
    }

    public List<KeyResult<Boolean>> batchExist(List<String> keys) {
        return counters.count(MasterOp.BATCH_EXIST, () -> KeyResult.each(keys, this::exists));
    }

    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        return counters.count(MasterOp.BATCH_REMOVE, () -> KeyResult.each(keys, key -> removeOne(key, force)));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Admin views: no lease, no access counted.

    /** @return the object's details, or null when the key is unknown */
    public ObjectInfo describeObject(String key) {
        ObjectKeys.validate(key);
        ObjectInfo[] info = new ObjectInfo[1];
        index.update(key, (k, meta) -> {
            info[0] = meta == null ? null : meta.info();
            return meta;
        });
        return info[0];
    }

    /** Up to {@code limit} keys starting with {@code prefix}, in key order. */
    public List<String> listKeys(String prefix, int limit) {
        String wanted = prefix == null ? "" : prefix;
        List<String> keys = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.key.startsWith(wanted)) {
                keys.add(meta.key);
            }
        });
        keys.sort(Comparator.naturalOrder());
        return keys.size() <= limit ? keys : List.copyOf(keys.subList(0, limit));
    }

    /**
     * Takes over the durable state a standby replicated: segments with allocators rebuilt to hold exactly the
     * objects' ranges, complete objects, and the segments' owners as live clients (a worker that died during the
     * failover is declared dead after client-ttl like any other). Called on an empty master, before it serves.
     */
    public synchronized void restore(ReplicatedIndex replicated) {
        Map<String, List<long[]>> rangesBySegment = new HashMap<>();
        for (IndexOp commit : replicated.objects()) {
            for (IndexOp.Range r : commit.replicas()) {
                rangesBySegment.computeIfAbsent(r.segment(), s -> new ArrayList<>()).add(new long[] {r.offset(), r.length()});
            }
        }
        Map<String, Map<Long, Allocation>> handles = new HashMap<>();
        long now = clock.millis();
        for (IndexOp mount : replicated.segments()) {
            List<long[]> ranges = rangesBySegment.getOrDefault(mount.segment(), List.of());
            long[] offsets = ranges.stream().mapToLong(r -> r[0]).toArray();
            long[] lengths = ranges.stream().mapToLong(r -> r[1]).toArray();
            Allocation[] allocated = new Allocation[offsets.length];
            OffsetAllocator allocator = OffsetAllocator.withAllocated(mount.capacity(), segments.alignment(), offsets,
                    lengths, allocated);
            Map<Long, Allocation> byOffset = new HashMap<>();
            for (Allocation a : allocated) {
                byOffset.put(a.offset(), a);
            }
            handles.put(mount.segment(), byOffset);
            segments.restore(mount.owner(), mount.segment(), mount.endpoint(), allocator);
            clients.register(mount.owner(), now);
        }
        for (IndexOp commit : replicated.objects()) {
            List<Replica> replicas = commit.replicas().stream()
                    .filter(r -> handles.containsKey(r.segment()))
                    .map(r -> new Replica(segments.get(r.segment()), handles.get(r.segment()).get(r.offset())))
                    .toList();
            if (replicas.isEmpty()) {
                continue;
            }
            ObjectMeta meta = new ObjectMeta(commit.key(), commit.size(), commit.owner(), commit.completedMillis(),
                    replicas);
            meta.state = ObjectState.COMPLETE;
            meta.completedMillis = commit.completedMillis();
            meta.lastAccessMillis = commit.completedMillis();
            meta.hardPin = commit.hardPin();
            meta.softPin = commit.softPin();
            meta.crc32c = commit.crc32c();
            meta.softPinDeadlineMillis = now + settings.softPinTtl().toMillis();
            index.update(commit.key(), (k, old) -> meta);
            completeObjects.increment();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Housekeeping

    /**
     * Periodic housekeeping: frees ranges whose read lease has ended and reclaims PutStarts silent longer than
     * the release timeout.
     */
    public void sweep() {
        long now = clock.millis();
        for (DeferredRelease head = deferred.peek(); head != null && head.deadlineMillis <= now;
             head = deferred.peek()) {
            DeferredRelease due = deferred.poll();
            if (due != null) {
                due.replicas.forEach(Replica::release);
            }
        }
        long releaseMillis = settings.putStartReleaseTimeout().toMillis();
        processing.forEach((key, startedAt) -> {
            if (now - startedAt >= releaseMillis) {
                index.update(key, (k, meta) -> {
                    if (meta != null && meta.state == ObjectState.PROCESSING && meta.putStartMillis == startedAt) {
                        forget(meta);
                        return null;
                    }
                    return meta;
                });
                processing.remove(key, startedAt);
            }
        });
    }

    public MasterStats stats() {
        return new MasterStats(completeObjects.sum(), processing.size(), segments.view().size(),
                segments.capacityBytes(), segments.usedBytes(), evictedObjects.sum(), leaseBlocks.sum(),
                clients.view().size());
    }

    /** Evicts {@code eviction-ratio} of capacity when usage is above the high watermark (run by the sweeper). */
    public long evictAboveWatermark() {
        long capacity = segments.capacityBytes();
        if (capacity == 0 || segments.usedBytes() <= capacity * settings.evictionHighWatermark()) {
            return 0;
        }
        return evict((long) (capacity * settings.evictionRatio()));
    }

    /**
     * Frees at least {@code bytes} if it can: unpinned objects in the policy's order, then soft-pinned ones. Never
     * evicts a leased, unfinished or hard-pinned object; each victim is re-checked in its own atomic section, so a
     * read that leases it meanwhile saves it.
     *
     * @return bytes freed
     */
    public long evict(long bytes) {
        long now = clock.millis();
        List<EvictionCandidate> candidates = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.state == ObjectState.COMPLETE && !meta.hardPin && !meta.isLeased(now)) {
                candidates.add(new EvictionCandidate(meta.key, meta.size, meta.completedMillis, meta.lastAccessMillis,
                        meta.accessCount, meta.isSoftPinned(now)));
            }
        });
        candidates.sort(Comparator.comparing(EvictionCandidate::softPinned).thenComparing(eviction.order()));
        long freed = 0;
        for (EvictionCandidate candidate : candidates) {
            if (freed >= bytes) {
                break;
            }
            long[] released = new long[1];
            index.update(candidate.key(), (k, meta) -> {
                if (meta == null || meta.state != ObjectState.COMPLETE || meta.hardPin) {
                    return meta;
                }
                if (meta.isLeased(clock.millis())) {
                    leaseBlocks.increment();
                    return meta;
                }
                released[0] = meta.size * meta.replicas.size();
                forget(meta);
                return null;
            });
            if (released[0] > 0) {
                freed += released[0];
                evictedObjects.increment();
            }
        }
        return freed;
    }

    // ---------------------------------------------------------------------------------------------------------

    private long largestSegmentBytes() {
        return segments.view().stream().mapToLong(MountedSegment::capacity).max().orElse(0);
    }

    private void touch(ObjectMeta meta, long now) {
        meta.lastAccessMillis = now;
        meta.accessCount++;
        if (meta.softPin) {
            meta.softPinDeadlineMillis = now + settings.softPinTtl().toMillis();
        }
    }

    /** Rewrites a complete object: in place when the size is unchanged and nobody reads it, else new ranges. */
    private ObjectMeta overwrite(ObjectMeta existing, String clientId, long size, ReplicaConfig wanted, long now) {
        journal.record(IndexOp.drop(existing.key)); // no longer a complete object until its PutEnd
        List<Replica> live = existing.liveReplicas();
        ObjectMeta fresh;
        if (existing.size == size && !existing.isLeased(now) && !live.isEmpty()) {
            fresh = new ObjectMeta(existing.key, size, clientId, now, live);
        } else {
            // Allocate before letting go, so a failed allocation leaves the old object intact.
            fresh = new ObjectMeta(existing.key, size, clientId, now, allocateReplicas(size, wanted, clientId));
            release(existing, now);
        }
        completeObjects.decrement();
        return fresh;
    }

    /** One range on each of up to replicaNum distinct segments: preferred segments first, then the strategy's order. */
    private List<Replica> allocateReplicas(long size, ReplicaConfig config, String clientId) {
        int wanted = config.replicaNum() == 0 ? settings.defaultReplicaNum() : config.replicaNum();
        Collection<MountedSegment> order = placement.candidates(segments.mounted(), size, clientId);
        if (!config.preferredSegments().isEmpty()) {
            LinkedHashSet<MountedSegment> preferredFirst = new LinkedHashSet<>();
            for (String name : config.preferredSegments()) {
                MountedSegment preferred = segments.get(name);
                if (preferred != null) {
                    preferredFirst.add(preferred);
                }
            }
            preferredFirst.addAll(order);
            order = preferredFirst;
        }
        List<Replica> placed = new ArrayList<>(wanted);
        for (MountedSegment segment : order) {
            if (placed.size() == wanted) {
                break;
            }
            Allocation range = segment.allocate(size);
            if (range != null) {
                placed.add(new Replica(segment, range));
            }
        }
        if (placed.isEmpty()) {
            throw new StoreException(ErrorCode.NO_AVAILABLE_HANDLE,
                    "no segment has " + size + " contiguous free bytes (capacity " + segments.capacityBytes()
                            + ", used " + segments.usedBytes() + ")");
        }
        return List.copyOf(placed);
    }

    /** Drops an object that is leaving the index: counters, and its memory now or when its lease ends. */
    private void forget(ObjectMeta meta) {
        if (meta.state == ObjectState.COMPLETE) {
            journal.record(IndexOp.drop(meta.key));
            completeObjects.decrement();
        } else {
            processing.remove(meta.key, meta.putStartMillis);
        }
        release(meta, clock.millis());
    }

    private void release(ObjectMeta meta, long now) {
        if (meta.isLeased(now)) {
            leaseBlocks.increment();
            deferred.add(new DeferredRelease(meta.leaseDeadlineMillis, meta.replicas));
        } else {
            meta.replicas.forEach(Replica::release);
        }
    }

    private List<ReplicaDescriptor> describe(List<Replica> replicas, TransferOp op, long ticketExpiresAtMillis) {
        return replicas.stream().map(r -> r.describe(tickets, op, ticketExpiresAtMillis)).toList();
    }

    private static void requireOwnedPut(ObjectMeta meta, String clientId, String key) {
        if (meta == null) {
            throw notFound(key);
        }
        if (!Objects.equals(meta.ownerClientId, clientId)) {
            throw new StoreException(ErrorCode.ILLEGAL_CLIENT,
                    "put of '" + key + "' was started by another client");
        }
    }

    private static void requireClient(String clientId) {
        if (clientId == null || clientId.isBlank()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "client id must not be empty");
        }
    }

    private static StoreException notFound(String key) {
        return new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' not found");
    }

    private record DeferredRelease(long deadlineMillis, List<Replica> replicas)
            implements Comparable<DeferredRelease> {
        @Override
        public int compareTo(DeferredRelease other) {
            return Long.compare(deadlineMillis, other.deadlineMillis);
        }
    }
}
