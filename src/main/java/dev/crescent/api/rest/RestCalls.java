package dev.crescent.api.rest;

import dev.crescent.api.Callers;
import dev.crescent.api.OpMetrics;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.AccessControl;
import dev.crescent.protocol.KeyResult;
import io.vertx.core.http.HttpServerRequest;
import jakarta.inject.Singleton;

import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What every REST call does around its action: the key's form, the access check for the caller, and the op
 * metric. Errors leave as they are thrown; {@link RestErrors} gives them their status and JSON body.
 */
@Singleton
public class RestCalls {
    private static final String API = "rest";

    private final OpMetrics metrics;
    private final AccessControl access;

    public RestCalls(OpMetrics metrics, AccessControl access) {
        this.metrics = metrics;
        this.access = access;
    }

    /**
     * @param right what the caller needs on {@code key}
     * @param key   the object key the call touches (validated first), or null for a call on no key
     */
    public <T> T call(String op, HttpServerRequest request, Right right, String key, Supplier<T> action) {
        return measured(op, () -> {
            String checked = key == null ? null : ObjectKeys.validate(key);
            access.check(() -> Callers.of(request), right, checked);
            return action.get();
        });
    }

    /** A batch: the keys the caller may touch go to {@code op}; the others answer PERMISSION_DENIED in place. */
    public <T> List<KeyResult<T>> batch(
            String op,
            HttpServerRequest request,
            Right right,
            List<String> keys,
            Function<List<String>, List<KeyResult<T>>> action) {
        return measured(
                op,
                () -> access.enabled()
                        ? access.checkEach(
                                Callers.of(request),
                                right,
                                keys,
                                allowed -> action.apply(
                                        allowed.stream().map(keys::get).toList()))
                        : action.apply(keys));
    }

    private <T> T measured(String op, Supplier<T> action) {
        try {
            T result = action.get();
            metrics.record(API, op, ErrorCode.OK);
            return result;
        } catch (StoreException e) {
            metrics.record(API, op, e.code());
            throw e;
        }
    }
}
