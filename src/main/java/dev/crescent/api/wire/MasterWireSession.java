package dev.crescent.api.wire;

import com.google.protobuf.MessageLite;
import dev.crescent.api.Callers;
import dev.crescent.api.grpc.CallerInterceptor;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.MasterService;
import io.grpc.StatusRuntimeException;
import io.netty.buffer.ByteBufInputStream;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * One wire connection: reads the hello (who calls), then request frames on the event loop, runs each through the
 * master's adapter (inline when it cannot block, on a worker thread otherwise) as that caller, and writes each
 * answer when it is ready. A frame that cannot be read closes the connection.
 */
final class MasterWireSession {
    private static final Logger LOG = Logger.getLogger(MasterWireSession.class);

    private final NetSocket socket;
    /** Known once the hello arrived. */
    private Caller caller;

    private final MasterService service;
    private final MasterWireHandlers handlers;
    private final Vertx vertx;
    private final RecordParser parser;
    private final WireLimits limits;
    private boolean awaitingLength = true;
    private boolean closed;
    /** Bytes of the frame being received, reserved in the shared budget (0: none). */
    private long reservedBytes;
    /** Closes the connection unless the hello or frame being received completes in time (-1: none set). */
    private long deadlineTimer = -1;

    MasterWireSession(
            NetSocket socket, MasterService service, MasterWireHandlers handlers, Vertx vertx, WireLimits limits) {
        this.socket = socket;
        this.service = service;
        this.handlers = handlers;
        this.vertx = vertx;
        this.limits = limits;
        this.parser = RecordParser.newFixed(4, socket);
    }

    void start() {
        parser.exceptionHandler(e -> close(e.toString()));
        parser.handler(this::onRecord);
        socket.closeHandler(closed -> {
            cancelDeadline();
            releaseReservation();
        });
        armDeadline("no hello"); // the hello's length and bytes must arrive in time too
    }

    private void onRecord(Buffer record) {
        if (closed) {
            return; // the parser may still hand over bytes that arrived with the frame that closed us
        }
        if (awaitingLength) {
            int length = record.getInt(0);
            int least = caller == null ? 0 : MasterWire.REQUEST_HEADER;
            int most = caller == null ? MasterWire.MAX_NODE_NAME_BYTES : MasterWire.MAX_FRAME;
            if (length < least || length > most) {
                close("frame length " + length);
                return;
            }
            if (length == 0) {
                onHello(Buffer.buffer()); // an empty hello: no length-0 record follows
                cancelDeadline();
                return;
            }
            if (caller != null) { // a hello is at most 255 bytes: only request frames draw on the budget
                if (!limits.reserve(length)) {
                    close("unfinished frames over budget");
                    return;
                }
                reservedBytes = length;
            }
            armDeadline("frame not finished");
            parser.fixedSizeMode(length);
        } else {
            cancelDeadline();
            releaseReservation();
            if (caller == null) {
                onHello(record);
            } else {
                onRequest(record);
            }
            parser.fixedSizeMode(4);
        }
        awaitingLength = !awaitingLength;
    }

    private void armDeadline(String why) {
        cancelDeadline();
        deadlineTimer = vertx.setTimer(limits.frameTimeoutMillis(), id -> close(why + " in time"));
    }

    /** Closes the connection; nothing it sent after this is read. */
    private void close(String why) {
        LOG.debugf("closing the master wire connection of %s: %s", caller, why);
        closed = true;
        parser.pause();
        socket.close();
    }

    private void cancelDeadline() {
        if (deadlineTimer != -1) {
            vertx.cancelTimer(deadlineTimer);
            deadlineTimer = -1;
        }
    }

    private void releaseReservation() {
        if (reservedBytes != 0) {
            limits.release(reservedBytes);
            reservedBytes = 0;
        }
    }

    private void onHello(Buffer nodeName) {
        caller = Callers.of(
                nodeName.toString(StandardCharsets.UTF_8),
                socket.isSsl() ? socket.sslSession() : null,
                socket.remoteAddress());
    }

    private void onRequest(Buffer frame) {
        int method = frame.getUnsignedByte(0);
        int callId = frame.getInt(1);
        MasterWireHandlers.Handler<?, ?> handler = handlers.get(method);
        if (handler == null) {
            fail(callId, new StoreException(ErrorCode.INVALID_PARAMS, "unknown master wire method " + method));
            return;
        }
        ByteBufInputStream body = new ByteBufInputStream(
                frame.getByteBuf().slice(MasterWire.REQUEST_HEADER, frame.length() - MasterWire.REQUEST_HEADER));
        Supplier<? extends Uni<?>> prepared = handler.prepare(service, body);
        Runnable call = () -> CallerInterceptor.runAs(
                caller,
                () -> prepared.get()
                        .subscribe()
                        .with(answer -> answer(callId, (MessageLite) answer), failure -> fail(callId, failure)));
        if (handler.blocking()) {
            vertx.executeBlocking(
                    () -> {
                        call.run();
                        return null;
                    },
                    false);
        } else {
            call.run();
        }
    }

    private void answer(int callId, MessageLite answer) {
        int size = answer.getSerializedSize();
        Buffer frame = Buffer.buffer(4 + MasterWire.RESPONSE_HEADER + size)
                .appendInt(MasterWire.RESPONSE_HEADER + size)
                .appendInt(callId)
                .appendInt(0)
                .appendBytes(answer.toByteArray());
        write(frame);
    }

    private void fail(int callId, Throwable failure) {
        StoreException error = failure instanceof StatusRuntimeException status
                ? GrpcErrors.fromStatus(status)
                : GrpcErrors.fromStatus(GrpcErrors.toStatus(failure));
        byte[] message = String.valueOf(error.getMessage()).getBytes(StandardCharsets.UTF_8);
        write(Buffer.buffer(4 + MasterWire.RESPONSE_HEADER + message.length)
                .appendInt(MasterWire.RESPONSE_HEADER + message.length)
                .appendInt(callId)
                .appendInt(error.code().number())
                .appendBytes(message));
    }

    /** Writes an answer; a client that stops reading its answers stops being read until they drain. */
    private void write(Buffer frame) {
        socket.write(frame);
        if (socket.writeQueueFull()) {
            parser.pause();
            socket.drainHandler(done -> parser.resume());
        }
    }
}
