package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.MasterClient;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.PutSpace;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.VersionTables;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The master's object semantics as clients call them: two-phase put ({@link PutPath}), replica lists with read
 * leases, pins, remove, batches, segment mounts with client liveness ({@link ClientLiveness}). It decides where
 * bytes go and never touches them. Every client operation runs through {@link #serve}: only on the leader, and
 * counted once whichever API it came by.
 *
 * <p>Memory of an object that may still be read (an active lease) is never handed out again before the lease
 * ends: such ranges wait in {@link DeferredReleases} until {@link #sweep} finds the lease over.
 */
public final class Master implements MasterClient {
    /**
     * Keys one batch may carry. Batches run where they arrive (often an event loop), so their size bounds how long
     * one call can hold it.
     */
    public static final int MAX_BATCH_KEYS = 16_384;

    private final ObjectBook book;
    private final PlacementStrategy placement;
    private final Eviction eviction;
    private final EvictionPolicy policy;
    private final PutPath puts;
    /** Space granted ahead to same-host writers, for puts in one round trip that carries no bytes. */
    private final PutSpaces spaces;

    private final ClientLiveness liveness;
    private final ReadLeases reads;
    private final MasterCounters counters = new MasterCounters();
    /** PutEnds answered once durable, failed by {@link #sweep} when the op-log is late. */
    private final Durability durability;
    /** Asked before every counted operation: a standby answers NOT_LEADER. */
    private volatile Leadership leadership = Leadership.ALONE;

    public Master(MasterSettings settings, PlacementStrategy placement, EvictionPolicy eviction, InstantSource clock) {
        this(settings, placement, eviction, clock, null);
    }

    /** @param tickets signs a transfer ticket into every replica descriptor handed out; null: access control off */
    public Master(
            MasterSettings settings,
            PlacementStrategy placement,
            EvictionPolicy eviction,
            InstantSource clock,
            TicketSigner tickets) {
        this.book = new ObjectBook(settings, clock, tickets);
        this.placement = placement;
        this.policy = eviction;
        this.eviction = new Eviction(
                book.index,
                eviction,
                clock,
                book.tally,
                Tiering::inDram,
                victim -> book.forget(victim, ObjectEvent.Kind.EVICTED));
        this.puts = new PutPath(book, placement, this.eviction);
        this.spaces = new PutSpaces(book, placement);
        this.durability = new Durability(book.clock);
        this.liveness = new ClientLiveness(book);
        this.reads = new ReadLeases(book);
    }

    public SegmentRegistry segments() {
        return book.segments;
    }

    public MasterCounters counters() {
        return counters;
    }

    /**
     * Puts these tenant quotas in force and moves every object to the account its key now belongs to (each in its
     * own section: accounts stay exact while puts go on).
     */
    public void defineTenants(List<TenantQuota> quotas) {
        book.index.tenants.define(quotas);
        List<String> keys = new ArrayList<>();
        book.index.forEach(meta -> keys.add(meta.key));
        for (String key : keys) {
            book.index.update(key, (k, meta) -> meta); // settling is the index's, on every update
        }
    }

    /** Each tenant's quota and what it holds, by name. */
    public List<Tenants.Account> tenants() {
        return book.index.tenants.accounts();
    }

    /** The object events of this master (in a replicated cluster: the cluster's, as this master has applied them). */
    public EventJournal events() {
        return book.events;
    }

    /** From now on every durable change is recorded in {@code opLog} (this master has become the leader). */
    public void attachOpLog(OpLog opLog) {
        book.opLog = opLog;
    }

    /** The version tables of same-host segments: committed objects get versions readers may cache locations by. */
    public void attachVersionTables(VersionTables tables) {
        book.versions.attach(tables);
    }

    /**
     * From now on freed memory is cleared before it is reused (with access control on, so that no tenant reads what
     * another deleted).
     */
    public void attachScrubber(Scrubber scrubber) {
        book.scrubber = scrubber;
    }

    /** From now on the objects of a segment a restarted worker takes over are read back and checked. */
    public void attachChecksums(ReplicaChecksums checksums) {
        book.checksums = checksums;
    }

    /**
     * From now on objects evicted from DRAM move to the disk tier (workers' disk segments, when any is mounted)
     * instead of being dropped, and come back when read; {@code copier} moves their bytes.
     */
    public void attachTiering(ReplicaCopier copier) {
        Tiering previous = book.tiering;
        book.tiering = new Tiering(book, policy, copier);
        if (previous != null) {
            previous.close();
        }
    }

    /** From now on this master serves only while {@code leadership} says it leads (it is one of several). */
    public void attachLeadership(Leadership leadership) {
        this.leadership = leadership;
    }

    /** Whether this master serves (alone, or as the elected leader). */
    public boolean isLeader() {
        return leadership.isLeader();
    }

    /** @throws StoreException NOT_LEADER when another master serves */
    public void requireLeader() {
        leadership.requireLeader();
    }

    /** Config names of the placement strategy and eviction policy in use. */
    public String placementStrategy() {
        return placement.name();
    }

    public String evictionPolicy() {
        return eviction.policyName();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Segments and client liveness

    /**
     * Mounts a segment (idempotent for the same owner) and registers its owner as a live client; takes over the
     * objects of a segment whose owner died when the mount shows the same contents id (a worker restarted).
     */
    @Override
    public void mountSegment(String clientId, SegmentDescriptor segment, boolean claimsContents) {
        serve(MasterOp.MOUNT_SEGMENT, () -> liveness.mount(clientId, segment, claimsContents));
    }

    /** Mounts again every segment of a client the master told NEED_REMOUNT (idempotent). */
    @Override
    public void remountSegments(String clientId, List<SegmentDescriptor> owned) {
        serve(MasterOp.REMOUNT_SEGMENTS, () -> owned.forEach(spec -> liveness.mount(clientId, spec, false)));
    }

    /**
     * Unmounts a segment (a segment that is not mounted is left alone); objects whose only replicas were on it are
     * dropped, others stay readable.
     */
    @Override
    public void unmountSegment(String clientId, String segment) {
        serve(MasterOp.UNMOUNT_SEGMENT, () -> liveness.unmount(clientId, segment));
    }

    /** A client's sign of life. An unknown client (expired, or met by a restarted master) must remount. */
    @Override
    public HeartbeatReply heartbeat(String clientId) {
        return serve(MasterOp.HEARTBEAT, () -> liveness.heartbeat(clientId));
    }

    /**
     * Declares clients silent for {@code client-ttl} dead, while this master leads: their segments are unmounted and
     * the replicas on them dropped (objects with a replica elsewhere stay readable).
     *
     * @return the clients declared dead
     */
    public List<String> expireSilentClients() {
        return liveness.expireSilent(leadership.isLeader());
    }

    /** @param serving whether this master serves now; silence while it does not says nothing about clients */
    public List<String> expireSilentClients(boolean serving) {
        return liveness.expireSilent(serving);
    }

    /** Live clients that mounted memory, with their segments and when each was last heard from. */
    public List<ClientView> clients() {
        return liveness.clients();
    }

    /** Mounted segments with their usage and fragmentation, by name. */
    public List<SegmentView> segmentViews() {
        return liveness.segments();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Puts

    /**
     * Reserves one range per replica and records the object as PROCESSING. With a disk tier, a put that finds DRAM
     * full waits for objects to move out, as {@link #putStartAsync} does: callers in this process (the REST gateway's
     * store client) call it off the event loop.
     *
     * @param upsert overwrite a complete object instead of answering OBJECT_ALREADY_EXISTS
     * @return one descriptor per placed replica (fewer than asked when fewer segments have room), each with a
     * WRITE ticket when access control is on
     */
    @Override
    public List<ReplicaDescriptor> putStart(
            String clientId, String key, long size, ReplicaConfig config, boolean upsert) {
        return Tiering.placed(putStartAsync(clientId, key, size, config, upsert));
    }

    /**
     * {@link #putStart} without holding a thread: with a disk tier a put that finds DRAM full waits for the tier to
     * move objects out rather than evicting by dropping them; only when that makes no room within
     * {@link Tiering#WAIT_FOR_ROOM_MILLIS} does it evict by dropping. Without one, placed (or refused) at once.
     */
    public CompletableFuture<List<ReplicaDescriptor>> putStartAsync(
            String clientId, String key, long size, ReplicaConfig config, boolean upsert) {
        return serve(MasterOp.PUT_START, () -> startWhenRoom(clientId, key, size, config, upsert));
    }

    private CompletableFuture<List<ReplicaDescriptor>> startWhenRoom(
            String clientId, String key, long size, ReplicaConfig config, boolean upsert) {
        return placeWhenRoom(clientId, key, size, config, upsert, null, null).thenApply(PutPath.Placed::replicas);
    }

    /**
     * A put start whose bytes came with it: placed, written by {@code filler} and committed in one step when it
     * reaches every replica (answered COMMITTED once durable); else an ordinary put start, answering the replicas for
     * the caller to write. A filler must write nothing once its caller has returned: with a disk tier, a put that
     * waits for room is placed later, on another thread.
     */
    CompletableFuture<StartedPut> putStartFilled(
            String clientId,
            String key,
            long size,
            ReplicaConfig config,
            boolean upsert,
            Long crc32c,
            PutPath.Filler filler) {
        return serve(
                MasterOp.PUT_START,
                () -> placeWhenRoom(clientId, key, size, config, upsert, crc32c, filler)
                        .thenCompose(placed -> placed.committed() == null
                                ? CompletableFuture.completedFuture(StartedPut.toWrite(placed.replicas()))
                                : committed(placed.committed(), key)));
    }

    /** A put committed in its start, answered COMMITTED once its COMMIT is durable. */
    private CompletableFuture<StartedPut> committed(CompletableFuture<Void> durable, String key) {
        return durability.answer(durable, key).thenApply(done -> StartedPut.COMMITTED);
    }

    private CompletableFuture<PutPath.Placed> placeWhenRoom(
            String clientId,
            String key,
            long size,
            ReplicaConfig config,
            boolean upsert,
            Long crc32c,
            PutPath.Filler filler) {
        Tiering tiering = book.tiering;
        if (tiering == null || !tiering.active() || !puts.fitsSomewhere(size)) {
            return CompletableFuture.completedFuture(
                    puts.place(clientId, key, size, config, upsert, true, crc32c, filler));
        }
        return tiering.whenRoom(
                () -> puts.place(clientId, key, size, config, upsert, false, crc32c, filler),
                () -> puts.place(clientId, key, size, config, upsert, true, crc32c, filler));
    }

    /**
     * A put whose writer already copied the bytes into space granted to it ({@link #grantSpace}): the object is made
     * there and committed, answered COMMITTED once durable. A repeat of a put that already made its object in the space
     * (its answer was lost) is answered COMMITTED too, and changes nothing. When the space is not the writer's any more
     * (expired, its segment gone, used) or the put cannot live in it (more replicas wanted), it is an ordinary put
     * start instead, answering the replicas to write.
     */
    public CompletableFuture<StartedPut> putStartInSpace(
            String clientId, String key, long spaceId, long size, ReplicaConfig config, boolean upsert, Long crc32c) {
        return serve(MasterOp.PUT_START, () -> {
            PutSpaces.Granted space = spaces.find(spaceId, clientId, size);
            CompletableFuture<Void> durable = space == null
                    ? puts.repeatedInSpace(clientId, key, spaceId, size)
                    : puts.commitInSpace(clientId, key, config, upsert, crc32c, spaces, space);
            return durable == null
                    ? startWhenRoom(clientId, key, size, config, upsert).thenApply(StartedPut::toWrite)
                    : committed(durable, key);
        });
    }

    /**
     * Space of {@code size} bytes on a segment whose shared-memory file lies on {@code writerHost}, granted to
     * {@code clientId} for its next put ({@link #putStartInSpace}); null when none is granted (see {@link PutSpaces}).
     */
    public PutSpace grantSpace(String clientId, String writerHost, long size) {
        return spaces.grant(clientId, writerHost, size);
    }

    /** @param crc32c the CRC32C of the bytes written, kept with the object for readers to verify; or null */
    @Override
    public void putEnd(String clientId, String key, Long crc32c) {
        serve(MasterOp.PUT_END, () -> puts.end(clientId, key, crc32c));
    }

    /**
     * {@link #putEnd} without holding a thread while the op-log makes the put durable: the future completes when
     * it is (or fails with METADATA_ERROR after the durability timeout).
     */
    public CompletableFuture<Void> putEndAsync(String clientId, String key, Long crc32c) {
        CompletableFuture<Void> durable = serve(MasterOp.PUT_END, () -> puts.commit(clientId, key, crc32c));
        return durable == null ? CompletableFuture.completedFuture(null) : durability.answer(durable, key);
    }

    /** Abandons an unfinished put and frees its ranges. Only the client that started the put may revoke it. */
    @Override
    public void putRevoke(String clientId, String key) {
        serve(MasterOp.PUT_REVOKE, () -> puts.revoke(clientId, key));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Reads

    /** The readable replicas of a complete object, with a fresh read lease (and READ tickets until it ends). */
    @Override
    public ObjectLocation getReplicaList(String key) {
        return getReplicaList(key, null);
    }

    /** {@link #getReplicaList(String)}, a small object's bytes copied under its key by {@code copier} when it takes them. */
    ObjectLocation getReplicaList(String key, ReadLeases.Copier copier) {
        return serve(MasterOp.GET_REPLICA_LIST, () -> reads.locate(key, copier));
    }

    /** Whether a complete object exists; an existing object also gets a read lease. Not-found is just false. */
    @Override
    public boolean exist(String key) {
        return serve(MasterOp.EXIST, () -> reads.exists(key));
    }

    /**
     * Ends read leases whose transfers are over; a version that left the index is freed once its last reader is
     * done. A release needs the lease's id, which only its reader was given (64 random bits), so no access right is
     * checked: at worst a lease ends by its deadline, as it would anyway.
     */
    @Override
    public void releaseLeases(List<ReadLease> leases) {
        if (leases.isEmpty()) {
            return;
        }
        serve(MasterOp.RELEASE_LEASES, () -> {
            if (leases.size() > MAX_BATCH_KEYS) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS, leases.size() + " leases in one release; at most " + MAX_BATCH_KEYS);
            }
            for (ReadLease lease : leases) {
                ObjectKeys.validate(lease.key());
                reads.release(lease.key(), lease.id());
            }
        });
    }

    @Override
    public void releaseSpaces(String clientId) {
        serve(MasterOp.RELEASE_LEASES, () -> spaces.freeAll(clientId));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Removal

    /**
     * Removes a complete object. A leased object is refused with OBJECT_HAS_LEASE unless {@code force}; a forced
     * remove hides the key at once but keeps its memory until the lease ends, so readers in flight stay correct.
     */
    @Override
    public void remove(String key, boolean force) {
        serve(MasterOp.REMOVE, () -> removeOne(key, force));
    }

    private Void removeOne(String key, boolean force) {
        ObjectKeys.validate(key);
        long now = book.clock.millis();
        book.index.update(key, (k, meta) -> {
            if (meta == null) {
                throw ObjectBook.notFound(key);
            }
            if (meta.state != ObjectState.COMPLETE) {
                throw new StoreException(
                        ErrorCode.REPLICA_IS_NOT_READY, "put of '" + key + "' has not ended; revoke it instead");
            }
            if (meta.isLeased(now) && !force) {
                book.tally.leaseBlocks.increment();
                throw new StoreException(
                        ErrorCode.OBJECT_HAS_LEASE, "object '" + key + "' is leased to readers; remove with force");
            }
            book.forget(meta);
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
    @Override
    public long removeAll(boolean force) {
        return serve(MasterOp.REMOVE_ALL, () -> {
            List<String> keys = new ArrayList<>();
            book.index.forEach(meta -> keys.add(meta.key));
            long removed = 0;
            for (String key : keys) {
                long now = book.clock.millis();
                boolean[] gone = new boolean[1];
                book.index.update(key, (k, meta) -> {
                    if (meta == null || meta.state != ObjectState.COMPLETE) {
                        return meta;
                    }
                    if (meta.isLeased(now) && !force) {
                        book.tally.leaseBlocks.increment();
                        return meta;
                    }
                    book.forget(meta);
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

    /**
     * PutStart for many keys with one config; {@code sizes} is parallel to {@code keys}. Keys that find DRAM full wait
     * for the disk tier as {@link #putStart} does (off the event loop only).
     */
    @Override
    public List<KeyResult<List<ReplicaDescriptor>>> batchPutStart(
            String clientId, List<String> keys, List<Long> sizes, ReplicaConfig config, boolean upsert) {
        return serve(MasterOp.BATCH_PUT_START, keys, () -> {
            if (keys.size() != sizes.size()) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS, keys.size() + " keys but " + sizes.size() + " sizes");
            }
            // Every key is started before any waits: keys waiting for room wait together, not one after another.
            List<KeyResult<CompletableFuture<List<ReplicaDescriptor>>>> started = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++) {
                String key = keys.get(i);
                long size = sizes.get(i);
                started.add(KeyResult.of(key, () -> startWhenRoom(clientId, key, size, config, upsert)));
            }
            return started.stream()
                    .map(s -> !s.ok()
                            ? new KeyResult<List<ReplicaDescriptor>>(s.key(), null, s.error())
                            : KeyResult.of(s.key(), () -> Tiering.placed(s.value())))
                    .toList();
        });
    }

    /** @param crc32cs parallel to keys: each object's CRC32C, or null entries (or a null list) for none */
    @Override
    public List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys, List<Long> crc32cs) {
        return serve(MasterOp.BATCH_PUT_END, keys, () -> {
            List<KeyResult<CompletableFuture<Void>>> committed = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++) {
                Long crc32c = crc32cs == null ? null : crc32cs.get(i);
                String key = keys.get(i);
                committed.add(KeyResult.of(key, () -> puts.commit(clientId, key, crc32c)));
            }
            return committed.stream()
                    .map(c -> !c.ok() || c.value() == null
                            ? new KeyResult<Void>(c.key(), null, c.error())
                            : KeyResult.<Void>of(c.key(), () -> {
                                Durability.await(c.value(), c.key());
                                return null;
                            }))
                    .toList();
        });
    }

    @Override
    public List<KeyResult<Void>> batchPutRevoke(String clientId, List<String> keys) {
        return serve(MasterOp.BATCH_PUT_REVOKE, keys, () -> KeyResult.each(keys, key -> puts.revoke(clientId, key)));
    }

    @Override
    public List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys) {
        return batchGetReplicaList(keys, null);
    }

    /** {@link #batchGetReplicaList(List)}, small objects' bytes copied under their keys by {@code copier}. */
    List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys, ReadLeases.Copier copier) {
        return serve(
                MasterOp.BATCH_GET_REPLICA_LIST, keys, () -> KeyResult.each(keys, key -> reads.locate(key, copier)));
    }

    @Override
    public List<KeyResult<Boolean>> batchExist(List<String> keys) {
        return serve(MasterOp.BATCH_EXIST, keys, () -> KeyResult.each(keys, reads::exists));
    }

    @Override
    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        return serve(MasterOp.BATCH_REMOVE, keys, () -> KeyResult.each(keys, key -> removeOne(key, force)));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Admin views: no lease, no access counted.

    /** @return the object's details, or null when the key is unknown */
    public ObjectInfo describeObject(String key) {
        ObjectKeys.validate(key);
        ObjectInfo[] info = new ObjectInfo[1];
        book.index.update(key, (k, meta) -> {
            info[0] = meta == null ? null : meta.info();
            return meta;
        });
        return info[0];
    }

    /** Up to {@code limit} keys starting with {@code prefix}, in key order. */
    public List<String> listKeys(String prefix, int limit) {
        String wanted = prefix == null ? "" : prefix;
        List<String> keys = new ArrayList<>();
        book.index.forEach(meta -> {
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
        long now = book.clock.millis();
        long grantWindow =
                book.signsTickets() ? book.settings.putStartDiscardTimeout().toMillis() : 0;
        int restored = new IndexRestore(book.segments, book.clients, book.index)
                .restore(replicated, now, book.settings, grantWindow);
        book.tally.complete.add(restored);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Housekeeping

    /**
     * Periodic housekeeping: frees ranges whose read lease has ended and spaces whose lifetime is over, reclaims
     * PutStarts silent longer than the release timeout and fails PutEnds the op-log has not confirmed in time.
     */
    public void sweep() {
        durability.failOverdue();
        long now = book.clock.millis();
        book.deferred.freeDue(now);
        spaces.sweep(now);
        long releaseMillis = book.settings.putStartReleaseTimeout().toMillis();
        book.processing.forEach((key, startedAt) -> {
            if (now - startedAt >= releaseMillis) {
                book.index.update(key, (k, meta) -> {
                    if (meta != null && meta.state == ObjectState.PROCESSING && meta.putStartMillis == startedAt) {
                        book.forget(meta);
                        return null;
                    }
                    return meta;
                });
                book.processing.remove(key, startedAt);
            }
        });
    }

    public MasterStats stats() {
        return new MasterStats(
                book.tally.complete.sum(),
                book.processing.size(),
                book.segments.view().size(),
                book.segments.capacityBytes(),
                book.segments.usedBytes(),
                book.tally.evicted.sum(),
                book.tally.leaseBlocks.sum(),
                book.clients.view().size(),
                book.segments.capacityBytes(SegmentTier.DISK),
                book.segments.usedBytes(SegmentTier.DISK),
                book.tally.offloaded.sum(),
                book.tally.promoted.sum());
    }

    /** Evicts {@code eviction-ratio} of capacity when usage is above the high watermark (run by the sweeper). */
    public long evictAboveWatermark() {
        Tiering tiering = book.tiering;
        if (tiering != null && tiering.active()) {
            tiering.wake(); // it moves objects to disk on its own thread instead
            return 0;
        }
        long capacity = book.segments.capacityBytes();
        if (capacity == 0 || book.segments.usedBytes() <= capacity * book.settings.evictionHighWatermark()) {
            return 0;
        }
        return evict((long) (capacity * book.settings.evictionRatio()));
    }

    /**
     * Frees at least {@code bytes} if it can: unpinned objects in the policy's order, then soft-pinned ones. Never
     * evicts a leased, unfinished or hard-pinned object; each victim is re-checked in its own atomic section, so a
     * read that leases it meanwhile saves it.
     *
     * @return bytes freed
     */
    public long evict(long bytes) {
        Tenants tenants = book.index.tenants;
        return eviction.evict(bytes, victim -> tenants.mayEvict(victim, null));
    }

    /** A batch operation: as {@link #serve}, refused whole past {@link #MAX_BATCH_KEYS} keys. */
    private <T> T serve(MasterOp op, List<String> keys, Supplier<T> action) {
        return serve(op, () -> {
            if (keys.size() > MAX_BATCH_KEYS) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS,
                        keys.size() + " keys in one batch; at most " + MAX_BATCH_KEYS + " (split the batch)");
            }
            return action.get();
        });
    }

    /** Every operation a client calls runs here: only on the leader, and counted once whichever API it came by. */
    private <T> T serve(MasterOp op, Supplier<T> action) {
        return counters.count(op, () -> {
            leadership.requireLeader();
            return action.get();
        });
    }

    private void serve(MasterOp op, Runnable action) {
        serve(op, () -> {
            action.run();
            return null;
        });
    }
}
