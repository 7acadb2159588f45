package dev.crescent.api;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

/**
 * The largest object a gateway takes ({@code crescent.api.max-object-size}), checked on the size a caller announces
 * before any of its bytes are held: one rule for the REST and gRPC gateways.
 */
public final class ObjectSizeLimit {
    private ObjectSizeLimit() {}

    /** @throws StoreException INVALID_PARAMS when {@code announcedBytes} is over {@code maxObjectBytes} */
    public static void check(long announcedBytes, long maxObjectBytes) {
        if (announcedBytes > maxObjectBytes) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "an object of " + announcedBytes + " bytes is larger than this gateway takes "
                            + "(crescent.api.max-object-size=" + maxObjectBytes + ")");
        }
    }
}
