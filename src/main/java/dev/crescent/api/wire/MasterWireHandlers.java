package dev.crescent.api.wire;

import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ArrivingValue;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.MasterService;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.PutStartRequest;
import dev.crescent.protocol.proto.PutStartResponse;
import io.grpc.MethodDescriptor;
import io.smallrye.mutiny.Uni;

import java.lang.foreign.MemorySegment;
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

    /**
     * One method: how to call it on the adapter. A method whose request carries a value ({@code valueField}, 0: none)
     * may be called with that value kept out of its message, where it was read ({@code withValue}), or still arriving
     * on the socket ({@code arriving}).
     */
    record Handler<Q, A>(
            MethodDescriptor<Q, A> method,
            Call<Q, A> call,
            boolean blocking,
            int valueField,
            ValueCall<Q, A> withValue,
            ArrivingCall<Q, A> arriving) {
        Handler(MethodDescriptor<Q, A> method, Call<Q, A> call, boolean blocking) {
            this(method, call, blocking, 0, null, null);
        }

        /**
         * Parses the request now from its frame (which the request's bytes fields then share) and returns the call
         * to make, possibly on another thread; an unreadable request's call fails as INVALID_PARAMS. {@code value},
         * when not null, is the request's value field, left out of the frame ({@link #valueField} must be set).
         */
        Supplier<CompletionStage<A>> prepare(
                MasterGrpcService service, byte[] frame, int offset, int length, MemorySegment value, Lending lending) {
            Q parsed = parsed(frame, offset, length);
            if (parsed == null) {
                return unreadable();
            }
            return value == null
                    ? () -> call.apply(service, parsed, lending)
                    : () -> withValue.apply(service, parsed, value);
        }

        /** {@link #prepare} of a request whose value is still arriving ({@link #arriving} must be set). */
        Supplier<CompletionStage<A>> prepareArriving(
                MasterGrpcService service, byte[] frame, int offset, int length, ArrivingValue value) {
            Q parsed = parsed(frame, offset, length);
            if (parsed == null) {
                return unreadable();
            }
            return () -> arriving.apply(service, parsed, value);
        }

        /** The request, sharing the frame's bytes; null when it cannot be read. */
        private Q parsed(byte[] frame, int offset, int length) {
            try {
                return MasterWire.parse(method.getRequestMarshaller(), frame, offset, length);
            } catch (RuntimeException e) {
                return null;
            }
        }

        private Supplier<CompletionStage<A>> unreadable() {
            return () -> CompletableFuture.failedFuture(new StoreException(
                    ErrorCode.INVALID_PARAMS, "unreadable " + method.getBareMethodName() + " request"));
        }
    }

    /** How one method is called on the adapter. */
    @FunctionalInterface
    interface Call<Q, A> {
        CompletionStage<A> apply(MasterGrpcService service, Q request, Lending lending);
    }

    /** How a method is called with its request's value kept out of the message. */
    @FunctionalInterface
    interface ValueCall<Q, A> {
        CompletionStage<A> apply(MasterGrpcService service, Q request, MemorySegment value);
    }

    /** How a method is called with its request's value still arriving on the socket. */
    @FunctionalInterface
    interface ArrivingCall<Q, A> {
        CompletionStage<A> apply(MasterGrpcService service, Q request, ArrivingValue value);
    }

    MasterWireHandlers() {
        // The hot calls are made as futures, without Mutiny's operators; the others through the gRPC methods.
        withValue(
                MasterServiceGrpc.getPutStartMethod(),
                MasterGrpcService::putStartAsync,
                MasterGrpcService::putStartArriving);
        withValue(
                MasterServiceGrpc.getUpsertStartMethod(),
                MasterGrpcService::upsertStartAsync,
                MasterGrpcService::upsertStartArriving);
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

    /**
     * A put start, which never blocks and shares nothing: called as a future, its value in the request's message
     * or kept out of it (null: in it), or still arriving.
     */
    private void withValue(
            MethodDescriptor<PutStartRequest, PutStartResponse> method,
            ValueCall<PutStartRequest, PutStartResponse> call,
            ArrivingCall<PutStartRequest, PutStartResponse> arriving) {
        setHandler(new Handler<>(
                method,
                (service, request, lending) -> call.apply(service, request, null),
                false,
                PutStartRequest.VALUE_FIELD_NUMBER,
                call,
                arriving));
    }

    /** A method that never blocks and whose answer may share memory under the call's lending. */
    private <Q, A> void lending(MethodDescriptor<Q, A> method, Call<Q, A> call) {
        add(method, call, false);
    }

    private <Q, A> void add(MethodDescriptor<Q, A> method, Call<Q, A> call, boolean blocking) {
        setHandler(new Handler<>(method, call, blocking));
    }

    private void setHandler(Handler<?, ?> handler) {
        int id = MasterWire.id(handler.method());
        while (byId.size() <= id) {
            byId.add(null);
        }
        byId.set(id, handler);
    }
}
