package dev.crescent.master;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Memory of versions that left the index while a reader may still be reading them, or a ticket for them may still
 * be used. Such ranges are never handed out before every lease and ticket on them has ended. A version waits here
 * by key until its last reader releases its lease ({@link #endLease}), and, as the safety net for readers that never
 * do, in a queue by deadline that {@link #freeDue} walks. (A grant that outlived its reservation would let its
 * holder overwrite whatever object is placed there next.)
 */
final class DeferredReleases {
    private final PriorityBlockingQueue<Deferred> queue = new PriorityBlockingQueue<>();
    /** Versions still leased to readers, by key: a release finds its version here once the key has moved on. */
    private final ConcurrentHashMap<String, List<ObjectMeta>> leased = new ConcurrentHashMap<>();

    private final ObjectTally tally;
    /** Gives ranges back to their segments (after scrubbing them, when the master scrubs). */
    private final Consumer<List<Replica>> free;
    /** Whether tickets handed out hold memory until they expire (nothing revokes them). */
    private final BooleanSupplier ticketsHoldMemory;

    DeferredReleases(ObjectTally tally, Consumer<List<Replica>> free, BooleanSupplier ticketsHoldMemory) {
        this.tally = tally;
        this.free = free;
        this.ticketsHoldMemory = ticketsHoldMemory;
    }

    /** Tries {@code replicas} again at {@code atMillis} (their scrub failed). */
    void retry(List<Replica> replicas, long atMillis) {
        queue.add(new Deferred(atMillis, null, replicas));
    }

    /**
     * Frees a version leaving the index now, or once its leases and tickets end. Called inside the key's atomic
     * section, as is the index lookup a release makes before it comes here ({@code ReadLeases.release}): so a
     * release either finds the version still in the index, or finds it here, never neither.
     */
    void release(ObjectMeta meta, long nowMillis) {
        long reusableAt = meta.reusableAtMillis(nowMillis, ticketsHoldMemory.getAsBoolean());
        if (reusableAt <= nowMillis) {
            freeOnce(meta);
            return;
        }
        tally.leaseBlocks.increment();
        if (meta.isLeased(nowMillis)) {
            leased.computeIfAbsent(meta.key, k -> new CopyOnWriteArrayList<>()).add(meta);
        }
        queue.add(new Deferred(reusableAt, meta, meta.replicas));
    }

    /**
     * Ends a lease on a version that left the index: once it was the last, the memory is freed now (or when the
     * tickets handed out for it expire). @return whether the lease was found here
     */
    boolean endLease(String key, long leaseId, long nowMillis) {
        List<ObjectMeta> versions = leased.get(key);
        if (versions == null) {
            return false;
        }
        for (ObjectMeta meta : versions) {
            if (meta.leases.release(leaseId)) {
                settle(meta, nowMillis);
                return true;
            }
        }
        return false;
    }

    /** How many versions of {@code key} wait for their readers. */
    int leasedVersions(String key) {
        List<ObjectMeta> versions = leased.get(key);
        return versions == null ? 0 : versions.size();
    }

    /** Frees every version and range whose leases and tickets have ended by {@code nowMillis}. */
    void freeDue(long nowMillis) {
        for (Deferred head = queue.peek(); head != null && head.atMillis <= nowMillis; head = queue.peek()) {
            Deferred due = queue.poll();
            if (due == null) {
                continue;
            }
            if (due.meta == null) {
                free.accept(due.replicas);
            } else {
                settle(due.meta, nowMillis);
            }
        }
    }

    /** A waiting version whose leases may have ended: freed if nothing holds it, else due again later. */
    private void settle(ObjectMeta meta, long nowMillis) {
        if (meta.isLeased(nowMillis)) {
            return; // its queue entry (at its last deadline) is still ahead
        }
        forgetLeased(meta);
        long reusableAt = meta.reusableAtMillis(nowMillis, ticketsHoldMemory.getAsBoolean());
        if (reusableAt <= nowMillis) {
            freeOnce(meta);
        } else {
            queue.add(new Deferred(reusableAt, meta, meta.replicas)); // tickets outlive the lease
        }
    }

    private void forgetLeased(ObjectMeta meta) {
        leased.computeIfPresent(meta.key, (k, versions) -> {
            versions.remove(meta);
            return versions.isEmpty() ? null : versions;
        });
    }

    private void freeOnce(ObjectMeta meta) {
        if (meta.claimFree()) {
            free.accept(meta.replicas);
        }
    }

    /** Ranges due at {@code atMillis}: a version's (re-checked then), or bare ranges whose scrub is retried. */
    private record Deferred(long atMillis, ObjectMeta meta, List<Replica> replicas) implements Comparable<Deferred> {
        @Override
        public int compareTo(Deferred other) {
            return Long.compare(atMillis, other.atMillis);
        }
    }
}
