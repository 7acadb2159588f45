package dev.crescent.common;

/** A failure with a stable {@link ErrorCode}; every layer reports errors as this, adapters map it out. */
public class StoreException extends RuntimeException {
    private final ErrorCode code;

    public StoreException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public StoreException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
