package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting for a COMMIT to be durable in the op-log, bounded: a PutEnd is acknowledged only once it is. */
final class Durability {
    static final long TIMEOUT_SECONDS = 5;

    private Durability() {}

    /** The COMMIT's durability, failing with METADATA_ERROR if the op-log does not confirm it in time. */
    static CompletableFuture<Void> orError(CompletableFuture<Void> durable, String key) {
        return durable.orTimeout(TIMEOUT_SECONDS, TimeUnit.SECONDS).handle((ok, failure) -> {
            if (failure != null) {
                throw notDurable(
                        key, failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure);
            }
            return null;
        });
    }

    /** Waits on the calling thread (outside the key's atomic section). */
    static void await(CompletableFuture<Void> durable, String key) {
        try {
            orError(durable, key).join();
        } catch (CompletionException e) {
            throw (StoreException) e.getCause();
        }
    }

    private static StoreException notDurable(String key, Throwable why) {
        String reason = why instanceof TimeoutException
                ? "no answer from the op-log in " + TIMEOUT_SECONDS + " s"
                : String.valueOf(why.getMessage());
        return new StoreException(
                ErrorCode.METADATA_ERROR,
                "put of '" + key + "' is not durable yet (" + reason
                        + "); it becomes durable once the op-log is reachable");
    }
}
