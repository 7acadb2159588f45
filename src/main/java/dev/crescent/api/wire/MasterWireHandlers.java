package dev.crescent.api.wire;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.MasterService;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import io.grpc.MethodDescriptor;
import io.smallrye.mutiny.Uni;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Which {@link MasterService} method answers each wire method, so the wire and gRPC share one adapter (access
 * checks, metrics, error mapping), and whether the call may block: those run off the event loop, exactly the
 * calls the gRPC adapter does not mark non-blocking.
 */
final class MasterWireHandlers {
    private final List<Handler<?, ?>> byId = new ArrayList<>();

    /** One method: how to call it on the adapter. */
    record Handler<Q, A>(MethodDescriptor<Q, A> method, BiFunction<MasterService, Q, Uni<A>> call, boolean blocking) {
        /**
         * Parses the request now from its frame (which the request's bytes fields then share) and returns the call
         * to make, possibly on another thread; an unreadable request's call fails as INVALID_PARAMS.
         */
        Supplier<Uni<A>> prepare(MasterService service, byte[] frame, int offset, int length) {
            Q parsed;
            try {
                parsed = MasterWire.parse(method.getRequestMarshaller(), frame, offset, length);
            } catch (RuntimeException e) {
                return () -> Uni.createFrom()
                        .failure(new StoreException(
                                ErrorCode.INVALID_PARAMS, "unreadable " + method.getBareMethodName() + " request"));
            }
            return () -> call.apply(service, parsed);
        }
    }

    MasterWireHandlers() {
        add(MasterServiceGrpc.getPutStartMethod(), MasterService::putStart, false);
        add(MasterServiceGrpc.getUpsertStartMethod(), MasterService::upsertStart, false);
        add(MasterServiceGrpc.getPutEndMethod(), MasterService::putEnd, false);
        add(MasterServiceGrpc.getPutRevokeMethod(), MasterService::putRevoke, false);
        add(MasterServiceGrpc.getGetReplicaListMethod(), MasterService::getReplicaList, false);
        add(MasterServiceGrpc.getExistMethod(), MasterService::exist, false);
        add(MasterServiceGrpc.getRemoveMethod(), MasterService::remove, false);
        add(MasterServiceGrpc.getRemoveAllMethod(), MasterService::removeAll, true);
        add(MasterServiceGrpc.getBatchPutStartMethod(), MasterService::batchPutStart, false);
        add(MasterServiceGrpc.getBatchUpsertStartMethod(), MasterService::batchUpsertStart, false);
        add(MasterServiceGrpc.getBatchPutEndMethod(), MasterService::batchPutEnd, true);
        add(MasterServiceGrpc.getBatchPutRevokeMethod(), MasterService::batchPutRevoke, false);
        add(MasterServiceGrpc.getBatchGetReplicaListMethod(), MasterService::batchGetReplicaList, false);
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

    private <Q, A> void add(
            MethodDescriptor<Q, A> method, BiFunction<MasterService, Q, Uni<A>> call, boolean blocking) {
        int id = MasterWire.id(method);
        while (byId.size() <= id) {
            byId.add(null);
        }
        byId.set(id, new Handler<>(method, call, blocking));
    }
}
