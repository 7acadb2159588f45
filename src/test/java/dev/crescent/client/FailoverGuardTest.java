package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FailoverGuardTest {
    private final FailoverGuard guard = new FailoverGuard(Duration.ofSeconds(1), Duration.ofMillis(600));

    @Test
    void retriesUntilAnAttemptSucceeds() {
        AtomicInteger attempts = new AtomicInteger();
        String result = guard.call(() -> {
            if (attempts.incrementAndGet() < 3) {
                throw new FailoverGuard.Retry(new StoreException(ErrorCode.NOT_LEADER, "elsewhere"), false);
            }
            return "done";
        });
        assertEquals("done", result);
        assertEquals(3, attempts.get());
    }

    @Test
    void aFailureNotMarkedRetryIsThrownAtOnce() {
        AtomicInteger attempts = new AtomicInteger();
        StoreException notFound = new StoreException(ErrorCode.OBJECT_NOT_FOUND, "gone");
        StoreException thrown = assertThrows(
                StoreException.class,
                () -> guard.call(() -> {
                    attempts.incrementAndGet();
                    throw notFound;
                }));
        assertSame(notFound, thrown);
        assertEquals(1, attempts.get());
    }

    @Test
    void whenTheWindowClosesTheLastErrorIsThrown() {
        AtomicInteger attempts = new AtomicInteger();
        long started = System.nanoTime();
        StoreException thrown = assertThrows(
                StoreException.class,
                () -> guard.call(() -> {
                    throw new FailoverGuard.Retry(
                            new StoreException(ErrorCode.RPC_FAIL, "attempt " + attempts.incrementAndGet()), true);
                }));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(ErrorCode.RPC_FAIL, thrown.code());
        assertTrue(attempts.get() >= 3, "backed-off retries inside the window: " + attempts.get());
        assertTrue(elapsedMillis >= 400 && elapsedMillis < 3000, "gave up after the window: " + elapsedMillis + " ms");
    }

    @Test
    void itsTimerThreadDoesNotKeepAProcessAlive() {
        guard.call(() -> "warm");
        List<Thread> timers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("SmallRye Fault Tolerance Timer"))
                .toList();
        assertFalse(timers.isEmpty(), "the guard runs a timer thread");
        timers.forEach(t -> assertTrue(t.isDaemon(), t.getName() + " is a daemon thread"));
    }
}
