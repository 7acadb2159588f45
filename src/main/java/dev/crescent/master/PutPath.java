package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TransferOp;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The two-phase put: PutStart reserves ranges and records the object as PROCESSING, PutEnd (only by the client
 * that started it) makes it COMPLETE and durable, PutRevoke abandons it. First writer wins; an upsert overwrites a
 * complete object; a writer silent past the discard timeout may be pre-empted. A put that finds no room evicts
 * once and tries again before answering back-pressure.
 */
final class PutPath {
    /** Replicas one object may ask for; each is on a distinct segment, so more than this is never met. */
    static final int MAX_REPLICAS = 64;

    private final ObjectBook book;
    private final PlacementStrategy placement;
    private final Eviction eviction;

    PutPath(ObjectBook book, PlacementStrategy placement, Eviction eviction) {
        this.book = book;
        this.placement = placement;
        this.eviction = eviction;
    }

    /**
     * Writes a put's bytes into the ranges just placed for it, inside the key's section, so that the put start
     * commits at once: the key is entered once instead of twice (start, then end), and nobody sees the object
     * between its start and its commit.
     */
    @FunctionalInterface
    interface Filler {
        /**
         * @return whether every replica now holds the bytes; false when it wrote nothing because a replica is out
         * of its reach (the put stays started, for its writer to write and end). A copy that fails throws: the put
         * is then revoked and the failure answered.
         */
        boolean fill(List<Replica> replicas);
    }

    /**
     * What a put start came to: the replicas its writer is to write (one descriptor per placed replica, fewer than
     * asked when fewer segments have room, each with a WRITE ticket when access control is on), or, when its
     * {@link Filler} wrote them, the COMMIT's durability.
     */
    record Placed(List<ReplicaDescriptor> replicas, CompletableFuture<Void> committed) {}

    /**
     * Starts a put and, when {@code filler} writes its bytes, commits it in the same step.
     *
     * @param dropToFit evict by dropping objects when DRAM has no room; false: answer NO_AVAILABLE_HANDLE at once
     *                  (the caller waits for the disk tier to make room instead)
     * @param crc32c    the bytes' CRC32C, kept with an object committed here; or null
     * @param filler    writes the bytes into the placed ranges, or null: the writer writes them and ends the put
     */
    Placed place(
            String clientId,
            String key,
            long size,
            ReplicaConfig config,
            boolean upsert,
            boolean dropToFit,
            Long crc32c,
            Filler filler) {
        try {
            return startOnce(clientId, key, size, config, upsert, crc32c, filler);
        } catch (StoreException e) {
            Tenants tenants = book.index.tenants;
            if (e.code() == ErrorCode.QUOTA_EXCEEDED) {
                // The tenant is full: make room among its own objects only, then try once more.
                Tenants.Account own = tenants.of(key);
                eviction.evict(
                        size * replicasWanted(config == null ? ReplicaConfig.DEFAULT : config),
                        victim -> tenants.of(victim) == own);
                try {
                    return startOnce(clientId, key, size, config, upsert, crc32c, filler);
                } catch (StoreException still) {
                    if (still.code() == ErrorCode.QUOTA_EXCEEDED) {
                        tenants.refused(key);
                    }
                    throw still;
                }
            }
            if (e.code() != ErrorCode.NO_AVAILABLE_HANDLE || size > largestSegmentBytes()) {
                // Evicting cannot make room for an object larger than every segment: keep what is stored.
                throw e;
            }
            // No room: evict (outside any per-key section) and try again, until the put fits or nothing more can
            // go; only then answer back-pressure. The ranges freed need not be next to each other, so one round may
            // not make a hole as large as the object. Other tenants' objects go only while they hold more than their
            // reserved share.
            Tiering tiering = book.tiering;
            if (tiering != null) {
                tiering.wake();
            }
            if (!dropToFit) {
                throw e;
            }
            long round = Math.max(size, (long) (book.segments.capacityBytes() * book.settings.evictionRatio()));
            while (true) {
                long freed = eviction.evict(round, victim -> tenants.mayEvict(victim, key));
                try {
                    return startOnce(clientId, key, size, config, upsert, crc32c, filler);
                } catch (StoreException still) {
                    if (still.code() != ErrorCode.NO_AVAILABLE_HANDLE || freed == 0) {
                        throw still;
                    }
                }
            }
        }
    }

    private Placed startOnce(
            String clientId, String key, long size, ReplicaConfig config, boolean upsert, Long crc32c, Filler filler) {
        requirePutAccepted(clientId, key, size);
        ReplicaConfig wanted = config == null ? ReplicaConfig.DEFAULT : config;
        long now = book.clock.millis();
        long discardMillis = book.settings.putStartDiscardTimeout().toMillis();
        @SuppressWarnings("unchecked")
        CompletableFuture<Void>[] durable = new CompletableFuture[1];
        RuntimeException[] unwritten = new RuntimeException[1];
        ObjectMeta started = book.index.update(key, (k, existing) -> {
            ObjectMeta fresh = started(k, existing, clientId, size, wanted, upsert, now, discardMillis, null);
            if (filler == null) {
                return fresh;
            }
            boolean written;
            try {
                written = filler.fill(fresh.replicas);
            } catch (RuntimeException copyFailed) {
                // Not thrown from here: the section would leave the entry as it was, yet the ranges, the tenant's
                // bytes and a version overwritten are already settled for the fresh one.
                unwritten[0] = copyFailed;
                written = false;
            }
            if (written) {
                durable[0] = complete(fresh, crc32c);
            }
            return fresh;
        });
        if (durable[0] != null) {
            return new Placed(null, durable[0]);
        }
        book.processing.put(key, started.putStartMillis);
        if (unwritten[0] != null) {
            revoke(clientId, key);
            throw new StoreException(
                    ErrorCode.TRANSFER_FAIL,
                    "writing '" + key + "' failed: " + unwritten[0].getMessage(),
                    unwritten[0]);
        }
        // A writer silent past the discard timeout may be pre-empted; its ticket must not outlive that.
        return new Placed(book.describe(started.replicas, TransferOp.WRITE, now + discardMillis), null);
    }

    /**
     * A put whose writer copied the bytes into {@code space}, granted to it ahead ({@link PutSpaces}): the object is
     * made there and committed in one step, with every check a put start and end make (first writer wins, upserts,
     * leased versions, the tenant's quota).
     *
     * @return the COMMIT's durability, or null when the put cannot live in the space (more replicas wanted, other
     * segments preferred, the space used meanwhile): the put then goes the usual way
     */
    CompletableFuture<Void> commitInSpace(
            String clientId,
            String key,
            ReplicaConfig config,
            boolean upsert,
            Long crc32c,
            PutSpaces spaces,
            PutSpaces.Granted space) {
        long size = space.replica().range().length();
        requirePutAccepted(clientId, key, size);
        ReplicaConfig wanted = config == null ? ReplicaConfig.DEFAULT : config;
        List<String> preferred = wanted.preferredSegments();
        if (replicasWanted(wanted) != 1
                || !(preferred.isEmpty()
                        || preferred.contains(space.replica().segment().name()))) {
            return null; // the put wants more than one replica, or other segments: it goes the usual way
        }
        long now = book.clock.millis();
        long discardMillis = book.settings.putStartDiscardTimeout().toMillis();
        @SuppressWarnings("unchecked")
        CompletableFuture<Void>[] durable = new CompletableFuture[1];
        book.index.update(key, (k, existing) -> {
            if (!spaces.used(space)) {
                return existing; // used by a concurrent put of this client, or expired, since it was found
            }
            ObjectMeta fresh;
            try {
                fresh = started(
                        k, existing, clientId, size, wanted, upsert, now, discardMillis, List.of(space.replica()));
            } catch (RuntimeException refused) {
                spaces.giveBack(space); // the key was refused: the space is still the writer's for its next put
                throw refused;
            }
            fresh.madeInSpace = space.id();
            durable[0] = complete(fresh, crc32c);
            return fresh;
        });
        return durable[0];
    }

    /**
     * A put start naming a space that an earlier try of the same put, by the same client, already made {@code key}'s
     * object in: its answer was lost with its connection and the client sent it again. Acknowledged like a repeated
     * PutEnd (once that commit is durable) and changing nothing; without this the repeat would find the space used and
     * a plain put would answer OBJECT_ALREADY_EXISTS for its own object.
     *
     * @return the commit's durability, or null when this is no such repeat
     */
    CompletableFuture<Void> repeatedInSpace(String clientId, String key, long spaceId, long size) {
        ObjectMeta meta = book.index.get(key); // a version made in a space is inserted complete, in one section
        if (meta == null
                || meta.madeInSpace != spaceId
                || meta.size != size
                || meta.state != ObjectState.COMPLETE
                || !clientId.equals(meta.ownerClientId)) {
            return null;
        }
        CompletableFuture<Void> durable = meta.commitDurable;
        return durable == null ? CompletableFuture.completedFuture(null) : durable;
    }

    private void requirePutAccepted(String clientId, String key, long size) {
        ObjectKeys.validate(key);
        ObjectBook.requireClient(clientId);
        if (!book.opLog.accepting()) {
            throw new StoreException(
                    ErrorCode.METADATA_ERROR,
                    "the op-log is unreachable: puts are refused until it is back (reads go on)");
        }
        if (size <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "object size must be positive, was " + size);
        }
    }

    /**
     * The key's new PROCESSING entry, in the key's section: refused when the key is taken, the tenant's bytes
     * reserved first and handed back if the put fails here.
     *
     * @param given the ranges the object is to live in, or null to allocate them
     */
    private ObjectMeta started(
            String key,
            ObjectMeta existing,
            String clientId,
            long size,
            ReplicaConfig wanted,
            boolean upsert,
            long now,
            long discardMillis,
            List<Replica> given) {
        requireFree(key, existing, upsert, now, discardMillis);
        long reservedBytes = size * (given == null ? replicasWanted(wanted) : given.size());
        Tenants.Account account = book.index.tenants.reserve(key, reservedBytes, existing);
        try {
            ObjectMeta fresh = startedMeta(key, existing, clientId, size, wanted, now, discardMillis, given);
            Tenants.charged(fresh, account, reservedBytes);
            return fresh;
        } catch (RuntimeException e) {
            Tenants.unreserve(account, reservedBytes);
            throw e;
        }
    }

    /** Refuses a put of a key taken: first writer wins; an upsert only has to wait for a put in progress. */
    private static void requireFree(String key, ObjectMeta existing, boolean upsert, long now, long discardMillis) {
        if (existing == null) {
            return;
        }
        if (existing.state == ObjectState.PROCESSING && now - existing.putStartMillis < discardMillis) {
            throw upsert
                    ? new StoreException(
                            ErrorCode.REPLICA_IS_NOT_READY,
                            "a put of '" + key + "' is in progress; upsert again once it has ended")
                    : new StoreException(ErrorCode.OBJECT_ALREADY_EXISTS, "a put of '" + key + "' is in progress");
        }
        if (existing.state == ObjectState.COMPLETE && !upsert) {
            throw new StoreException(ErrorCode.OBJECT_ALREADY_EXISTS, "object '" + key + "' exists");
        }
    }

    /**
     * The new PROCESSING entry for a put of {@code key} whose entry is {@code existing} now, once {@link #requireFree}
     * let it go on (in the key's section), in the {@code given} ranges or in ranges allocated now (null).
     */
    private ObjectMeta startedMeta(
            String key,
            ObjectMeta existing,
            String clientId,
            long size,
            ReplicaConfig wanted,
            long now,
            long discardMillis,
            List<Replica> given) {
        ObjectMeta fresh;
        if (existing == null) {
            fresh = new ObjectMeta(key, size, clientId, now, placed(given, size, wanted, clientId));
        } else if (existing.state == ObjectState.PROCESSING) {
            // The earlier writer has been silent past the discard timeout: pre-empt it. Allocate first, so
            // that a failed allocation leaves its entry as it was.
            fresh = new ObjectMeta(key, size, clientId, now, placed(given, size, wanted, clientId));
            book.forget(existing);
        } else {
            fresh = overwrite(existing, clientId, size, wanted, now, given);
        }
        fresh.hardPin = wanted.hardPin();
        fresh.softPin = wanted.softPin();
        if (book.signsTickets()) {
            // The WRITE tickets handed out below are valid until then, whatever becomes of this put.
            fresh.writeGrantDeadlineMillis = now + discardMillis;
        }
        return fresh;
    }

    /**
     * Completes the put in memory and records it. @return the COMMIT's durability; for a put already complete (a
     * PutEnd repeated after a timeout), the same COMMIT's durability while the op-log has not confirmed it, else null
     */
    CompletableFuture<Void> commit(String clientId, String key, Long crc32c) {
        ObjectKeys.validate(key);
        @SuppressWarnings("unchecked")
        CompletableFuture<Void>[] durable = new CompletableFuture[1];
        book.index.update(key, (k, meta) -> {
            requireOwnedPut(meta, clientId, key);
            durable[0] = meta.state == ObjectState.PROCESSING ? complete(meta, crc32c) : meta.commitDurable;
            return meta;
        });
        return durable[0];
    }

    /** Makes a started put COMMITTED (in its key's section) and records it. @return the COMMIT's durability */
    private CompletableFuture<Void> complete(ObjectMeta meta, Long crc32c) {
        meta.state = ObjectState.COMPLETE;
        meta.crc32c = crc32c;
        meta.completedMillis = book.clock.millis();
        meta.lastAccessMillis = meta.completedMillis;
        meta.softPinDeadlineMillis =
                meta.completedMillis + book.settings.softPinTtl().toMillis();
        book.tally.complete.increment();
        book.processing.remove(meta.key, meta.putStartMillis);
        if (book.publishesVersions()) {
            meta.version = book.versions.publish(meta.replicas, book.leaseIds.next());
        }
        CompletableFuture<Void> durable = book.recordCommit(new OpLogEntry.Commit(
                meta.key,
                meta.size,
                meta.ownerClientId,
                ranges(meta.replicas),
                meta.hardPin,
                meta.softPin,
                meta.completedMillis,
                meta.crc32c));
        awaitingDurability(meta, durable);
        return durable;
    }

    /** Keeps the COMMIT's durability on the object until the op-log confirms it (retried PutEnds wait on it). */
    private static void awaitingDurability(ObjectMeta meta, CompletableFuture<Void> durable) {
        if (durable.isDone() && !durable.isCompletedExceptionally()) {
            return; // no op-log, or already confirmed
        }
        meta.commitDurable = durable;
        durable.thenRun(() -> meta.commitDurable = null);
    }

    /** Commits and waits until the commit is durable (a PutEnd is acknowledged only then). */
    Void end(String clientId, String key, Long crc32c) {
        CompletableFuture<Void> durable = commit(clientId, key, crc32c);
        if (durable != null) {
            Durability.await(durable, key);
        }
        return null;
    }

    Void revoke(String clientId, String key) {
        ObjectKeys.validate(key);
        book.index.update(key, (k, meta) -> {
            requireOwnedPut(meta, clientId, key);
            if (meta.state == ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "put of '" + key + "' already ended");
            }
            book.forget(meta);
            return null;
        });
        return null;
    }

    /**
     * Rewrites a complete object: in place when the size is unchanged and nobody reads it or holds a ticket for it,
     * else in new ranges while the old version waits for its readers (refused when too many versions of the key
     * already wait).
     */
    private ObjectMeta overwrite(
            ObjectMeta existing, String clientId, long size, ReplicaConfig wanted, long now, List<Replica> given) {
        book.versions.withdraw(existing); // before the writer gets the ranges (in place) or the old ones are freed
        List<Replica> live = existing.liveReplicas();
        ObjectMeta fresh;
        // In place only when no ticket reaches the range either: a rewrite in place revokes nothing.
        if (given == null && existing.size == size && existing.reusableAtMillis(now, true) <= now && !live.isEmpty()) {
            fresh = new ObjectMeta(existing.key, size, clientId, now, live);
        } else {
            if (existing.isLeased(now)
                    && book.deferred.leasedVersions(existing.key) >= book.settings.maxLeasedVersions()) {
                book.tally.leaseBlocks.increment();
                throw new StoreException(
                        ErrorCode.OBJECT_HAS_LEASE,
                        book.settings.maxLeasedVersions() + " earlier versions of '" + existing.key
                                + "' are still leased to readers; upsert again once they are read");
            }
            // Allocate before letting go, so a failed allocation leaves the old object intact (and logs nothing).
            fresh = new ObjectMeta(existing.key, size, clientId, now, placed(given, size, wanted, clientId));
            book.deferred.release(existing, now);
        }
        // How often the key is read belongs to the key, not the version: a rewrite starting at zero reads would be
        // LFU's first victim under overwrite-heavy load.
        fresh.accessCount = existing.accessCount;
        book.recordDrop(
                existing,
                ObjectEvent.Kind.REMOVED,
                ObjectBook.segmentsOf(existing)); // no longer a complete object until its PutEnd
        book.tally.complete.decrement();
        return fresh;
    }

    /** One range on each of up to replicaNum distinct segments: preferred ones first, then the strategy's order. */
    private int replicasWanted(ReplicaConfig config) {
        int wanted = config.replicaNum() == 0 ? book.settings.defaultReplicaNum() : config.replicaNum();
        if (wanted > MAX_REPLICAS) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS, "at most " + MAX_REPLICAS + " replicas per object, asked for " + wanted);
        }
        return wanted;
    }

    private List<Replica> placed(List<Replica> given, long size, ReplicaConfig config, String clientId) {
        return given != null ? given : allocateReplicas(size, config, clientId);
    }

    private List<Replica> allocateReplicas(long size, ReplicaConfig config, String clientId) {
        int wanted = replicasWanted(config);
        Collection<MountedSegment> order = placement.candidates(book.segments.mounted(), size, clientId);
        if (!config.preferredSegments().isEmpty()) {
            LinkedHashSet<MountedSegment> preferredFirst = new LinkedHashSet<>();
            for (String name : config.preferredSegments()) {
                MountedSegment preferred = book.segments.get(name);
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
        Tiering tiering = book.tiering;
        if (tiering != null && tiering.active() && pastWatermark(placed)) {
            tiering.wake(); // move objects to disk before puts find DRAM full (they would have to drop them)
        }
        if (placed.isEmpty()) {
            throw new StoreException(
                    ErrorCode.NO_AVAILABLE_HANDLE,
                    "no segment has " + size + " contiguous free bytes (capacity " + book.segments.capacityBytes()
                            + ", used " + book.segments.usedBytes() + ")");
        }
        return List.copyOf(placed);
    }

    private boolean pastWatermark(List<Replica> placed) {
        for (Replica replica : placed) {
            MountedSegment segment = replica.segment();
            if (segment.allocator().usedBytes() > segment.capacity() * Tiering.moveAbove(book.settings)) {
                return true;
            }
        }
        return false;
    }

    /** The op-log's record of where the replicas lie. */
    static List<OpLogEntry.Range> ranges(List<Replica> replicas) {
        OpLogEntry.Range[] ranges = new OpLogEntry.Range[replicas.size()];
        for (int i = 0; i < ranges.length; i++) {
            Replica r = replicas.get(i);
            ranges[i] = new OpLogEntry.Range(
                    r.segment().name(), r.range().offset(), r.range().length());
        }
        return List.of(ranges); // immutable already: the COMMIT keeps it without another copy
    }

    /** Whether some DRAM segment in use is as large as {@code size}: else no eviction or move can make room. */
    boolean fitsSomewhere(long size) {
        return size <= largestSegmentBytes();
    }

    private long largestSegmentBytes() {
        return book.segments.mounted().stream()
                .filter(MountedSegment::isMounted)
                .mapToLong(MountedSegment::capacity)
                .max()
                .orElse(0);
    }

    private static void requireOwnedPut(ObjectMeta meta, String clientId, String key) {
        if (meta == null) {
            throw ObjectBook.notFound(key);
        }
        if (!Objects.equals(meta.ownerClientId, clientId)) {
            throw new StoreException(ErrorCode.ILLEGAL_CLIENT, "put of '" + key + "' was started by another client");
        }
    }
}
