package dev.crescent.common;

import java.util.HashMap;
import java.util.Map;

/**
 * The one error vocabulary shared by gRPC, REST and clients. Numbers are stable and follow Mooncake's
 * where it has one, so its users recognise them. Each code also carries the HTTP status the REST gateway
 * answers with, so adapters never need their own mapping tables.
 */
public enum ErrorCode {
    OK(0, 200),
    INTERNAL_ERROR(-1, 500),
    SEGMENT_NOT_FOUND(-101, 404),
    SEGMENT_ALREADY_EXISTS(-102, 409),
    CLIENT_NOT_FOUND(-103, 404),
    /**
     * A mount said its memory already holds objects, and this master does not hold that segment with that contents
     * id (it dropped them, or never had them): the owner must clear the memory and mount it empty.
     */
    SEGMENT_CONTENTS_UNKNOWN(-104, 409),
    NO_AVAILABLE_HANDLE(-200, 507),
    /** The key's tenant would hold more than its byte quota, and none of its own objects could be evicted. */
    QUOTA_EXCEEDED(-201, 507),
    INVALID_KEY(-400, 400),
    INVALID_PARAMS(-600, 400),
    ILLEGAL_CLIENT(-601, 403),
    REPLICA_IS_NOT_READY(-703, 409),
    OBJECT_NOT_FOUND(-704, 404),
    OBJECT_ALREADY_EXISTS(-705, 409),
    OBJECT_HAS_LEASE(-706, 409),
    LEASE_EXPIRED(-707, 409),
    TRANSFER_FAIL(-800, 502),
    CHECKSUM_MISMATCH(-801, 502),
    RPC_FAIL(-900, 502),
    RPC_TIMEOUT(-901, 504),
    METADATA_ERROR(-1000, 503),
    NOT_LEADER(-1010, 503),
    PERMISSION_DENIED(-1100, 403),
    UNAUTHENTICATED(-1101, 401),
    /** An operation this deployment or client does not implement (e.g. a Mooncake API method Crescent lacks). */
    UNSUPPORTED(-1200, 501),
    /**
     * A watcher asked to resume after an event this master no longer keeps (it fell too far behind, or the stream it
     * names is not this one: a master without HA restarted). It must start over from the current state.
     */
    EVENTS_LOST(-1300, 410);

    private static final Map<Integer, ErrorCode> BY_NUMBER = new HashMap<>();

    static {
        for (ErrorCode code : values()) {
            BY_NUMBER.put(code.number, code);
        }
    }

    private final int number;
    private final int httpStatus;

    ErrorCode(int number, int httpStatus) {
        this.number = number;
        this.httpStatus = httpStatus;
    }

    public int number() {
        return number;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** The code for a wire number; unknown numbers become INTERNAL_ERROR rather than failing the caller. */
    public static ErrorCode fromNumber(int number) {
        return BY_NUMBER.getOrDefault(number, INTERNAL_ERROR);
    }
}
