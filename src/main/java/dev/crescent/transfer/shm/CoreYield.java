package dev.crescent.transfer.shm;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Yielding a core while another thread's answer is a few microseconds away, as long as that costs little: the
 * threads that take the core meanwhile are the waiter's own kind (callers copying their values, the ring's server).
 * When another process wants the core, a yield hands it a whole time slice (milliseconds: beside two busy processes,
 * 64 KiB puts over a ring whose callers always yielded fell to 1.9k/s, where callers that slept made 36.6k/s), so a
 * yield that comes back that late turns yielding off for a while, and the waiter sleeps at once meanwhile, which the
 * scheduler wakes promptly.
 *
 * <p>How long it stays off grows while yields keep losing: a late yield also comes from a moment's stall that is
 * over by the next one (a collection's pause in either process, the master's collector taking both cores): the
 * thirty-first round counted 8-11 a second under 64 KiB puts over a ring on a quiet host, where a flat 50 ms off
 * then left yielding off about 40 % of the time and callers slept on 12-17 % of their calls (1-3 % now). So it is
 * off for {@link #SHORTEST_OFF_NANOS} first, twice as long each time a yield loses again soon after yielding came
 * back on, up to {@link #LONGEST_OFF_NANOS} (a busy neighbour then costs one lost slice per that while, as before),
 * and short again once a loss comes long after the last. Yields that were away during the same stall count once.
 */
public final class CoreYield {
    /** A yield slower than this lost the core to another process: the longest of our own copies is far shorter. */
    static final long LOST_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** How long yielding stays off after a loss that follows none soon before it: past a stall, yielding pays. */
    static final long SHORTEST_OFF_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /**
     * How long it stays off at most, and how soon after coming back on a loss counts as the same busy host: one lost
     * slice per while costs a busy host little.
     */
    static final long LONGEST_OFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final LongSupplier clock;
    private final Runnable yield;
    /** When the last loss turned yielding off. */
    private volatile long offSince;
    /** Until when yielding is off. */
    private volatile long offUntil;

    public CoreYield() {
        this(System::nanoTime, Thread::yield);
    }

    CoreYield(LongSupplier clock, Runnable yield) {
        this.clock = clock;
        this.yield = yield;
        this.offSince = clock.getAsLong() - LONGEST_OFF_NANOS; // on, and no loss soon before the first
        this.offUntil = offSince;
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
            if (before - offSince >= 0) { // else it began before the loss that turned yielding off: the same stall
                long off = after - offUntil < LONGEST_OFF_NANOS
                        ? Math.clamp(2 * (offUntil - offSince), SHORTEST_OFF_NANOS, LONGEST_OFF_NANOS)
                        : SHORTEST_OFF_NANOS;
                offUntil = after + off;
                offSince = after;
            }
            return false;
        }
        return true;
    }
}
