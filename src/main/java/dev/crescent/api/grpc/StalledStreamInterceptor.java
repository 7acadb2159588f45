package dev.crescent.api.grpc;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.protocol.GrpcErrors;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GlobalInterceptor;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Closes a call that streams its request once no message has arrived for {@code crescent.api.grpc-stream-idle-timeout}
 * (RPC_TIMEOUT). The gRPC transport drops a request message it cannot parse without counting it against the call's
 * demand, so a stream with one such message never sees its end and would wait for ever (found by GrpcFuzzTest); a
 * client that stops sending is held the same way. Unary calls need none of this: an unparsable request ends them.
 */
@ApplicationScoped
@GlobalInterceptor
public class StalledStreamInterceptor implements ServerInterceptor {
    private final Vertx vertx;
    private final long idleMillis;

    public StalledStreamInterceptor(Vertx vertx, CrescentConfig config) {
        this.vertx = vertx;
        this.idleMillis = config.api().grpcStreamIdleTimeout().toMillis();
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        if (call.getMethodDescriptor().getType().clientSendsOneMessage()) {
            return next.startCall(call, headers);
        }
        Watch<Q, A> watch = new Watch<>(call);
        return watch.listen(next.startCall(watch, headers));
    }

    /** The call, closed at most once, and its idle timer, re-armed by every message and stopped by its end. */
    private final class Watch<Q, A> extends ForwardingServerCall.SimpleForwardingServerCall<Q, A> {
        private final AtomicBoolean closed = new AtomicBoolean();
        private volatile long timer = -1;

        Watch(ServerCall<Q, A> call) {
            super(call);
            arm();
        }

        ServerCall.Listener<Q> listen(ServerCall.Listener<Q> listener) {
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
                @Override
                public void onMessage(Q message) {
                    arm();
                    super.onMessage(message);
                }

                @Override
                public void onHalfClose() {
                    disarm();
                    super.onHalfClose();
                }

                @Override
                public void onCancel() {
                    disarm();
                    super.onCancel();
                }

                @Override
                public void onComplete() {
                    disarm();
                    super.onComplete();
                }
            };
        }

        @Override
        public void close(Status status, Metadata trailers) {
            disarm();
            if (closed.compareAndSet(false, true)) {
                super.close(status, trailers);
            }
        }

        private void arm() {
            disarm();
            timer = vertx.setTimer(idleMillis, id -> stalled());
        }

        private void disarm() {
            long current = timer;
            if (current != -1) {
                vertx.cancelTimer(current);
                timer = -1;
            }
        }

        private void stalled() {
            if (closed.compareAndSet(false, true)) {
                StatusRuntimeException timeout = GrpcErrors.toStatus(new StoreException(
                        ErrorCode.RPC_TIMEOUT,
                        "no request message for " + idleMillis + " ms (a message that cannot be parsed is dropped)"));
                super.close(timeout.getStatus(), timeout.getTrailers());
            }
        }
    }
}
