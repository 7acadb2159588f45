package dev.crescent.master;

import dev.crescent.transfer.SegmentTier;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * What the master knows of one object. Instances are only changed inside the index's per-key atomic sections
 * ({@link ObjectIndex}), which is what makes the plain fields safe.
 */
final class ObjectMeta {
    final String key;
    final long size;
    ObjectState state = ObjectState.PROCESSING;
    String ownerClientId;
    long putStartMillis;
    List<Replica> replicas;
    /** Readers of this version: its memory is not reused while one may still be reading. */
    final ObjectLeases leases = new ObjectLeases();
    /**
     * Until then a READ ticket for this object's ranges may still be used (0: none was handed out). A ticket cannot
     * be called back, so it outlives the lease its reader released: memory is not reused before it expires.
     */
    volatile long readTicketsUntilMillis;
    /** Until then a WRITE ticket for this object's ranges may still be used (0: none was handed out). */
    volatile long writeGrantDeadlineMillis;
    /**
     * 1 once this version's memory has been given back (a version leaving the index is freed exactly once). A field
     * with a static updater, not an object per version: the index holds every stored object.
     */
    private volatile int freed;

    private static final AtomicIntegerFieldUpdater<ObjectMeta> FREED =
            AtomicIntegerFieldUpdater.newUpdater(ObjectMeta.class, "freed");

    long completedMillis;
    long lastAccessMillis;
    long accessCount;
    /** Never evicted. */
    boolean hardPin;
    /** CRC32C of the bytes, when the writer recorded one at PutEnd; else null. */
    Long crc32c;
    /** Evicted last while {@link #softPinDeadlineMillis} lies ahead; each read renews the deadline. */
    boolean softPin;

    long softPinDeadlineMillis;

    /**
     * The durability of this object's COMMIT while the op-log has not confirmed it (null once it has, or without an
     * op-log): a PutEnd repeated after a timeout must wait on it too, not acknowledge a commit that may be lost.
     */
    volatile CompletableFuture<Void> commitDurable;

    /** This version as published for readers that cache locations ({@link ObjectVersions}); 0: not published. */
    long version;

    /**
     * The space this version was put in ({@link PutSpaces}), so a repeat of that put start is known as one; 0: none.
     * Set in the section that inserts the version, as complete.
     */
    long madeInSpace;

    /** The tenant account this object's bytes are charged to, and how many ({@link Tenants}); null: none. */
    Tenants.Account chargedTo;

    long chargedBytes;

    ObjectMeta(String key, long size, String ownerClientId, long putStartMillis, List<Replica> replicas) {
        this.key = key;
        this.size = size;
        this.ownerClientId = ownerClientId;
        this.putStartMillis = putStartMillis;
        this.replicas = replicas;
    }

    /**
     * A new version of this complete object whose bytes now lie in {@code moved} (another tier): the same key, size,
     * owner, pins, checksum, access history and space it was put in (a repeat of that put start is still known as
     * one), no leases and no published version.
     */
    ObjectMeta movedTo(List<Replica> moved) {
        ObjectMeta next = new ObjectMeta(key, size, ownerClientId, putStartMillis, moved);
        next.state = state;
        next.completedMillis = completedMillis;
        next.lastAccessMillis = lastAccessMillis;
        next.accessCount = accessCount;
        next.hardPin = hardPin;
        next.crc32c = crc32c;
        next.softPin = softPin;
        next.softPinDeadlineMillis = softPinDeadlineMillis;
        next.madeInSpace = madeInSpace;
        next.commitDurable = commitDurable; // a repeated PutEnd still waits for the commit to be durable
        return next;
    }

    boolean isLeased(long nowMillis) {
        return leases.isLeased(nowMillis);
    }

    /**
     * The earliest time its memory may be handed out again, as far as is known now: every lease held now has ended
     * by it (a lease released sooner brings it forward) and, when {@code ticketsHoldMemory}, no ticket is valid
     * past it.
     */
    long reusableAtMillis(long nowMillis, boolean ticketsHoldMemory) {
        long leased = leases.isLeased(nowMillis) ? leases.lastDeadlineMillis() : 0;
        return ticketsHoldMemory
                ? Math.max(leased, Math.max(readTicketsUntilMillis, writeGrantDeadlineMillis))
                : leased;
    }

    /** @return true exactly once: the caller gives this version's memory back */
    boolean claimFree() {
        return FREED.compareAndSet(this, 0, 1);
    }

    boolean isSoftPinned(long nowMillis) {
        return softPin && softPinDeadlineMillis > nowMillis;
    }

    /** Whether a replica lies on a segment in use, of any tier: the object can be read. */
    boolean hasLiveReplica() {
        return hasLiveReplica(null);
    }

    /** Whether a replica lies on a mounted segment of {@code tier} (null: of any tier). */
    boolean hasLiveReplica(SegmentTier tier) {
        for (Replica replica : replicas) {
            if ((tier == null || replica.segment().tier() == tier)
                    && replica.segment().isMounted()) {
                return true;
            }
        }
        return false;
    }

    /** How many replicas lie on segments of {@code tier}, in use or not. */
    int replicasIn(SegmentTier tier) {
        int in = 0;
        for (Replica replica : replicas) {
            if (replica.segment().tier() == tier) {
                in++;
            }
        }
        return in;
    }

    /** The replicas on mounted segments (a loop, not a stream: every read and upsert asks, on the event loop). */
    List<Replica> liveReplicas() {
        List<Replica> live = new ArrayList<>(replicas.size());
        for (Replica replica : replicas) {
            if (replica.segment().isMounted()) {
                live.add(replica);
            }
        }
        return live;
    }

    ObjectInfo info() {
        return new ObjectInfo(
                key,
                size,
                state,
                ownerClientId,
                replicas.stream().map(Replica::describe).toList(),
                putStartMillis,
                completedMillis,
                lastAccessMillis,
                accessCount,
                leases.lastDeadlineMillis(),
                hardPin,
                softPin ? softPinDeadlineMillis : 0);
    }
}
