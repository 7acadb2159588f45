package dev.crescent.transfer.rdma;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Per-NIC (rail) error tracking: after {@code threshold} failures in a row a rail is paused for {@code pause}, so
 * slices go to the other rails instead of timing out one after another on a bad link; one success clears the
 * count. A paused rail is tried again when its pause ends.
 */
public final class RailHealth {
    private final int threshold;
    private final long pauseNanos;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<String, State> rails = new ConcurrentHashMap<>();

    private static final class State {
        int failuresInARow;
        long pausedUntil;
    }

    public RailHealth(int threshold, Duration pause, LongSupplier nanoClock) {
        this.threshold = Math.max(1, threshold);
        this.pauseNanos = pause.toNanos();
        this.nanoClock = nanoClock;
    }

    public boolean usable(String rail) {
        State state = rails.get(rail);
        if (state == null) {
            return true;
        }
        synchronized (state) {
            return state.pausedUntil == 0 || nanoClock.getAsLong() - state.pausedUntil >= 0;
        }
    }

    /** @return whether this failure paused the rail */
    public boolean failed(String rail) {
        State state = rails.computeIfAbsent(rail, r -> new State());
        synchronized (state) {
            state.failuresInARow++;
            if (state.failuresInARow >= threshold) {
                state.failuresInARow = 0;
                state.pausedUntil = nanoClock.getAsLong() + pauseNanos;
                return true;
            }
            return false;
        }
    }

    public void succeeded(String rail) {
        State state = rails.get(rail);
        if (state != null) {
            synchronized (state) {
                state.failuresInARow = 0;
                state.pausedUntil = 0;
            }
        }
    }
}
