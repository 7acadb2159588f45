package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import io.smallrye.faulttolerance.api.Guard;
import io.smallrye.faulttolerance.standalone.StandaloneFaultTolerance;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Carries master calls across a failover with SmallRye Fault Tolerance, so callers see a delay instead of an
 * error while a standby takes over:
 * <ul>
 *   <li>retry with exponential back-off (50 ms doubling to 1 s, with jitter) for as long as the failover window,
 *       for attempts that end in {@link Retry} (the caller decides what is safe to repeat);</li>
 *   <li>a circuit breaker over transport failures, so a cluster with no reachable master is not hammered by every
 *       caller's retries: while it is open, attempts are held back and retried after the back-off;</li>
 *   <li>a timeout per retried attempt, a backstop over the call deadline that also bounds finding the leader.</li>
 * </ul>
 * When the window ends the caller gets the last attempt's error (its code says why).
 */
final class FailoverGuard {
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);
    private static final int BREAKER_VOLUME = 8;
    private static final double BREAKER_FAILURE_RATIO = 0.75;
    private static final Duration BREAKER_DELAY = Duration.ofMillis(500);

    /** Whether the fault-tolerance timer was started (once per process, by the first guard: at run time). */
    private static final AtomicBoolean TIMER_STARTED = new AtomicBoolean();

    /**
     * The standalone implementation starts its timer thread when first used, and a new thread inherits the daemon
     * flag of the thread that starts it: start it from a daemon thread, so that a process using the client can still
     * exit when its main thread ends. Done by the first guard, never in a static initializer, which a native image
     * runs at build time (a thread started then cannot exist in the image).
     */
    private static void startTimerOnce() {
        if (TIMER_STARTED.compareAndSet(false, true)) {
            Thread starter = Thread.ofPlatform().daemon().start(StandaloneFaultTolerance::timerAccess);
            try {
                starter.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private final Guard guard;

    /** An attempt that failed in a way a later attempt may fix; {@code transport} failures feed the breaker. */
    static final class Retry extends RuntimeException {
        final StoreException cause;
        final boolean transport;

        Retry(StoreException cause, boolean transport) {
            super(cause.getMessage(), cause, false, false);
            this.cause = cause;
            this.transport = transport;
        }
    }

    /**
     * @param attemptTimeout the longest one attempt may take
     * @param window         how long to keep retrying before giving up (should cover a leader election)
     */
    FailoverGuard(Duration attemptTimeout, Duration window) {
        startTimerOnce();
        guard = Guard.create()
                .withRetry()
                .maxRetries(-1)
                .maxDuration(window.toMillis(), ChronoUnit.MILLIS)
                .delay(50, ChronoUnit.MILLIS)
                .jitter(25, ChronoUnit.MILLIS)
                .withExponentialBackoff()
                .factor(2)
                .maxDelay(Math.min(MAX_BACKOFF.toMillis(), window.toMillis() / 2), ChronoUnit.MILLIS)
                .done()
                .whenException(FailoverGuard::worthRetrying)
                .done()
                .withCircuitBreaker()
                .requestVolumeThreshold(BREAKER_VOLUME)
                .failureRatio(BREAKER_FAILURE_RATIO)
                .delay(BREAKER_DELAY.toMillis(), ChronoUnit.MILLIS)
                .successThreshold(1)
                .when(failure -> failure instanceof Retry r && r.transport || failure instanceof TimeoutException)
                .done()
                .withTimeout()
                .duration(attemptTimeout.toMillis() + 1_000, ChronoUnit.MILLIS)
                .done()
                .build();
    }

    private static boolean worthRetrying(Throwable failure) {
        return failure instanceof Retry
                || failure instanceof CircuitBreakerOpenException
                || failure instanceof TimeoutException;
    }

    /**
     * Runs {@code attempt} until it returns, throws something other than {@link Retry}, or the window closes.
     * The first attempt runs bare: the guard's per-attempt timeout watcher and breaker bookkeeping cost a timer
     * task per call (a cost measured in DESIGN.md section 9), and an attempt is already bounded
     * by its own deadline. Only a call whose first attempt fails goes through the guard; the breaker then counts the
     * attempts of calls in trouble, which is what it is for.
     */
    <T> T call(Supplier<T> attempt) {
        try {
            return attempt.get();
        } catch (Retry first) {
            return guarded(attempt);
        }
    }

    @SuppressWarnings("unchecked")
    private <T> T guarded(Supplier<T> attempt) {
        try {
            return (T) guard.get((Supplier<Object>) attempt, Object.class);
        } catch (Retry last) {
            throw last.cause;
        } catch (CircuitBreakerOpenException open) {
            throw new StoreException(ErrorCode.RPC_FAIL, "no master answers (calls held back by the circuit breaker)");
        } catch (TimeoutException slow) {
            throw new StoreException(ErrorCode.RPC_TIMEOUT, "the master did not answer in time");
        }
    }
}
