package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.SegmentTier;
import dev.crescent.transfer.TransferOp;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The disk tier: moves objects out of DRAM into workers' disk segments instead of dropping them, and back into DRAM
 * when they are read. One thread of its own does the copies (through the master's transfer engine), never a caller:
 * puts and gets run on the event loop, which may not wait on a peer.
 *
 * <p>A move makes a new version of the object with the new replicas (the same bytes, size, owner, pins, checksum
 * and access counts) and hands the old version to the deferred releases, exactly as an upsert does: a reader that
 * leased the old replicas keeps them until it is done, and the op-log records a {@link OpLogEntry.Move} before the
 * old range can be reused. A move whose object changed meanwhile (removed, upserted, evicted) is abandoned and its
 * new range freed.
 *
 * <p>Offloading runs while DRAM is above one eviction ratio below the high watermark (woken by the sweeper, and by
 * a put that filled a segment past it), in the eviction policy's order, an eviction ratio at a time. A put that finds
 * DRAM full before then evicts as before (it cannot wait for a copy). The disk tier evicts by the same policy, by
 * dropping, when it has no room for an object moving in.
 */
final class Tiering implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Tiering.class);
    /** How long the master's own tickets and leases for one move last. */
    private static final long MOVE_GRANT_MILLIS = 60_000;
    /** A marker in {@link #work} (no key is empty): look at the watermark. */
    private static final String OFFLOAD = "";
    /**
     * How long a put that found DRAM full waits for objects to move out before it evicts by dropping (well inside a
     * client's call timeout, 5 s by default).
     */
    static final long WAIT_FOR_ROOM_MILLIS = 2_000;

    private final ObjectBook book;
    private final Eviction dram;
    private final Eviction disk;
    private final ReplicaCopier copier;
    private final LinkedBlockingQueue<String> work = new LinkedBlockingQueue<>();
    /** Keys queued for promotion, so a key read often is queued once. */
    private final Set<String> promoting = ConcurrentHashMap.newKeySet();
    /** An offload pass is queued: a put past the watermark asks once, however many puts there are. */
    private final AtomicBoolean offloadQueued = new AtomicBoolean();
    /** Puts waiting for room, tried again after each offload pass. */
    private final ConcurrentLinkedQueue<Waiting<?>> waiting = new ConcurrentLinkedQueue<>();

    /** A put waiting for room: tried again after each pass, and with {@code lastResort} once its time is up. */
    private record Waiting<T>(
            Supplier<T> attempt, Supplier<T> lastResort, long deadlineMillis, CompletableFuture<T> result) {

        /** @return whether it is settled (placed, or failed for good) */
        boolean retry(boolean passFreedRoom, long nowMillis) {
            try {
                if (!passFreedRoom || nowMillis >= deadlineMillis) {
                    result.complete(lastResort.get());
                    return true;
                }
                result.complete(attempt.get());
                return true;
            } catch (StoreException e) {
                if (e.code() == ErrorCode.NO_AVAILABLE_HANDLE && passFreedRoom && nowMillis < deadlineMillis) {
                    return false;
                }
                result.completeExceptionally(e);
                return true;
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
                return true;
            }
        }
    }

    private final Thread thread;
    private volatile boolean running = true;

    Tiering(ObjectBook book, EvictionPolicy policy, ReplicaCopier copier) {
        this.book = book;
        this.copier = copier;
        this.dram = new Eviction(book.index, policy, book.clock, book.tally, Tiering::inDram, null);
        this.disk = new Eviction(
                book.index,
                policy,
                book.clock,
                book.tally,
                Tiering::onDiskOnly,
                victim -> book.forget(victim, ObjectEvent.Kind.EVICTED));
        this.thread = Thread.ofPlatform().name("crescent-tiering").daemon().start(this::run);
    }

    /** Objects with a replica in DRAM in use: what DRAM eviction looks at (evicting others frees no room). */
    static boolean inDram(ObjectMeta meta) {
        return meta.hasLiveReplica(SegmentTier.DRAM);
    }

    /** Objects the disk tier holds and DRAM does not: what the disk tier's eviction looks at. */
    static boolean onDiskOnly(ObjectMeta meta) {
        return meta.hasLiveReplica(SegmentTier.DISK) && !meta.hasLiveReplica(SegmentTier.DRAM);
    }

    /** Whether there is a disk tier to move objects to. */
    boolean active() {
        return !book.segments.disk().isEmpty();
    }

    /** Asks the tiering thread to look at DRAM use (cheap: a put calls it). */
    void wake() {
        if (offloadQueued.compareAndSet(false, true)) {
            work.offer(OFFLOAD);
        }
    }

    /**
     * Runs {@code attempt} (a put that does not evict by dropping); when DRAM has no room for it, tries it again after
     * each pass of this thread, which moves objects to disk, and runs {@code lastResort} (a put that evicts by
     * dropping) once a pass frees nothing or {@link #WAIT_FOR_ROOM_MILLIS} have passed.
     */
    <T> CompletableFuture<T> whenRoom(Supplier<T> attempt, Supplier<T> lastResort) {
        try {
            return CompletableFuture.completedFuture(attempt.get());
        } catch (StoreException e) {
            if (e.code() != ErrorCode.NO_AVAILABLE_HANDLE) {
                throw e;
            }
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        waiting.add(new Waiting<>(attempt, lastResort, book.clock.millis() + WAIT_FOR_ROOM_MILLIS, result));
        if (!running) {
            refuseWaiting(); // closed meanwhile: its thread will not look at this one
        }
        wake();
        return result;
    }

    /**
     * What a put that may be waiting for room ({@link #whenRoom}) comes to, waited for: only off the event loop. The
     * wait is bounded: a waiting put is settled at the first pass past {@link #WAIT_FOR_ROOM_MILLIS}, or refused when
     * the master stops.
     */
    static <T> T placed(CompletableFuture<T> placing) {
        try {
            return placing.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
    }

    /** A get found {@code key} on disk only: bring it back to DRAM when there is room, in the background. */
    void promoteLater(String key) {
        if (promoting.add(key)) {
            work.offer(key);
        }
    }

    private void run() {
        while (running) {
            try {
                String next = work.take();
                if (!active()) {
                    promoting.remove(next);
                    offloadQueued.set(false);
                    retryWaiting(false);
                    continue;
                }
                if (next.equals(OFFLOAD)) {
                    offloadQueued.set(false);
                    long freed = offloadAboveWatermark();
                    if (freed == 0 && !waiting.isEmpty()) {
                        // Below the line, yet a put does not fit (freed ranges lie apart, or it is large): move
                        // objects for it rather than let it drop them.
                        freed = offload();
                    }
                    retryWaiting(freed > 0);
                } else {
                    promoting.remove(next);
                    promote(next);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("tiering failed", e);
            }
        }
    }

    /** Tries the waiting puts again; those still without room wait for the next pass, which is asked for. */
    private void retryWaiting(boolean passFreedRoom) {
        long now = book.clock.millis();
        List<Waiting<?>> still = new ArrayList<>();
        for (Waiting<?> put = waiting.poll(); put != null; put = waiting.poll()) {
            if (!put.retry(passFreedRoom, now)) {
                still.add(put);
            }
        }
        if (!still.isEmpty()) {
            waiting.addAll(still);
            wake();
        }
    }

    /**
     * The share of DRAM above which objects move to disk: one eviction ratio below the high watermark, so that puts
     * arriving faster than objects move still find room before DRAM is full (where they would have to drop).
     */
    static double moveAbove(MasterSettings settings) {
        return Math.max(0, settings.evictionHighWatermark() - settings.evictionRatio());
    }

    /** Moves objects to disk, in the eviction policy's order, while DRAM is above {@link #moveAbove}. */
    long offloadAboveWatermark() {
        long capacity = book.segments.capacityBytes();
        long used = book.segments.usedBytes();
        if (capacity == 0 || used <= capacity * moveAbove(book.settings)) {
            return 0;
        }
        return offload();
    }

    /** Moves one eviction ratio of DRAM to disk, in the eviction policy's order; @return the DRAM bytes freed */
    private long offload() {
        Tenants tenants = book.index.tenants;
        return dram.evict(
                (long) (book.segments.capacityBytes() * book.settings.evictionRatio()),
                key -> tenants.mayEvict(key, null),
                this::offload);
    }

    /** @return DRAM bytes freed by moving {@code key} to disk, or 0 when it did not move */
    long offload(String key) {
        Predicate<ObjectMeta> movable = meta -> meta.state == ObjectState.COMPLETE
                && !meta.hardPin
                && inDram(meta)
                && !meta.isLeased(book.clock.millis());
        return move(key, movable, SegmentTier.DISK);
    }

    /** Brings a disk-only object back to DRAM if some DRAM segment has room for it now (nothing is evicted). */
    boolean promote(String key) {
        return move(key, meta -> meta.state == ObjectState.COMPLETE && onDiskOnly(meta), SegmentTier.DRAM) > 0;
    }

    /** @return the bytes the object's earlier replicas held (freed once its readers are done), 0: it did not move */
    private long move(String key, Predicate<ObjectMeta> movable, SegmentTier to) {
        long now = book.clock.millis();
        long deadline = now + MOVE_GRANT_MILLIS;
        ObjectMeta[] moving = new ObjectMeta[1];
        long[] lease = new long[1];
        book.index.update(key, (k, meta) -> {
            if (meta != null && movable.test(meta) && !meta.liveReplicas().isEmpty()) {
                // Leased while its bytes are copied: nothing reuses its memory meanwhile, even if it is removed.
                lease[0] = meta.leases.grant(book.leaseIds.next(), deadline, now);
                moving[0] = meta;
            }
            return meta;
        });
        ObjectMeta meta = moving[0];
        if (meta == null) {
            return 0;
        }
        // Each replica moves to a segment of its own in the other tier (near it when one is on its host), so an
        // object keeps as many copies as it had wherever it is; with fewer segments of room, it keeps fewer.
        List<Replica> sources = meta.liveReplicas();
        List<Replica> targets = allocate(meta.size, to, sources);
        if (targets.isEmpty()) {
            endLease(meta, lease[0]);
            return 0;
        }
        for (int i = 0; i < targets.size(); i++) {
            Replica target = targets.get(i);
            try {
                copier.copy(
                        describe(sources.get(i), TransferOp.READ, deadline),
                        describe(target, TransferOp.WRITE, deadline),
                        meta.size);
            } catch (StoreException e) {
                LOG.warnf("moving %s to %s failed: %s", key, target.segment().name(), e.getMessage());
                targets.forEach(Replica::release);
                endLease(meta, lease[0]);
                return 0;
            }
        }
        boolean[] moved = new boolean[1];
        try {
            book.index.update(key, (k, current) -> {
                if (current != meta) {
                    return current; // removed, replaced or evicted while its bytes moved
                }
                ObjectMeta next = meta.movedTo(List.copyOf(targets));
                book.opLog.record(new OpLogEntry.Move(key, PutPath.ranges(next.replicas)));
                meta.leases.release(lease[0]);
                book.versions.withdraw(meta);
                book.deferred.release(meta, book.clock.millis());
                moved[0] = true;
                return next;
            });
        } catch (RuntimeException e) {
            // The op-log refused the move (this master no longer leads): the object stays where it was.
            LOG.warnf(
                    "moving %s to %s not recorded: %s",
                    key, targets.getFirst().segment().name(), e.getMessage());
        }
        if (!moved[0]) {
            targets.forEach(Replica::release);
            endLease(meta, lease[0]);
            return 0;
        }
        (to == SegmentTier.DISK ? book.tally.offloaded : book.tally.promoted).increment();
        return meta.size * meta.replicas.size();
    }

    private void endLease(ObjectMeta meta, long leaseId) {
        boolean[] found = new boolean[1];
        book.index.update(meta.key, (k, current) -> {
            found[0] = current == meta && meta.leases.release(leaseId);
            return current;
        });
        if (!found[0]) {
            book.deferred.endLease(meta.key, leaseId, book.clock.millis());
        }
    }

    /**
     * Ranges in {@code tier} for the replicas {@code near}, in their order, each on a segment of its own and on the
     * same host as its replica where one has room; fewer when fewer segments have room (none: empty). DRAM takes only
     * free room; a full disk tier evicts its own objects to make room for the first.
     */
    private List<Replica> allocate(long size, SegmentTier tier, List<Replica> near) {
        List<Replica> placed = new ArrayList<>(near.size());
        for (Replica replica : near) {
            Replica one = allocateOnce(size, tier, replica, placed);
            if (one == null && placed.isEmpty() && tier == SegmentTier.DISK) {
                Tenants tenants = book.index.tenants;
                disk.evict(size, key -> tenants.mayEvict(key, null), null);
                one = allocateOnce(size, tier, replica, placed);
            }
            if (one == null) {
                break;
            }
            placed.add(one);
        }
        return placed;
    }

    private Replica allocateOnce(long size, SegmentTier tier, Replica near, List<Replica> taken) {
        List<MountedSegment> candidates =
                new ArrayList<>(tier == SegmentTier.DISK ? book.segments.disk() : book.segments.mounted());
        candidates.removeIf(segment -> taken.stream().anyMatch(r -> r.segment() == segment));
        String host = PeerAddress.parse(near.segment().endpoint()).hostId();
        candidates.sort((a, b) -> Boolean.compare(!sameHost(a, host), !sameHost(b, host)));
        for (MountedSegment segment : candidates) {
            Allocation range = segment.allocate(size);
            if (range != null) {
                return new Replica(segment, range);
            }
        }
        return null;
    }

    private static boolean sameHost(MountedSegment segment, String hostId) {
        return Objects.equals(PeerAddress.parse(segment.endpoint()).hostId(), hostId);
    }

    private dev.crescent.protocol.ReplicaDescriptor describe(Replica replica, TransferOp op, long deadline) {
        return book.describe(List.of(replica), op, deadline).getFirst();
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        refuseWaiting();
    }

    /** Refuses the puts waiting for room: no pass will come to settle them. */
    private void refuseWaiting() {
        StoreException stopping = new StoreException(ErrorCode.NOT_LEADER, "this master is stopping");
        for (Waiting<?> put = waiting.poll(); put != null; put = waiting.poll()) {
            put.result().completeExceptionally(stopping);
        }
    }
}
