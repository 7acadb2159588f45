package dev.crescent.protocol;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Crescent errors on the gRPC wire: a gRPC status whose trailer {@code crescent-code} holds the stable error
 * number. Server adapters and the gRPC client both use this one mapping.
 */
public final class GrpcErrors {
    public static final Metadata.Key<String> CODE_KEY =
            Metadata.Key.of("crescent-code", Metadata.ASCII_STRING_MARSHALLER);
    /** The node name a caller states; the access whitelist matches it (with the connection's address). */
    public static final Metadata.Key<String> NODE_KEY =
            Metadata.Key.of("crescent-node", Metadata.ASCII_STRING_MARSHALLER);

    private GrpcErrors() {}

    /** The wire form of any failure; untyped failures become INTERNAL_ERROR without leaking a stack trace. */
    public static StatusRuntimeException toStatus(Throwable failure) {
        StoreException error = failure instanceof StoreException store
                ? store
                : new StoreException(
                        ErrorCode.INTERNAL_ERROR,
                        "internal error: " + failure.getClass().getSimpleName());
        Metadata trailers = new Metadata();
        trailers.put(CODE_KEY, Integer.toString(error.code().number()));
        Status status = statusFor(error.code()).withDescription(error.code().name() + ": " + error.getMessage());
        return status.asRuntimeException(trailers);
    }

    /**
     * Reads a failed call back into a StoreException; calls that never reached a server become RPC_FAIL or
     * RPC_TIMEOUT.
     */
    public static StoreException fromStatus(StatusRuntimeException failure) {
        Metadata trailers = failure.getTrailers();
        String number = trailers == null ? null : trailers.get(CODE_KEY);
        String description = failure.getStatus().getDescription();
        if (number != null) {
            ErrorCode code = ErrorCode.fromNumber(Integer.parseInt(number));
            String prefix = code.name() + ": ";
            String message = description != null && description.startsWith(prefix)
                    ? description.substring(prefix.length())
                    : String.valueOf(description);
            return new StoreException(code, message, failure);
        }
        ErrorCode code = failure.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED
                ? ErrorCode.RPC_TIMEOUT
                : ErrorCode.RPC_FAIL;
        return new StoreException(code, "gRPC call failed: " + failure.getStatus(), failure);
    }

    private static Status statusFor(ErrorCode code) {
        return switch (code) {
            case INVALID_KEY, INVALID_PARAMS -> Status.INVALID_ARGUMENT;
            case OBJECT_NOT_FOUND, SEGMENT_NOT_FOUND, CLIENT_NOT_FOUND -> Status.NOT_FOUND;
            case OBJECT_ALREADY_EXISTS, SEGMENT_ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case NO_AVAILABLE_HANDLE, QUOTA_EXCEEDED -> Status.RESOURCE_EXHAUSTED;
            case OBJECT_HAS_LEASE, REPLICA_IS_NOT_READY, LEASE_EXPIRED, ILLEGAL_CLIENT, SEGMENT_CONTENTS_UNKNOWN ->
                Status.FAILED_PRECONDITION;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
            case UNSUPPORTED -> Status.UNIMPLEMENTED;
            case EVENTS_LOST -> Status.OUT_OF_RANGE;
            case NOT_LEADER, METADATA_ERROR, RPC_FAIL -> Status.UNAVAILABLE;
            case RPC_TIMEOUT -> Status.DEADLINE_EXCEEDED;
            case TRANSFER_FAIL, CHECKSUM_MISMATCH -> Status.DATA_LOSS;
            case OK, INTERNAL_ERROR -> Status.INTERNAL;
        };
    }
}
