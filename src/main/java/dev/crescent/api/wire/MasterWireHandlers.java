package dev.crescent.api.wire;

import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.MasterService;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import io.grpc.MethodDescriptor;
import io.smallrye.mutiny.Uni;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Which {@link MasterGrpcService} method answers each wire method, so the wire and gRPC share one adapter (access
 * checks, metrics, error mapping), and whether the call may block: those run off the event loop, exactly the
 * calls the gRPC adapter does not mark non-blocking. The reads take the call's {@link Lending}: the wire says when
 * an answer is out, so small objects' bytes go into it straight from their segments.
 */
final class MasterWireHandlers {
    private final List<Handler<?, ?>> byId = new ArrayList<>();

    /** One method: how to call it on the adapter. */
    record Handler<Q, A>(MethodDescriptor<Q, A> method, Call<Q, A> call, boolean blocking) {
        /**
         * Parses the request now from its frame (which the request's bytes fields then share) and returns the call
         * to make, possibly on another thread; an unreadable request's call fails as INVALID_PARAMS.
         */
        Supplier<CompletionStage<A>> prepare(
                MasterGrpcService service, byte[] frame, int offset, int length, Lending lending) {
            Q parsed;
            try {
                parsed = MasterWire.parse(method.getRequestMarshaller(), frame, offset, length);
            } catch (RuntimeException e) {
                return () -> CompletableFuture.failedFuture(new StoreException(
                        ErrorCode.INVALID_PARAMS, "unreadable " + method.getBareMethodName() + " request"));
            }
            return () -> call.apply(service, parsed, lending);
        }
    }

    /** How one method is called on the adapter. */
    @FunctionalInterface
    interface Call<Q, A> {
        CompletionStage<A> apply(MasterGrpcService service, Q request, Lending lending);
    }

    MasterWireHandlers() {
        // The hot calls are made as futures, without Mutiny's operators; the others through the gRPC methods.
        direct(MasterServiceGrpc.getPutStartMethod(), MasterGrpcService::putStartAsync);
        direct(MasterServiceGrpc.getUpsertStartMethod(), MasterGrpcService::upsertStartAsync);
        direct(MasterServiceGrpc.getPutEndMethod(), MasterGrpcService::putEndAsync);
        add(MasterServiceGrpc.getPutRevokeMethod(), MasterService::putRevoke, false);
        lending(MasterServiceGrpc.getGetReplicaListMethod(), MasterGrpcService::getReplicaList);
        add(MasterServiceGrpc.getExistMethod(), MasterService::exist, false);
        add(MasterServiceGrpc.getRemoveMethod(), MasterService::remove, false);
        add(MasterServiceGrpc.getRemoveAllMethod(), MasterService::removeAll, true);
        direct(MasterServiceGrpc.getBatchPutStartMethod(), MasterGrpcService::batchPutStartAsync);
        direct(MasterServiceGrpc.getBatchUpsertStartMethod(), MasterGrpcService::batchUpsertStartAsync);
        add(MasterServiceGrpc.getBatchPutEndMethod(), MasterService::batchPutEnd, true);
        add(MasterServiceGrpc.getBatchPutRevokeMethod(), MasterService::batchPutRevoke, false);
        lending(MasterServiceGrpc.getBatchGetReplicaListMethod(), MasterGrpcService::batchGetReplicaList);
        add(MasterServiceGrpc.getBatchExistMethod(), MasterService::batchExist, false);
        add(MasterServiceGrpc.getBatchRemoveMethod(), MasterService::batchRemove, false);
        add(MasterServiceGrpc.getMountSegmentMethod(), MasterService::mountSegment, true);
        add(MasterServiceGrpc.getUnmountSegmentMethod(), MasterService::unmountSegment, true);
        add(MasterServiceGrpc.getRemountSegmentsMethod(), MasterService::remountSegments, true);
        add(MasterServiceGrpc.getHeartbeatMethod(), MasterService::heartbeat, false);
        add(MasterServiceGrpc.getServiceReadyMethod(), MasterService::serviceReady, true);
        add(MasterServiceGrpc.getReleaseLeasesMethod(), MasterService::releaseLeases, false);
        for (int id = 0; id < MasterWire.methods().size(); id++) {
            if (byId.size() <= id || byId.get(id) == null) {
                throw new IllegalStateException(MasterWire.method(id).getFullMethodName() + " has no handler");
            }
        }
    }

    /** The handler of a wire method id, or null when the id is unknown. */
    Handler<?, ?> get(int id) {
        return id >= 0 && id < byId.size() ? byId.get(id) : null;
    }

    /** A method whose answer shares nothing, called through its gRPC method. */
    private <Q, A> void add(
            MethodDescriptor<Q, A> method, BiFunction<MasterService, Q, Uni<A>> call, boolean blocking) {
        add(method, (service, request, lending) -> call.apply(service, request).subscribeAsCompletionStage(), blocking);
    }

    /** A method that never blocks and whose answer shares nothing, called as a future. */
    private <Q, A> void direct(
            MethodDescriptor<Q, A> method, BiFunction<MasterGrpcService, Q, CompletionStage<A>> call) {
        add(method, (service, request, lending) -> call.apply(service, request), false);
    }

    /** A method that never blocks and whose answer may share memory under the call's lending. */
    private <Q, A> void lending(MethodDescriptor<Q, A> method, Call<Q, A> call) {
        add(method, call, false);
    }

    private <Q, A> void add(MethodDescriptor<Q, A> method, Call<Q, A> call, boolean blocking) {
        int id = MasterWire.id(method);
        while (byId.size() <= id) {
            byId.add(null);
        }
        byId.set(id, new Handler<>(method, call, blocking));
    }
}
