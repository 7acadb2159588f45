package dev.crescent.api.rest;

import dev.crescent.common.ErrorCode;
import io.quarkus.runtime.annotations.RegisterForReflection;

/** The JSON every REST error answers with: {@code {"code": -704, "error": "OBJECT_NOT_FOUND", "message": ...}}. */
/* Serialised inside a Response, where the native build cannot see it: registered explicitly. */
@RegisterForReflection
public record ErrorBody(int code, String error, String message) {

    public static ErrorBody of(ErrorCode code, String message) {
        return new ErrorBody(code.number(), code.name(), message);
    }
}
