package dev.crescent.api.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.crescent.client.StoreClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ReplicaConfig;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;

import java.lang.foreign.MemorySegment;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Batch forms of the object gateway, JSON in and out (values base64): one call for many keys, one result per key
 * in order, and a bad or forbidden key never fails the others. Meant for callers without a transfer engine and
 * for small values; large objects go through {@code /v1/objects} or a client.
 */
@Path("/v1/batch")
@Consumes(MediaType.APPLICATION_JSON)
@Produces(MediaType.APPLICATION_JSON)
public class BatchResource {
    /** More keys than this in one call is refused: it bounds a request's memory and the master's batch. */
    static final int MAX_KEYS = 4096;

    private final StoreClient store;
    private final RestCalls rest;

    public BatchResource(StoreClient store, RestCalls rest) {
        this.store = store;
        this.rest = rest;
    }

    @RegisterForReflection
    public record KeysRequest(List<String> keys, Boolean force) {}

    @RegisterForReflection
    public record PutObject(String key, String value) {}

    @RegisterForReflection
    public record PutRequest(List<PutObject> objects, boolean upsert, int replicas) {}

    /** One key's outcome: code 0 and the op's answer, or the error's code, name and message. */
    @RegisterForReflection
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Item(String key, int code, String error, String message, Boolean exists, String value) {
        static <T> Item of(KeyResult<T> result, Function<T, Item> ok) {
            if (result.ok()) {
                return ok.apply(result.value());
            }
            ErrorCode code = result.code();
            return new Item(
                    result.key(), code.number(), code.name(), result.error().getMessage(), null, null);
        }
    }

    @RegisterForReflection
    public record Reply(List<Item> results) {}

    @POST
    @Path("exists")
    public Reply exists(KeysRequest request, @Context HttpServerRequest http) {
        List<String> keys = keys(request == null ? null : request.keys());
        return measured(
                "batch_exists",
                keys,
                Right.READ,
                http,
                allowed -> store.batchExists(allowed),
                (key, exists) -> new Item(key, 0, null, null, exists, null));
    }

    @POST
    @Path("get")
    public Reply get(KeysRequest request, @Context HttpServerRequest http) {
        List<String> keys = keys(request == null ? null : request.keys());
        Base64.Encoder base64 = Base64.getEncoder();
        return measured(
                "batch_get",
                keys,
                Right.READ,
                http,
                allowed -> store.batchGet(allowed),
                (key, bytes) -> new Item(key, 0, null, null, null, base64.encodeToString(bytes)));
    }

    /** Forced by default, like DELETE on one object. */
    @POST
    @Path("remove")
    public Reply remove(KeysRequest request, @Context HttpServerRequest http) {
        List<String> keys = keys(request == null ? null : request.keys());
        boolean force = request.force() == null || request.force();
        return measured(
                "batch_remove",
                keys,
                Right.WRITE,
                http,
                allowed -> store.batchRemove(allowed, force),
                (key, none) -> new Item(key, 0, null, null, null, null));
    }

    @POST
    @Path("put")
    public Reply put(PutRequest request, @Context HttpServerRequest http) {
        List<PutObject> objects = request == null || request.objects() == null ? List.of() : request.objects();
        for (int i = 0; i < objects.size(); i++) {
            if (objects.get(i) == null) {
                throw new StoreException(ErrorCode.INVALID_PARAMS, "objects[" + i + "] is null");
            }
        }
        List<String> keys = keys(objects.stream().map(PutObject::key).toList());
        Map<String, List<MemorySegment>> values = new HashMap<>();
        Map<String, StoreException> undecodable = new HashMap<>();
        Base64.Decoder base64 = Base64.getDecoder();
        for (PutObject object : objects) {
            try {
                byte[] bytes = object.value() == null ? new byte[0] : base64.decode(object.value());
                values.put(object.key(), List.of(MemorySegment.ofArray(bytes)));
            } catch (IllegalArgumentException e) {
                undecodable.put(
                        object.key(),
                        new StoreException(ErrorCode.INVALID_PARAMS, "value of '" + object.key() + "' is not base64"));
            }
        }
        ReplicaConfig config = ReplicaConfig.replicas(request.replicas());
        // Keys are unique per call, so each allowed key finds its own value; a value that is not base64 fails only
        // its own key.
        return measured(
                "batch_put",
                keys,
                Right.WRITE,
                http,
                allowed -> {
                    List<String> decoded = allowed.stream()
                            .filter(key -> !undecodable.containsKey(key))
                            .toList();
                    Map<String, KeyResult<Void>> stored = new HashMap<>();
                    store.batchPut(decoded, decoded.stream().map(values::get).toList(), config, request.upsert())
                            .forEach(result -> stored.put(result.key(), result));
                    return allowed.stream()
                            .map(key -> undecodable.containsKey(key)
                                    ? new KeyResult<Void>(key, null, undecodable.get(key))
                                    : stored.get(key))
                            .toList();
                },
                (key, none) -> new Item(key, 0, null, null, null, null));
    }

    private <T> Reply measured(
            String op,
            List<String> keys,
            Right right,
            HttpServerRequest http,
            Function<List<String>, List<KeyResult<T>>> run,
            KeyAnswer<T> answer) {
        List<KeyResult<T>> results = rest.batch(op, http, right, keys, run);
        return new Reply(results.stream()
                .map(r -> Item.of(r, value -> answer.item(r.key(), value)))
                .toList());
    }

    private interface KeyAnswer<T> {
        Item item(String key, T value);
    }

    private static List<String> keys(List<String> keys) {
        if (keys == null || keys.isEmpty()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "no keys given");
        }
        if (keys.size() > MAX_KEYS) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, keys.size() + " keys in one call; at most " + MAX_KEYS);
        }
        if (keys.stream().distinct().count() != keys.size()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "a key appears twice in one call");
        }
        return keys;
    }
}
