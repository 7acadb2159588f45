package dev.crescent.api.rest;

import dev.crescent.common.ErrorCode;

/** The JSON every REST error answers with: {@code {"code": -704, "error": "OBJECT_NOT_FOUND", "message": ...}}. */
public record ErrorBody(int code, String error, String message) {

    public static ErrorBody of(ErrorCode code, String message) {
        return new ErrorBody(code.number(), code.name(), message);
    }
}
