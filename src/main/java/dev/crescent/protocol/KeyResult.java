package dev.crescent.protocol;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One key's answer inside a batch: a value, or the error that key met. A batch never fails as a whole because
 * one of its keys did.
 */
public record KeyResult<T>(String key, T value, StoreException error) {

    public boolean ok() {
        return error == null;
    }

    public ErrorCode code() {
        return error == null ? ErrorCode.OK : error.code();
    }

    /** Runs {@code op} for {@code key}: its value, or the StoreException it threw. */
    public static <T> KeyResult<T> of(String key, Supplier<T> op) {
        try {
            return new KeyResult<>(key, op.get(), null);
        } catch (StoreException e) {
            return new KeyResult<>(key, null, e);
        }
    }

    /**
     * The outcome of a key's started operation once its future has completed: the refusal it met when starting, else
     * the future's value or the StoreException it failed with (any other failure as INTERNAL_ERROR).
     */
    public static <T> KeyResult<T> settled(KeyResult<CompletableFuture<T>> started) {
        if (!started.ok()) {
            return new KeyResult<>(started.key(), null, started.error());
        }
        return of(started.key(), () -> {
            try {
                return started.value().join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof StoreException s
                        ? s
                        : new StoreException(ErrorCode.INTERNAL_ERROR, String.valueOf(e.getCause()), e.getCause());
            }
        });
    }

    /** Runs {@code op} for every key, collecting each key's value or StoreException in key order. */
    public static <T> List<KeyResult<T>> each(List<String> keys, Function<String, T> op) {
        List<KeyResult<T>> results = new ArrayList<>(keys.size());
        for (String key : keys) {
            results.add(of(key, () -> op.apply(key)));
        }
        return results;
    }
}
