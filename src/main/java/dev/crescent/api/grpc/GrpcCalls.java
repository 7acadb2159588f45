package dev.crescent.api.grpc;

import dev.crescent.api.OpMetrics;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.AccessControl;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.KeyResult;
import io.grpc.StatusRuntimeException;
import io.smallrye.mutiny.Uni;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What every gRPC call of a service does around its action: a precondition (e.g. this node runs the master),
 * the access check for the caller {@link CallerInterceptor} recorded, the op metric, and errors mapped to a
 * status with the Crescent code.
 */
final class GrpcCalls {
    private static final String API = "grpc";

    private final OpMetrics metrics;
    private final AccessControl access;
    private final Runnable precondition;

    GrpcCalls(OpMetrics metrics, AccessControl access, Runnable precondition) {
        this.metrics = metrics;
        this.access = access;
        this.precondition = precondition;
    }

    /**
     * @param right the right the call needs on {@code key} (on no key when null); a null right means the action
     *              checks per key itself (batches, through {@link #checked})
     */
    <T> Uni<T> call(String op, Right right, String key, Supplier<T> action) {
        return Uni.createFrom().item(() -> run(op, right, key, action));
    }

    /**
     * {@link #call} as a future, without Mutiny's operators (the wire's hot calls: on a 4 KiB put they cost more
     * than the put itself); a refusal or failure fails it, mapped as {@link #failed} maps.
     */
    <T> CompletableFuture<T> now(String op, Right right, String key, Supplier<T> action) {
        try {
            return CompletableFuture.completedFuture(run(op, right, key, action));
        } catch (RuntimeException refused) {
            return CompletableFuture.failedFuture(refused); // counted and mapped by run
        }
    }

    /**
     * {@link #now} of an action that answers with a future of its own (a put, once durable): that future's failure
     * is counted as {@code answeredAs} and mapped as {@link #failed} maps.
     */
    <T> CompletableFuture<T> later(
            String op, String answeredAs, Right right, String key, Supplier<CompletableFuture<T>> action) {
        CompletableFuture<T> started;
        try {
            started = run(op, right, key, action);
        } catch (RuntimeException refused) {
            return CompletableFuture.failedFuture(refused);
        }
        if (started.isDone() && !started.isCompletedExceptionally()) {
            return started; // answered already (no op-log to wait on): nothing to map
        }
        return started.exceptionallyCompose(failure -> {
            Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
            return CompletableFuture.failedFuture(
                    cause instanceof StatusRuntimeException mapped ? mapped : failed(answeredAs, cause));
        });
    }

    /** {@link #call} run now, on the calling thread. */
    <T> T run(String op, Right right, String key, Supplier<T> action) {
        try {
            precondition.run();
            if (right != null) {
                access.check(CallerInterceptor.current(), right, key);
            }
            T result = action.get();
            metrics.record(API, op, ErrorCode.OK);
            return result;
        } catch (RuntimeException e) {
            throw failed(op, e);
        }
    }

    /** The access check alone, for the caller {@link CallerInterceptor} recorded (throws when refused). */
    void check(Right right, String key) {
        access.check(CallerInterceptor.current(), right, key);
    }

    /** Counts a failure of {@code op} and maps it to the status the caller receives. */
    RuntimeException failed(String op, Throwable e) {
        metrics.record(API, op, e instanceof StoreException s ? s.code() : ErrorCode.INTERNAL_ERROR);
        return GrpcErrors.toStatus(e);
    }

    /** A batch of the keys the caller may touch; the others answer PERMISSION_DENIED in place. */
    <T> List<KeyResult<T>> checked(Right right, List<String> keys, Function<List<String>, List<KeyResult<T>>> op) {
        return access.checkEach(
                CallerInterceptor.current(),
                right,
                keys,
                allowed -> op.apply(allowed.stream().map(keys::get).toList()));
    }
}
