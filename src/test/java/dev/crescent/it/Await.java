package dev.crescent.it;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Waiting for other processes to reach a state, and signalling them, for the multi-process tests. */
final class Await {
    private Await() {}

    static void await(BooleanSupplier condition, int seconds) throws InterruptedException {
        await("condition", condition, seconds);
    }

    /** Polls {@code condition} every 100 ms; fails naming {@code what} if it does not hold within the time. */
    static void await(String what, BooleanSupplier condition, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + seconds + " s");
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    /** As {@link #await(String, BooleanSupplier, int)}, failing with the logs of {@code shown} (what went wrong). */
    static void await(String what, BooleanSupplier condition, int seconds, CrescentProcess... shown)
            throws InterruptedException {
        try {
            await(what, condition, seconds);
        } catch (AssertionError e) {
            StringBuilder logs = new StringBuilder(e.getMessage());
            for (CrescentProcess process : shown) {
                logs.append("\n--- log of ")
                        .append(process.name())
                        .append(":\n")
                        .append(process.log());
            }
            throw new AssertionError(logs.toString(), e);
        }
    }

    /** {@code kill -<signal> <pid>} (STOP, CONT...): what a frozen or resumed process looks like to its peers. */
    static void signal(String signal, long pid) throws Exception {
        assertEquals(
                0,
                new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                        .start()
                        .waitFor(),
                "kill -" + signal);
    }
}
