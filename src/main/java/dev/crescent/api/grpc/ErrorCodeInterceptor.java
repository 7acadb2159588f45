package dev.crescent.api.grpc;

import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.GrpcErrors;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Every failed gRPC call carries a {@code crescent-code}, also those that fail before a service runs: a request
 * gRPC cannot parse closes with INTERNAL and no code, which becomes INVALID_ARGUMENT with INVALID_PARAMS; any other
 * failure without a code gets INTERNAL_ERROR's.
 */
@ApplicationScoped
@GlobalInterceptor
public class ErrorCodeInterceptor implements ServerInterceptor {

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        return next.startCall(
                new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void close(Status status, Metadata trailers) {
                        if (status.isOk() || trailers.containsKey(GrpcErrors.CODE_KEY)) {
                            super.close(status, trailers);
                            return;
                        }
                        ErrorCode code = unparsable(status) ? ErrorCode.INVALID_PARAMS : ErrorCode.INTERNAL_ERROR;
                        Status coded = code == ErrorCode.INVALID_PARAMS
                                ? Status.INVALID_ARGUMENT.withDescription(code.name()
                                        + ": the request is not a valid message (" + status.getDescription() + ")")
                                : status;
                        trailers.put(GrpcErrors.CODE_KEY, Integer.toString(code.number()));
                        super.close(coded, trailers);
                    }
                },
                headers);
    }

    /**
     * What the gRPC server answers when it cannot parse a request message: the message is dropped, so a unary call
     * ends "half-closed without a request"; a parser's own failure says it is no valid protobuf.
     */
    private static boolean unparsable(Status status) {
        String description = String.valueOf(status.getDescription());
        return status.getCode() == Status.Code.INTERNAL
                && (description.contains("Half-closed without a request") || description.contains("Invalid protobuf"));
    }
}
