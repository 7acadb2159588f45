package dev.crescent.master;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Requests and failures per master operation, counted where the operation runs, so every entry point (gRPC, the
 * in-process gateway) is counted once and alike.
 */
public final class MasterCounters {
    private final LongAdder[] requests = adders();
    private final LongAdder[] failures = adders();

    <T> T count(MasterOp op, Supplier<T> action) {
        requests[op.ordinal()].increment();
        try {
            return action.get();
        } catch (RuntimeException e) {
            failures[op.ordinal()].increment();
            throw e;
        }
    }

    void count(MasterOp op, Runnable action) {
        count(op, () -> {
            action.run();
            return null;
        });
    }

    public long requests(MasterOp op) {
        return requests[op.ordinal()].sum();
    }

    public long failures(MasterOp op) {
        return failures[op.ordinal()].sum();
    }

    private static LongAdder[] adders() {
        LongAdder[] adders = new LongAdder[MasterOp.values().length];
        for (int i = 0; i < adders.length; i++) {
            adders[i] = new LongAdder();
        }
        return adders;
    }
}
