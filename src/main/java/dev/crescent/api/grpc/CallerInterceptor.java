package dev.crescent.api.grpc;

import dev.crescent.api.Callers;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.GrpcErrors;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Records who is calling (node name, proven or stated; connection address) for the access checks of the gRPC services. */
@ApplicationScoped
@GlobalInterceptor
public class CallerInterceptor implements ServerInterceptor {
    private static final Context.Key<Caller> CALLER = Context.key("crescent-caller");

    /** The caller of the gRPC call being served on this thread. */
    public static Caller current() {
        Caller caller = CALLER.get();
        return caller == null ? new Caller(null, null) : caller;
    }

    /** Runs {@code action} as a call of {@code caller}: other entry points reuse the gRPC adapters through this. */
    public static void runAs(Caller caller, Runnable action) {
        Context.current().withValue(CALLER, caller).run(action);
    }

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        Caller caller = Callers.of(
                headers.get(GrpcErrors.NODE_KEY),
                call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION),
                remote instanceof InetSocketAddress inet ? inet.getAddress() : null);
        return Contexts.interceptCall(Context.current().withValue(CALLER, caller), call, headers, next);
    }
}
