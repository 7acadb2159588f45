package dev.crescent.api.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.crescent.api.ObjectSizeLimit;
import dev.crescent.api.OpMetrics;
import dev.crescent.client.StoreClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.master.access.AccessControl;
import dev.crescent.protocol.ProtoMapping;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.proto.BatchExistResponse;
import dev.crescent.protocol.proto.BatchGetItem;
import dev.crescent.protocol.proto.BatchGetResponse;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.BatchPutItem;
import dev.crescent.protocol.proto.BatchPutRequest;
import dev.crescent.protocol.proto.BatchStatusResponse;
import dev.crescent.protocol.proto.Empty;
import dev.crescent.protocol.proto.ExistResponse;
import dev.crescent.protocol.proto.GetChunk;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.ObjectService;
import dev.crescent.protocol.proto.PutChunk;
import dev.crescent.protocol.proto.PutHeader;
import dev.crescent.protocol.proto.RemoveRequest;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * gRPC object gateway: the bytes travel inside the calls, for callers without a transfer engine. A put arrives
 * as a stream of chunks and is stored as one object assembled from them (no concatenating copy); a get leaves in
 * chunks of at most {@link #CHUNK} bytes that wrap the object's array (no copy either). Runs on worker threads:
 * every call moves bytes through the transfer engine.
 */
@GrpcService
@Blocking
public class ObjectGrpcService implements ObjectService {
    /** Stays well under gRPC's default 4 MiB message limit on the receiving side. */
    static final int CHUNK = 1 << 20;

    private final StoreClient store;
    private final GrpcCalls calls;
    private final long maxObjectBytes;

    public ObjectGrpcService(StoreClient store, OpMetrics metrics, AccessControl access, CrescentConfig config) {
        this.store = store;
        this.calls = new GrpcCalls(metrics, access, () -> {});
        this.maxObjectBytes = config.api().maxObjectSize().asLongValue();
    }

    /**
     * Stores the chunks as one object. The first chunk's header is checked (the caller's WRITE right, the announced
     * size) before anything is kept, and a stream that sends more than it announced fails at once: nothing is
     * buffered that could not be stored.
     */
    @Override
    public Uni<Empty> put(Multi<PutChunk> chunks) {
        IncomingObject object = new IncomingObject();
        return chunks.onItem()
                .invoke(object::add)
                .collect()
                .last()
                .onItem()
                .transform(last -> calls.run("object_put", Right.WRITE, object.key(), () -> {
                    store.put(object.key(), object.parts(), object.config(), object.header.getUpsert());
                    return Empty.getDefaultInstance();
                }))
                .onFailure(failure -> !(failure instanceof StatusRuntimeException))
                .transform(failure -> calls.failed("object_put", failure));
    }

    /** The chunks of one put as they arrive, kept only once their header has been checked. */
    private final class IncomingObject {
        private PutHeader header = PutHeader.getDefaultInstance();
        private final List<MemorySegment> parts = new ArrayList<>();
        private long received;

        void add(PutChunk chunk) {
            if (parts.isEmpty() && received == 0) {
                header = chunk.getHeader();
                calls.check(Right.WRITE, ObjectKeys.validate(header.getKey()));
                ObjectSizeLimit.check(header.getSize(), maxObjectBytes);
            }
            if (!chunk.getData().isEmpty()) {
                received += chunk.getData().size();
                if (received > header.getSize()) {
                    throw sizeMismatch();
                }
                parts.add(MemorySegment.ofBuffer(chunk.getData().asReadOnlyByteBuffer()));
            }
        }

        String key() {
            return header.getKey();
        }

        List<MemorySegment> parts() {
            if (received != header.getSize()) {
                throw sizeMismatch();
            }
            return parts;
        }

        ReplicaConfig config() {
            return ObjectGrpcService.config(header.hasConfig(), header.getConfig());
        }

        private StoreException sizeMismatch() {
            return new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "header says " + header.getSize() + " bytes but the chunks hold " + received
                            + (received > header.getSize() ? " or more" : ""));
        }
    }

    @Override
    public Multi<GetChunk> get(KeyRequest request) {
        return Multi.createFrom().iterable(() -> {
            byte[] value = calls.run("object_get", Right.READ, request.getKey(), () -> store.get(request.getKey()));
            List<GetChunk> chunks = new ArrayList<>(value.length / CHUNK + 1);
            for (int offset = 0; offset < value.length || offset == 0; offset += CHUNK) {
                GetChunk.Builder chunk = GetChunk.newBuilder()
                        .setData(
                                UnsafeByteOperations.unsafeWrap(value, offset, Math.min(CHUNK, value.length - offset)));
                chunks.add(offset == 0 ? chunk.setSize(value.length).build() : chunk.build());
            }
            return chunks.iterator();
        });
    }

    @Override
    public Uni<ExistResponse> exist(KeyRequest request) {
        return calls.call(
                "object_exist",
                Right.READ,
                request.getKey(),
                () -> ExistResponse.newBuilder()
                        .setExists(store.exists(request.getKey()))
                        .build());
    }

    @Override
    public Uni<Empty> remove(RemoveRequest request) {
        return calls.call("object_remove", Right.WRITE, request.getKey(), () -> {
            store.remove(request.getKey(), request.getForce());
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public Uni<BatchStatusResponse> batchPut(BatchPutRequest request) {
        return calls.call("object_batch_put", null, null, () -> {
            Map<String, List<MemorySegment>> values = new HashMap<>();
            for (BatchPutItem item : request.getObjectsList()) {
                if (values.put(
                                item.getKey(),
                                List.of(MemorySegment.ofBuffer(item.getValue().asReadOnlyByteBuffer())))
                        != null) {
                    throw new StoreException(ErrorCode.INVALID_PARAMS, "key '" + item.getKey() + "' appears twice");
                }
            }
            List<String> keys =
                    request.getObjectsList().stream().map(BatchPutItem::getKey).toList();
            ReplicaConfig config = config(request.hasConfig(), request.getConfig());
            return ProtoMapping.statuses(calls.checked(
                    Right.WRITE,
                    keys,
                    allowed -> store.batchPut(
                            allowed, allowed.stream().map(values::get).toList(), config, request.getUpsert())));
        });
    }

    @Override
    public Uni<BatchGetResponse> batchGet(BatchKeysRequest request) {
        return calls.call(
                "object_batch_get",
                null,
                null,
                () -> BatchGetResponse.newBuilder()
                        .addAllItems(calls.checked(Right.READ, request.getKeysList(), store::batchGet).stream()
                                .map(r -> BatchGetItem.newBuilder()
                                        .setStatus(ProtoMapping.status(r))
                                        .setValue(
                                                r.ok() ? UnsafeByteOperations.unsafeWrap(r.value()) : ByteString.EMPTY)
                                        .build())
                                .toList())
                        .build());
    }

    @Override
    public Uni<BatchExistResponse> batchExist(BatchKeysRequest request) {
        return calls.call(
                "object_batch_exist",
                null,
                null,
                () -> ProtoMapping.exists(calls.checked(Right.READ, request.getKeysList(), store::batchExists)));
    }

    @Override
    public Uni<BatchStatusResponse> batchRemove(BatchKeysRequest request) {
        return calls.call(
                "object_batch_remove",
                null,
                null,
                () -> ProtoMapping.statuses(calls.checked(
                        Right.WRITE, request.getKeysList(), keys -> store.batchRemove(keys, request.getForce()))));
    }

    private static ReplicaConfig config(boolean given, dev.crescent.protocol.proto.ReplicaConfig config) {
        return given ? ProtoMapping.fromProto(config) : ReplicaConfig.DEFAULT;
    }
}
