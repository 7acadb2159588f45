package dev.crescent.common;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;

/** The two thread idioms every component here needs, in one place. */
public final class Threads {
    private Threads() {}

    /** A one-thread scheduler on a named daemon thread: background work never keeps the JVM alive. */
    public static ScheduledExecutorService daemonScheduler(String name) {
        return Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name(name).daemon().factory());
    }

    /**
     * Waits until {@code done} holds or {@code timeout} passes (graceful drains poll cheap counters).
     *
     * @return whether {@code done} held
     */
    public static boolean awaitCondition(BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return done.getAsBoolean();
            }
        }
        return true;
    }

    /** Pauses the calling thread, keeping an interrupt for its caller to see. */
    public static void sleepQuietly(Duration pause) {
        try {
            Thread.sleep(pause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
