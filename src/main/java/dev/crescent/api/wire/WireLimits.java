package dev.crescent.api.wire;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What master wire connections may hold: a hello and every frame must arrive within {@code frameTimeout}, and the
 * bytes of unfinished frames across all connections stay within {@code budgetBytes} (reserved when a frame's length
 * arrives, before its bytes are buffered).
 */
final class WireLimits {
    private final Duration frameTimeout;
    private final long budgetBytes;
    private final AtomicLong reserved = new AtomicLong();

    WireLimits(Duration frameTimeout, long budgetBytes) {
        this.frameTimeout = frameTimeout;
        this.budgetBytes = budgetBytes;
    }

    long frameTimeoutMillis() {
        return Math.max(1, frameTimeout.toMillis());
    }

    /** @return whether {@code bytes} more fit in the budget (and are now reserved) */
    boolean reserve(long bytes) {
        while (true) {
            long now = reserved.get();
            if (now + bytes > budgetBytes) {
                return false;
            }
            if (reserved.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        reserved.addAndGet(-bytes);
    }
}
