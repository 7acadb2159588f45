package dev.crescent.master;

import java.util.List;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.function.Consumer;

/**
 * Memory of objects that left the index while a reader may still be reading it, or a writer may still hold a
 * WRITE ticket for it. Such ranges are never handed out before every lease and grant on them has ended: they wait
 * here, earliest deadline first, until {@link #freeDue} finds that time passed. (A grant that outlived its
 * reservation would let its holder overwrite whatever object is placed there next.)
 */
final class DeferredReleases {
    private final PriorityBlockingQueue<Deferred> queue = new PriorityBlockingQueue<>();
    private final ObjectTally tally;
    /** Gives ranges back to their segments (after scrubbing them, when the master scrubs). */
    private final Consumer<List<Replica>> free;

    DeferredReleases(ObjectTally tally, Consumer<List<Replica>> free) {
        this.tally = tally;
        this.free = free;
    }

    /** Tries {@code replicas} again at {@code atMillis} (their scrub failed). */
    void retry(List<Replica> replicas, long atMillis) {
        queue.add(new Deferred(atMillis, replicas));
    }

    /** Frees the object's ranges now, or once its read lease and write grant end. */
    void release(ObjectMeta meta, long nowMillis) {
        long reusableAt = meta.reusableAtMillis();
        if (reusableAt > nowMillis) {
            tally.leaseBlocks.increment();
            queue.add(new Deferred(reusableAt, meta.replicas));
        } else {
            free.accept(meta.replicas);
        }
    }

    /** Frees every range whose lease has ended by {@code nowMillis}. */
    void freeDue(long nowMillis) {
        for (Deferred head = queue.peek(); head != null && head.deadlineMillis <= nowMillis; head = queue.peek()) {
            Deferred due = queue.poll();
            if (due != null) {
                free.accept(due.replicas);
            }
        }
    }

    private record Deferred(long deadlineMillis, List<Replica> replicas) implements Comparable<Deferred> {
        @Override
        public int compareTo(Deferred other) {
            return Long.compare(deadlineMillis, other.deadlineMillis);
        }
    }
}
