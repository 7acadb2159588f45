package dev.crescent.master;

import java.util.concurrent.CompletableFuture;

/**
 * Where the master records its durable changes, in order. The master calls {@link #record} inside the atomic
 * section of the change it records (so the log order is the order changes happened) and waits for the returned
 * future outside it, where it must (a PutEnd is acknowledged only once its COMMIT is durable).
 */
public interface OpLog {

    /** A single master with nothing to replicate to. */
    OpLog NONE = new OpLog() {
        @Override
        public CompletableFuture<Void> record(OpLogEntry op) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public boolean accepting() {
            return true;
        }

        @Override
        public boolean journalsEvents() {
            return false;
        }
    };

    /** @return completes once the op is durable; fails when it cannot become so */
    CompletableFuture<Void> record(OpLogEntry op);

    /** False while changes cannot be made durable (the log is unreachable): new writes are refused at once. */
    boolean accepting();

    /**
     * Whether the object events of what this log made durable are journaled by its mirror (a replicated op-log,
     * whose events every master numbers alike); if not, the master journals each change as it records it.
     */
    default boolean journalsEvents() {
        return true;
    }
}
