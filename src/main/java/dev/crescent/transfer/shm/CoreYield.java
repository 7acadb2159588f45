package dev.crescent.transfer.shm;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Yielding a core while another thread's answer is a few microseconds away, as long as that costs little: the
 * threads that take the core meanwhile are the waiter's own kind (callers copying their values, the ring's server).
 * When another process wants the core, a yield hands it a whole time slice (milliseconds: beside two busy processes,
 * 64 KiB puts over a ring whose callers always yielded fell to 1.9k/s, where callers that slept made 36.6k/s), so a
 * yield that comes back that late turns yielding off for a while, and the waiter sleeps at once meanwhile, which the
 * scheduler wakes promptly. A pause of the JVM's own (a collection) looks the same and costs the same short while.
 */
public final class CoreYield {
    /** A yield slower than this lost the core to another process: the longest of our own copies is far shorter. */
    static final long LOST_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** How long yielding stays off after that: one lost slice per while costs a busy host little. */
    static final long OFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final LongSupplier clock;
    private final Runnable yield;
    private volatile long offUntil;

    public CoreYield() {
        this(System::nanoTime, Thread::yield);
    }

    CoreYield(LongSupplier clock, Runnable yield) {
        this.clock = clock;
        this.yield = yield;
        this.offUntil = clock.getAsLong();
    }

    /** Yields the core once, unless yielding is off. @return whether it yielded and may again */
    public boolean yieldOnce() {
        long before = clock.getAsLong();
        if (before - offUntil < 0) {
            return false;
        }
        yield.run();
        long after = clock.getAsLong();
        if (after - before > LOST_NANOS) {
            offUntil = after + OFF_NANOS;
            return false;
        }
        return true;
    }
}
