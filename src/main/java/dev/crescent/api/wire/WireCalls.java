package dev.crescent.api.wire;

import com.google.protobuf.MessageLite;
import dev.crescent.api.grpc.CallerInterceptor;
import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import io.grpc.StatusRuntimeException;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * How one wire request is called, for a connection ({@link MasterWireSession}) and a request ring ({@link ServedRing})
 * alike: parsed from its frame, run through the master's adapter as its caller, its outcome handed to the one that
 * carries it back.
 */
final class WireCalls {
    private WireCalls() {}

    /** Where a call's outcome goes: it may come on another thread (a PutEnd answers once durable). */
    interface Outcome {
        /** The answer; {@code lending}'s bytes must be in it when this returns. */
        void answer(int callId, MessageLite answer, Lending lending);

        void fail(int callId, StoreException error);
    }

    /**
     * The call of one request frame ({@code length} bytes at {@code offset}, from its method id on), as
     * {@code caller}, handing its outcome to {@code outcome}. The request is parsed now, sharing the frame's bytes.
     * {@code value}, when not null, is the request's last field, its value, left where it was read: the frame holds the
     * rest, the handler takes the value apart ({@link MasterWireHandlers.Handler#valueField}), and it must stay as it
     * is until the outcome is handed over. Copies the answer carries are made in {@code room}, this call's own.
     */
    static Runnable callOf(
            MasterGrpcService service,
            Caller caller,
            MasterWireHandlers.Handler<?, ?> handler,
            int callId,
            byte[] frame,
            int offset,
            int length,
            MemorySegment value,
            Lending.Room room,
            Outcome outcome) {
        Lending lending = new Lending(room);
        Supplier<? extends CompletionStage<?>> prepared = handler.prepare(
                service, frame, offset + MasterWire.REQUEST_HEADER, length - MasterWire.REQUEST_HEADER, value, lending);
        return callOf(caller, callId, prepared, lending, outcome);
    }

    /**
     * The call of a request already parsed ({@code prepared}, whose answer may share memory under {@code lending}), as
     * {@code caller}, handing its outcome to {@code outcome}.
     */
    static Runnable callOf(
            Caller caller,
            int callId,
            Supplier<? extends CompletionStage<?>> prepared,
            Lending lending,
            Outcome outcome) {
        return () -> CallerInterceptor.runAs(caller, () -> {
            CompletionStage<?> answered;
            try {
                answered = prepared.get();
            } catch (RuntimeException failed) {
                answered = CompletableFuture.failedFuture(failed);
            }
            answered.whenComplete((answer, failure) -> {
                if (failure != null) {
                    lending.end();
                    outcome.fail(callId, storeError(failure));
                    return;
                }
                try {
                    outcome.answer(callId, (MessageLite) answer, lending);
                } finally {
                    lending.end(); // the lent bytes are in the answer now, or failed
                }
            });
        });
    }

    /** A failure as the code and message a caller is answered with. */
    static StoreException storeError(Throwable failure) {
        if (failure instanceof CompletionException wrapped && wrapped.getCause() != null) {
            return storeError(wrapped.getCause());
        }
        return failure instanceof StatusRuntimeException status
                ? GrpcErrors.fromStatus(status)
                : GrpcErrors.fromStatus(GrpcErrors.toStatus(failure));
    }

    /** The whole frame that answers {@code error} on a connection: its length, then {@link #failureAnswer}. */
    static ByteBuffer failureFrame(int callId, StoreException error) {
        ByteBuffer answer = failureAnswer(callId, error, Integer.MAX_VALUE);
        return ByteBuffer.allocate(4 + answer.remaining())
                .putInt(answer.remaining())
                .put(answer)
                .flip();
    }

    /**
     * The answer that reports {@code error}: call id, the error's code, then its message in UTF-8, cut so that the
     * whole answer takes at most {@code mostBytes}.
     */
    static ByteBuffer failureAnswer(int callId, StoreException error, int mostBytes) {
        byte[] message = String.valueOf(error.getMessage()).getBytes(StandardCharsets.UTF_8);
        int length = Math.min(message.length, mostBytes - MasterWire.RESPONSE_HEADER);
        return ByteBuffer.allocate(MasterWire.RESPONSE_HEADER + length)
                .putInt(callId)
                .putInt(error.code().number())
                .put(message, 0, length)
                .flip();
    }
}
