package dev.crescent.api.wire;

import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ArrivingValue;
import dev.crescent.protocol.ArrivingValues;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import dev.crescent.protocol.proto.BatchPutStartResponse;
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
import java.util.function.Function;
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
     * on the socket ({@code arriving}). One whose request carries a value per key ({@code valuesField}, 0: none) may
     * be called with them still arriving ({@code arrivingValues}) when the request says, by its boolean field
     * {@code valuesLastField}, that they are its last fields.
     */
    record Handler<Q, A>(
            MethodDescriptor<Q, A> method,
            Call<Q, A> call,
            boolean blocking,
            int valueField,
            ValueCall<Q, A> withValue,
            ArrivingCall<Q, A> arriving,
            int valuesField,
            int valuesLastField,
            ArrivingValuesCall<Q, A> arrivingValues) {
        Handler(MethodDescriptor<Q, A> method, Call<Q, A> call, boolean blocking) {
            this(method, call, blocking, 0, null, null, 0, 0, null);
        }

        /**
         * Parses the request now from its frame (which the request's bytes fields then share) and returns the call
         * to make, possibly on another thread; an unreadable request's call fails as INVALID_PARAMS. {@code value},
         * when not null, is the request's value field, left out of the frame ({@link #valueField} must be set).
         */
        Supplier<CompletionStage<A>> prepare(
                MasterGrpcService service, byte[] frame, int offset, int length, MemorySegment value, Lending lending) {
            Q parsed = parsed(frame, offset, length); // not through prepared(): every small call comes here
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
            return prepared(frame, offset, length, parsed -> arriving.apply(service, parsed, value));
        }

        /** {@link #prepare} of a request whose values are still arriving ({@link #arrivingValues} must be set). */
        Supplier<CompletionStage<A>> prepareArriving(
                MasterGrpcService service, byte[] frame, int offset, int length, ArrivingValues values) {
            return prepared(frame, offset, length, parsed -> arrivingValues.apply(service, parsed, values));
        }

        /** The request parsed now, and {@code call} of it to make later; one that cannot be read fails as INVALID_PARAMS. */
        private Supplier<CompletionStage<A>> prepared(
                byte[] frame, int offset, int length, Function<Q, CompletionStage<A>> call) {
            Q parsed = parsed(frame, offset, length);
            if (parsed == null) {
                return unreadable();
            }
            return () -> call.apply(parsed);
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

    /** How a method is called with its request's values still arriving on the socket. */
    @FunctionalInterface
    interface ArrivingValuesCall<Q, A> {
        CompletionStage<A> apply(MasterGrpcService service, Q request, ArrivingValues values);
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
        withValues(
                MasterServiceGrpc.getBatchPutStartMethod(),
                MasterGrpcService::batchPutStartAsync,
                MasterGrpcService::batchPutStartArriving);
        withValues(
                MasterServiceGrpc.getBatchUpsertStartMethod(),
                MasterGrpcService::batchUpsertStartAsync,
                MasterGrpcService::batchUpsertStartArriving);
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
                arriving,
                0,
                0,
                null));
    }

    /**
     * A batch's put start, which never blocks and shares nothing: called as a future, its values in the request's
     * message, or still arriving after the rest of it.
     */
    private void withValues(
            MethodDescriptor<BatchPutStartRequest, BatchPutStartResponse> method,
            BiFunction<MasterGrpcService, BatchPutStartRequest, CompletionStage<BatchPutStartResponse>> call,
            ArrivingValuesCall<BatchPutStartRequest, BatchPutStartResponse> arriving) {
        setHandler(new Handler<>(
                method,
                (service, request, lending) -> call.apply(service, request),
                false,
                0,
                null,
                null,
                BatchPutStartRequest.VALUES_FIELD_NUMBER,
                BatchPutStartRequest.VALUES_LAST_FIELD_NUMBER,
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
