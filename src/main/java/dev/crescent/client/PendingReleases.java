package dev.crescent.client;

import dev.crescent.common.Threads;
import dev.crescent.protocol.ReadLease;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Read leases whose transfers are over, on their way back to a remote master. They ride on the next call that can
 * carry them (a get or a put start, which a busy reader makes anyway: no extra round trip), and when no such call
 * comes within {@link #FLUSH_AFTER_MICROS} they go in a call of their own, so an idle reader holds memory for
 * about that long instead of a lease TTL. A release that is lost (its call failed) only means that lease ends by
 * its deadline.
 */
final class PendingReleases implements AutoCloseable {
    /** At most this many ride on one call (the master's batch limit is far above). */
    static final int MAX_CARRIED = 4096;

    private static final long FLUSH_AFTER_MICROS = 2_000;

    private final ConcurrentLinkedQueue<ReadLease> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    /** Held while releases are on their way, so {@link #sendNow} also waits for the timer's. */
    private final ReentrantLock sending = new ReentrantLock();
    /** Sends releases in a call of their own. */
    private final Consumer<List<ReadLease>> send;

    private ScheduledExecutorService timer;
    private boolean closed;

    PendingReleases(Consumer<List<ReadLease>> send) {
        this.send = send;
    }

    void add(Collection<ReadLease> leases) {
        if (leases.isEmpty()) {
            return;
        }
        queue.addAll(leases);
        if (flushScheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    /** Takes up to {@link #MAX_CARRIED} waiting releases for a call to carry. */
    List<ReadLease> drain() {
        if (queue.isEmpty()) {
            return List.of();
        }
        List<ReadLease> drained = new ArrayList<>();
        for (ReadLease next = queue.poll(); next != null; next = drained.size() < MAX_CARRIED ? queue.poll() : null) {
            drained.add(next);
        }
        return drained;
    }

    private synchronized void schedule() {
        if (closed) {
            return;
        }
        if (timer == null) {
            timer = Threads.daemonScheduler("crescent-lease-release");
        }
        timer.schedule(this::flush, FLUSH_AFTER_MICROS, TimeUnit.MICROSECONDS);
    }

    /** Sends what no call carried. Cleared before draining, so a release added meanwhile schedules another. */
    private void flush() {
        flushScheduled.set(false);
        sendNow();
    }

    /**
     * Sends every release waiting, and returns once a flush the timer has under way is over too: a caller about to
     * remove objects it has just read must not meet its own finished reads' leases at the master.
     */
    void sendNow() {
        sending.lock();
        try {
            for (List<ReadLease> drained = drain(); !drained.isEmpty(); drained = drain()) {
                send.accept(drained);
            }
        } catch (RuntimeException e) {
            // The master is away: these leases end by their deadlines.
        } finally {
            sending.unlock();
        }
    }

    /** Sends what is waiting, then stops the timer. */
    @Override
    public void close() {
        ScheduledExecutorService stopping;
        synchronized (this) {
            closed = true;
            stopping = timer;
            timer = null;
        }
        if (stopping != null) {
            stopping.shutdownNow();
        }
        flush();
    }
}
