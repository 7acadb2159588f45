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
    private boolean awaitingLength = true;

    MasterWireSession(NetSocket socket, MasterService service, MasterWireHandlers handlers, Vertx vertx) {
        this.socket = socket;
        this.service = service;
        this.handlers = handlers;
        this.vertx = vertx;
        this.parser = RecordParser.newFixed(4, socket);
    }

    void start() {
        parser.exceptionHandler(e -> socket.close());
        parser.handler(this::onRecord);
    }

    private void onRecord(Buffer record) {
        if (awaitingLength) {
            int length = record.getInt(0);
            int least = caller == null ? 0 : MasterWire.REQUEST_HEADER;
            int most = caller == null ? MasterWire.MAX_NODE_NAME_BYTES : MasterWire.MAX_FRAME;
            if (length < least || length > most) {
                LOG.debugf("closing the master wire connection of %s: frame length %d", caller, length);
                socket.close();
                return;
            }
            if (length == 0) {
                onHello(Buffer.buffer()); // an empty hello: no length-0 record follows
                return;
            }
            parser.fixedSizeMode(length);
        } else {
            if (caller == null) {
                onHello(record);
            } else {
                onRequest(record);
            }
            parser.fixedSizeMode(4);
        }
        awaitingLength = !awaitingLength;
    }

    private void onHello(Buffer nodeName) {
        caller = Callers.of(nodeName.toString(StandardCharsets.UTF_8), socket.remoteAddress());
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
