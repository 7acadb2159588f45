package dev.crescent.transfer.rdma;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One thread per device that polls its completion queue and hands each completion's status to the callback
 * registered under its work request id. It spins while work is in flight and parks when there is none (woken by
 * the next {@link #expect}), so an idle device costs no CPU and a busy one sees completions within microseconds.
 */
final class CompletionPoller implements AutoCloseable {
    private static final int BATCH = 32;
    private static final AtomicLong IDS = new AtomicLong();
    private final RdmaShim shim;
    private final MemorySegment cq;
    private final ConcurrentHashMap<Long, IntConsumer> pending = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile boolean parked;

    CompletionPoller(RdmaShim shim, String device, MemorySegment cq) {
        this.shim = shim;
        this.cq = cq;
        this.thread = Thread.ofPlatform()
                .name("crescent-rdma-poll-" + device)
                .daemon()
                .start(this::run);
    }

    /** A new work request id whose completion status goes to {@code onComplete}. */
    long expect(IntConsumer onComplete) {
        long id = IDS.incrementAndGet();
        pending.put(id, onComplete);
        if (parked) {
            LockSupport.unpark(thread);
        }
        return id;
    }

    /** Forgets a work request that was never posted. */
    void forget(long id) {
        pending.remove(id);
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment completions = arena.allocate(RdmaShim.COMPLETION, BATCH);
            long stride = RdmaShim.COMPLETION.byteSize();
            while (running) {
                int n = shim.pollCq(cq, BATCH, completions);
                for (int i = 0; i < n; i++) {
                    long id = completions.get(JAVA_LONG, i * stride);
                    int status = completions.get(JAVA_INT, i * stride + 8);
                    IntConsumer callback = pending.remove(id);
                    if (callback != null) {
                        callback.accept(status);
                    }
                }
                if (n == 0) {
                    if (pending.isEmpty()) {
                        parked = true;
                        if (pending.isEmpty()) { // re-checked after announcing: an expect() in between unparks us
                            LockSupport.parkNanos(100_000_000);
                        }
                        parked = false;
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
