package dev.crescent.api.grpc;

import dev.crescent.api.NodeReadiness;
import dev.crescent.api.OpMetrics;
import dev.crescent.api.RoleGuard;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.Right;
import dev.crescent.common.StoreException;
import dev.crescent.master.InlineValues;
import dev.crescent.master.Master;
import dev.crescent.master.access.AccessControl;
import dev.crescent.protocol.ArrivingValue;
import dev.crescent.protocol.ArrivingValues;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ProtoMapping;
import dev.crescent.protocol.PutSpace;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.StartedPut;
import dev.crescent.protocol.proto.BatchExistResponse;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchGetReplicaListResponse;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.BatchPutStartItem;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import dev.crescent.protocol.proto.BatchPutStartResponse;
import dev.crescent.protocol.proto.BatchStatusResponse;
import dev.crescent.protocol.proto.Empty;
import dev.crescent.protocol.proto.ExistResponse;
import dev.crescent.protocol.proto.GetReplicaListRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.HeartbeatRequest;
import dev.crescent.protocol.proto.HeartbeatResponse;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.LeaseRelease;
import dev.crescent.protocol.proto.MasterService;
import dev.crescent.protocol.proto.MountSegmentRequest;
import dev.crescent.protocol.proto.PutEndRequest;
import dev.crescent.protocol.proto.PutRevokeRequest;
import dev.crescent.protocol.proto.PutStartRequest;
import dev.crescent.protocol.proto.PutStartResponse;
import dev.crescent.protocol.proto.ReleaseLeasesRequest;
import dev.crescent.protocol.proto.RemountSegmentsRequest;
import dev.crescent.protocol.proto.RemoveAllRequest;
import dev.crescent.protocol.proto.RemoveAllResponse;
import dev.crescent.protocol.proto.RemoveRequest;
import dev.crescent.protocol.proto.ServiceReadyResponse;
import dev.crescent.protocol.proto.UnmountSegmentRequest;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.common.annotation.NonBlocking;
import io.smallrye.mutiny.Uni;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * gRPC adapter of the master: check access, delegate, map errors. Every call is checked against the access
 * whitelist with the caller {@link CallerInterceptor} recorded. The hot calls touch only memory (microseconds),
 * so they run on the event loop, sparing a thread hand-off each; PutEnd answers when its op-log entry is durable
 * without holding the loop. Calls that may wait (mounts publish to the metadata store, batch PutEnd waits for
 * durability, RemoveAll walks the whole index) run on worker threads.
 */
@GrpcService
@Blocking // the default: calls that may wait on the metadata store (mounts) or on durability (batch PutEnd)
public class MasterGrpcService implements MasterService {
    private static final Empty EMPTY = Empty.getDefaultInstance();

    private final Master master;
    private final RoleGuard role;
    private final NodeReadiness worker;
    private final AccessControl access;
    private final GrpcCalls calls;
    private final InlineValues inline;

    public MasterGrpcService(
            Master master,
            InlineValues inline,
            RoleGuard role,
            NodeReadiness worker,
            OpMetrics metrics,
            AccessControl access) {
        this.master = master;
        this.inline = inline;
        this.role = role;
        this.worker = worker;
        this.access = access;
        this.calls = new GrpcCalls(metrics, access, role::requireMaster);
    }

    @Override
    @NonBlocking
    public Uni<PutStartResponse> putStart(PutStartRequest request) {
        return Uni.createFrom().completionStage(() -> putStartAsync(request));
    }

    /** {@link #putStart} as a future: the wire's call, without Mutiny's operators. */
    public CompletableFuture<PutStartResponse> putStartAsync(PutStartRequest request) {
        return putStartAsync(request, null);
    }

    /**
     * {@link #putStartAsync} of a request whose value was kept out of its message where it was read: {@code value},
     * when not null, stands for the request's value field. It must stay as it is until the answer.
     */
    public CompletableFuture<PutStartResponse> putStartAsync(PutStartRequest request, MemorySegment value) {
        return start("put_start", request, request.getUpsert(), value);
    }

    @Override
    @NonBlocking
    public Uni<PutStartResponse> upsertStart(PutStartRequest request) {
        return Uni.createFrom().completionStage(() -> upsertStartAsync(request));
    }

    /** {@link #upsertStart} as a future: the wire's call, without Mutiny's operators. */
    public CompletableFuture<PutStartResponse> upsertStartAsync(PutStartRequest request) {
        return upsertStartAsync(request, null);
    }

    /** {@link #upsertStartAsync} of a request whose value was kept out of its message, as {@link #putStartAsync}'s. */
    public CompletableFuture<PutStartResponse> upsertStartAsync(PutStartRequest request, MemorySegment value) {
        return start("upsert_start", request, true, value);
    }

    /**
     * {@link #putStartAsync} of a request whose value is still arriving on its caller's connection: read straight into
     * the object's memory once placed, and the put committed in this call when the master reaches that memory.
     */
    public CompletableFuture<PutStartResponse> putStartArriving(PutStartRequest request, ArrivingValue value) {
        return arriving("put_start", request, request.getUpsert(), value);
    }

    /** {@link #upsertStartAsync} of a request whose value is still arriving, as {@link #putStartArriving}'s. */
    public CompletableFuture<PutStartResponse> upsertStartArriving(PutStartRequest request, ArrivingValue value) {
        return arriving("upsert_start", request, true, value);
    }

    private CompletableFuture<PutStartResponse> arriving(
            String op, PutStartRequest request, boolean upsert, ArrivingValue value) {
        return started(op, "put_start_durable", request, () -> {
                    InlineValues.requireValueSize(request.getKey(), request.getSize(), value.byteSize());
                    if (request.getInSpace() != 0) {
                        throw new StoreException(
                                ErrorCode.INVALID_PARAMS, "a put start with its bytes and a space named too");
                    }
                    return inline.putStartArriving(
                            request.getClientId(),
                            request.getKey(),
                            value,
                            replicaConfig(request),
                            upsert,
                            crc32c(request));
                })
                .thenApply(answer -> answered(request, answer));
    }

    /** A put start; {@code value}, when not null, stands for the request's value field. */
    private CompletableFuture<PutStartResponse> start(
            String op, PutStartRequest request, boolean upsert, MemorySegment value) {
        MemorySegment bytes = value != null
                ? value
                : request.getValue().isEmpty() ? null : ProtoMapping.segmentOf(request.getValue());
        CompletableFuture<StartedPut> started;
        if (request.getInSpace() != 0) {
            started = started(
                    op,
                    "put_start_durable",
                    request,
                    () -> master.putStartInSpace(
                            request.getClientId(),
                            request.getKey(),
                            request.getInSpace(),
                            request.getSize(),
                            replicaConfig(request),
                            upsert,
                            crc32c(request)));
        } else if (bytes != null && bytes.byteSize() != 0) {
            // Committed by the master when it can write the bytes, answered once durable.
            started = started(op, "put_start_durable", request, () -> {
                InlineValues.requireValueSize(request.getKey(), request.getSize(), bytes.byteSize());
                return inline.putStart(
                        request.getClientId(),
                        request.getKey(),
                        bytes,
                        replicaConfig(request),
                        upsert,
                        crc32c(request));
            });
        } else {
            // Answered when placed: with a disk tier, a put that finds DRAM full waits for objects to move out.
            started = started(
                    op,
                    op,
                    request,
                    () -> master.putStartAsync(
                                    request.getClientId(),
                                    request.getKey(),
                                    request.getSize(),
                                    replicaConfig(request),
                                    upsert)
                            .thenApply(StartedPut::toWrite));
        }
        return started.thenApply(answer -> answered(request, answer));
    }

    /**
     * One put start, access checked and counted as {@code op}, the leases it carries handed back first; its answer
     * once {@code start}'s future completes (its failure counted as {@code answeredAs}), without holding a thread.
     */
    private CompletableFuture<StartedPut> started(
            String op, String answeredAs, PutStartRequest request, Supplier<CompletableFuture<StartedPut>> start) {
        return calls.later(op, answeredAs, Right.WRITE, request.getKey(), () -> {
            releaseCarried(request.getReleasedList());
            return start.get();
        });
    }

    private static Long crc32c(PutStartRequest request) {
        return request.hasCrc32C() ? ProtoMapping.crc32c(request.getCrc32C()) : null;
    }

    /** The answer to a put start, with space for the writer's next put when it asked and the master has some. */
    private PutStartResponse answered(PutStartRequest request, StartedPut started) {
        PutStartResponse.Builder answer = PutStartResponse.newBuilder()
                .addAllReplicas(ProtoMapping.toProto(started.replicas()))
                .setCommitted(started.committed());
        PutSpace space = granted(request.getClientId(), request.getWriterHost(), request.getSize());
        if (space != null) {
            answer.setSpace(ProtoMapping.toProto(space));
        }
        return answer.build();
    }

    /** Answers once the put is durable, without holding a thread meanwhile. */
    @Override
    @NonBlocking
    public Uni<Empty> putEnd(PutEndRequest request) {
        return Uni.createFrom().completionStage(() -> putEndAsync(request));
    }

    /** {@link #putEnd} as a future: the wire's call, without Mutiny's operators. */
    public CompletableFuture<Empty> putEndAsync(PutEndRequest request) {
        return calls.later(
                        "put_end",
                        "put_end_durable",
                        Right.WRITE,
                        request.getKey(),
                        () -> master.putEndAsync(
                                request.getClientId(),
                                request.getKey(),
                                request.hasCrc32C() ? ProtoMapping.crc32c(request.getCrc32C()) : null))
                .thenApply(ignored -> EMPTY);
    }

    @Override
    @NonBlocking
    public Uni<Empty> putRevoke(PutRevokeRequest request) {
        return call("put_revoke", Right.WRITE, request.getKey(), () -> {
            master.putRevoke(request.getClientId(), request.getKey());
            return EMPTY;
        });
    }

    @Override
    @NonBlocking
    public Uni<GetReplicaListResponse> getReplicaList(GetReplicaListRequest request) {
        return Uni.createFrom().completionStage(() -> getReplicaList(request, null));
    }

    /**
     * GetReplicaList for a caller that says when its answer is out: under {@code lending} a small object's bytes
     * are lent to the answer from their segment, not copied into it (see {@link InlineValues#locate}).
     */
    public CompletableFuture<GetReplicaListResponse> getReplicaList(GetReplicaListRequest request, Lending lending) {
        return calls.now("get_replica_list", Right.READ, request.getKey(), () -> {
            releaseCarried(request.getReleasedList());
            return located(
                    request.getAcceptInline() > 0
                            ? inline.locate(
                                    request.getKey(), request.getAcceptInline(), request.getReaderHost(), lending)
                            : master.getReplicaList(request.getKey()),
                    lending,
                    0);
        });
    }

    /** A location's answer; bytes it holds under {@code lending} are lent to answer item {@code item}. */
    private static GetReplicaListResponse located(ObjectLocation location, Lending lending, int item) {
        if (lending == null || location.value() == null) {
            return ProtoMapping.toProto(location);
        }
        lending.lend(item, location.value());
        return ProtoMapping.toProto(location.inlined(null));
    }

    @Override
    @NonBlocking
    public Uni<ExistResponse> exist(KeyRequest request) {
        return call(
                "exist",
                Right.READ,
                request.getKey(),
                () -> ExistResponse.newBuilder()
                        .setExists(master.exist(request.getKey()))
                        .build());
    }

    @Override
    @NonBlocking
    public Uni<Empty> remove(RemoveRequest request) {
        return call("remove", Right.WRITE, request.getKey(), () -> {
            master.remove(request.getKey(), request.getForce());
            return EMPTY;
        });
    }

    @Override
    public Uni<RemoveAllResponse> removeAll(RemoveAllRequest request) {
        return call(
                "remove_all",
                Right.ADMIN,
                null,
                () -> RemoveAllResponse.newBuilder()
                        .setRemoved(master.removeAll(request.getForce()))
                        .build());
    }

    @Override
    @NonBlocking
    public Uni<BatchPutStartResponse> batchPutStart(BatchPutStartRequest request) {
        return Uni.createFrom().completionStage(() -> batchPutStartAsync(request));
    }

    /** {@link #batchPutStart} as a future: the wire's call, without Mutiny's operators. */
    public CompletableFuture<BatchPutStartResponse> batchPutStartAsync(BatchPutStartRequest request) {
        return batchStart("batch_put_start", request, request.getUpsert(), null);
    }

    @Override
    @NonBlocking
    public Uni<BatchPutStartResponse> batchUpsertStart(BatchPutStartRequest request) {
        return Uni.createFrom().completionStage(() -> batchUpsertStartAsync(request));
    }

    /** {@link #batchUpsertStart} as a future: the wire's call, without Mutiny's operators. */
    public CompletableFuture<BatchPutStartResponse> batchUpsertStartAsync(BatchPutStartRequest request) {
        return batchStart("batch_upsert_start", request, true, null);
    }

    /**
     * {@link #batchPutStartAsync} of a request whose values are still arriving on its caller's connection, one entry
     * per key after the rest of it: each read straight into its object's memory once placed (see
     * {@link InlineValues#batchPutStartArriving}).
     */
    public CompletableFuture<BatchPutStartResponse> batchPutStartArriving(
            BatchPutStartRequest request, ArrivingValues values) {
        return batchStart("batch_put_start", request, request.getUpsert(), values);
    }

    /** {@link #batchUpsertStartAsync} of a request whose values are still arriving, as {@link #batchPutStartArriving}'s. */
    public CompletableFuture<BatchPutStartResponse> batchUpsertStartArriving(
            BatchPutStartRequest request, ArrivingValues values) {
        return batchStart("batch_upsert_start", request, true, values);
    }

    /**
     * Put starts for many keys; keys whose bytes were sent are committed by the master when it can write them (see
     * {@link InlineValues#batchPutStart}), and the answer waits until those commits are durable, without holding a
     * thread meanwhile.
     */
    private CompletableFuture<BatchPutStartResponse> batchStart(
            String op, BatchPutStartRequest request, boolean upsert, ArrivingValues arriving) {
        return calls.later(op, "batch_put_start_durable", null, null, () -> {
            releaseCarried(request.getReleasedList());
            checkParallel(request);
            ReplicaConfig config = ProtoMapping.fromProto(request.getConfig());
            List<KeyResult<CompletableFuture<StartedPut>>> started =
                    access.checkEach(CallerInterceptor.current(), Right.WRITE, request.getKeysList(), allowed -> {
                        List<String> keys =
                                allowed.stream().map(request::getKeys).toList();
                        List<Long> sizes =
                                allowed.stream().map(request::getSizes).toList();
                        List<Long> crc32cs = allowed.stream()
                                .map(i -> sentCrc32c(request, i))
                                .toList();
                        List<Long> inSpaces = request.getInSpacesCount() == 0
                                ? null
                                : allowed.stream().map(request::getInSpaces).toList();
                        return arriving == null
                                ? inline.batchPutStart(
                                        request.getClientId(),
                                        keys,
                                        sizes,
                                        allowed.stream()
                                                .map(i -> sentValue(request, i))
                                                .toList(),
                                        config,
                                        upsert,
                                        crc32cs,
                                        inSpaces)
                                : inline.batchPutStartArriving(
                                        request.getClientId(),
                                        keys,
                                        sizes,
                                        i -> arriving.of(allowed.get(i)),
                                        config,
                                        upsert,
                                        crc32cs,
                                        inSpaces);
                    });
            return CompletableFuture.allOf(started.stream()
                            .filter(KeyResult::ok)
                            .map(r -> r.value().exceptionally(failed -> null))
                            .toArray(CompletableFuture[]::new))
                    .thenApply(allSettled -> {
                        BatchPutStartResponse.Builder answer = BatchPutStartResponse.newBuilder();
                        for (int i = 0; i < started.size(); i++) {
                            answer.addItems(startedItem(request, request.getSizes(i), started.get(i)));
                        }
                        return answer.build();
                    });
        });
    }

    private static void checkParallel(BatchPutStartRequest request) {
        int keys = request.getKeysCount();
        if (keys != request.getSizesCount()
                || (request.getValuesCount() > 0 && request.getValuesCount() != keys)
                || (request.getCrc32CsCount() > 0 && request.getCrc32CsCount() != keys)
                || (request.getInSpacesCount() > 0 && request.getInSpacesCount() != keys)) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    keys + " keys but " + request.getSizesCount() + " sizes, " + request.getValuesCount()
                            + " values, " + request.getCrc32CsCount() + " checksums and "
                            + request.getInSpacesCount() + " spaces");
        }
        for (int i = 0; i < request.getValuesCount(); i++) {
            int sent = request.getValues(i).size();
            if (sent > 0) {
                InlineValues.requireValueSize(request.getKeys(i), request.getSizes(i), sent);
            }
        }
    }

    /** The bytes sent for key {@code i}, or null. */
    private static MemorySegment sentValue(BatchPutStartRequest request, int i) {
        return i < request.getValuesCount() && !request.getValues(i).isEmpty()
                ? ProtoMapping.segmentOf(request.getValues(i))
                : null;
    }

    private static Long sentCrc32c(BatchPutStartRequest request, int i) {
        return i < request.getCrc32CsCount() && request.getCrc32Cs(i) >= 0 ? request.getCrc32Cs(i) : null;
    }

    /**
     * One key's item once its start has settled: its refusal or failure, or committed or its replicas, with space for
     * the writer's next put of {@code size} bytes when it asked and the master has some (as a single put's answer).
     */
    private BatchPutStartItem startedItem(
            BatchPutStartRequest request, long size, KeyResult<CompletableFuture<StartedPut>> started) {
        KeyResult<StartedPut> settled = KeyResult.settled(started);
        BatchPutStartItem.Builder item = BatchPutStartItem.newBuilder().setStatus(ProtoMapping.status(settled));
        if (!settled.ok()) {
            return item.build();
        }
        item.addAllReplicas(ProtoMapping.toProto(settled.value().replicas()))
                .setCommitted(settled.value().committed());
        PutSpace space = granted(request.getClientId(), request.getWriterHost(), size);
        if (space != null) {
            item.setSpace(ProtoMapping.toProto(space));
        }
        return item.build();
    }

    /** Space for the writer's next put of {@code size} bytes, when it asked ({@code writerHost}); null when none. */
    private PutSpace granted(String clientId, String writerHost, long size) {
        return writerHost.isEmpty() ? null : master.grantSpace(clientId, writerHost, size);
    }

    @Override
    public Uni<BatchStatusResponse> batchPutEnd(BatchKeysRequest request) {
        return statuses(
                "batch_put_end",
                Right.WRITE,
                request,
                keys -> master.batchPutEnd(request.getClientId(), keys, crc32cs(request, keys)));
    }

    @Override
    @NonBlocking
    public Uni<BatchStatusResponse> batchPutRevoke(BatchKeysRequest request) {
        return statuses(
                "batch_put_revoke", Right.WRITE, request, keys -> master.batchPutRevoke(request.getClientId(), keys));
    }

    @Override
    @NonBlocking
    public Uni<BatchGetReplicaListResponse> batchGetReplicaList(BatchKeysRequest request) {
        return Uni.createFrom().completionStage(() -> batchGetReplicaList(request, null));
    }

    /** BatchGetReplicaList lending small objects' bytes from their segments to the answer under {@code lending}. */
    public CompletableFuture<BatchGetReplicaListResponse> batchGetReplicaList(
            BatchKeysRequest request, Lending lending) {
        return calls.now("batch_get_replica_list", null, null, () -> {
            releaseCarried(request.getReleasedList());
            List<KeyResult<ObjectLocation>> results = checked(
                    Right.READ,
                    request,
                    keys -> request.getAcceptInline() > 0
                            ? inline.locateAll(keys, request.getAcceptInline(), request.getReaderHost(), lending)
                            : master.batchGetReplicaList(keys));
            BatchGetReplicaListResponse.Builder answer = BatchGetReplicaListResponse.newBuilder();
            for (int i = 0; i < results.size(); i++) {
                KeyResult<ObjectLocation> result = results.get(i);
                BatchGetReplicaListItem.Builder item =
                        BatchGetReplicaListItem.newBuilder().setStatus(ProtoMapping.status(result));
                if (result.ok()) {
                    item.setLocation(located(result.value(), lending, i));
                }
                answer.addItems(item);
            }
            return answer.build();
        });
    }

    @Override
    @NonBlocking
    public Uni<BatchExistResponse> batchExist(BatchKeysRequest request) {
        return call(
                "batch_exist", null, null, () -> ProtoMapping.exists(checked(Right.READ, request, master::batchExist)));
    }

    @Override
    @NonBlocking
    public Uni<BatchStatusResponse> batchRemove(BatchKeysRequest request) {
        return statuses("batch_remove", Right.WRITE, request, keys -> master.batchRemove(keys, request.getForce()));
    }

    @Override
    public Uni<Empty> mountSegment(MountSegmentRequest request) {
        return call("mount_segment", Right.MOUNT, null, () -> {
            master.mountSegment(
                    request.getClientId(),
                    new SegmentDescriptor(
                            request.getSegment(),
                            request.getCapacity(),
                            request.getEndpoint(),
                            request.getContentsId(),
                            SegmentTier.parse(request.getTier())),
                    request.getClaimsContents());
            return EMPTY;
        });
    }

    @Override
    public Uni<Empty> unmountSegment(UnmountSegmentRequest request) {
        return call("unmount_segment", Right.MOUNT, null, () -> {
            master.unmountSegment(request.getClientId(), request.getSegment());
            return EMPTY;
        });
    }

    @Override
    public Uni<Empty> remountSegments(RemountSegmentsRequest request) {
        return call("remount_segments", Right.MOUNT, null, () -> {
            master.remountSegments(
                    request.getClientId(),
                    request.getSegmentsList().stream()
                            .map(ProtoMapping::fromProto)
                            .toList());
            return EMPTY;
        });
    }

    @Override
    @NonBlocking
    public Uni<HeartbeatResponse> heartbeat(HeartbeatRequest request) {
        return call(
                "heartbeat",
                Right.MOUNT,
                null,
                () -> HeartbeatResponse.newBuilder()
                        .setStatus(
                                master.heartbeat(request.getClientId()) == HeartbeatReply.OK
                                        ? HeartbeatResponse.Status.OK
                                        : HeartbeatResponse.Status.NEED_REMOUNT)
                        .build());
    }

    @Override
    @NonBlocking
    public Uni<Empty> releaseLeases(ReleaseLeasesRequest request) {
        return call("release_leases", null, null, () -> {
            master.releaseLeases(ProtoMapping.releasesFromProto(request.getLeasesList()));
            if (!request.getClosingClientId().isEmpty()) {
                master.releaseSpaces(request.getClosingClientId());
            }
            return EMPTY;
        });
    }

    /**
     * Ends the leases a request carries (a reader's finished transfers) before the call itself. Failures are the
     * call's: a release is only refused when the call would be (not the leader) or the request is malformed.
     */
    private void releaseCarried(List<LeaseRelease> released) {
        if (!released.isEmpty()) {
            master.releaseLeases(ProtoMapping.releasesFromProto(released));
        }
    }

    @Override
    public Uni<ServiceReadyResponse> serviceReady(Empty request) {
        return Uni.createFrom()
                .item(() -> ServiceReadyResponse.newBuilder()
                        .setReady(role.role().runsMaster() && worker.workerReady())
                        .setRole(role.role().name().toLowerCase())
                        .build());
    }

    /** The CRC32Cs the request gives for {@code keys} (the keys the caller may write, a subset of its keys). */
    private static List<Long> crc32cs(BatchKeysRequest request, List<String> keys) {
        if (request.getCrc32CsCount() == 0) {
            return null;
        }
        if (request.getCrc32CsCount() != request.getKeysCount()) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    request.getKeysCount() + " keys but " + request.getCrc32CsCount() + " checksums");
        }
        Map<String, Long> byKey = new HashMap<>();
        for (int i = 0; i < request.getKeysCount(); i++) {
            long crc = request.getCrc32Cs(i);
            byKey.put(request.getKeys(i), crc < 0 ? null : crc);
        }
        return keys.stream().map(byKey::get).toList();
    }

    private static ReplicaConfig replicaConfig(PutStartRequest request) {
        return request.hasConfig()
                ? ProtoMapping.fromProto(request.getConfig())
                : ReplicaConfig.replicas(request.getReplicaNum());
    }

    /** A batch of the keys the caller may touch; the others answer PERMISSION_DENIED in place. */
    private <T> List<KeyResult<T>> checked(
            Right right, BatchKeysRequest request, Function<List<String>, List<KeyResult<T>>> op) {
        return calls.checked(right, request.getKeysList(), op);
    }

    private Uni<BatchStatusResponse> statuses(
            String op, Right right, BatchKeysRequest request, Function<List<String>, List<KeyResult<Void>>> action) {
        return call(op, null, null, () -> ProtoMapping.statuses(checked(right, request, action)));
    }

    private <T> Uni<T> call(String op, Right right, String key, Supplier<T> action) {
        return calls.call(op, right, key, action);
    }
}
