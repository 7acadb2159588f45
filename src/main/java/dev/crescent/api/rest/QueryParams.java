package dev.crescent.api.rest;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

/**
 * Query parameters read strictly. JAX-RS would answer 404 for a number it cannot convert and read any word but
 * {@code true} as false; here a value that is not what the parameter takes is INVALID_PARAMS, naming it.
 */
final class QueryParams {
    private QueryParams() {}

    /** {@code true} or {@code false}; absent: {@code absent}. */
    static boolean flag(String name, String value, boolean absent) {
        if (value == null || value.isEmpty()) {
            return absent;
        }
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw invalid(name, value, "true or false");
        };
    }

    /** A whole number; absent: {@code absent}. */
    static int number(String name, String value, int absent) {
        if (value == null || value.isEmpty()) {
            return absent;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw invalid(name, value, "a whole number");
        }
    }

    private static StoreException invalid(String name, String value, String wanted) {
        return new StoreException(ErrorCode.INVALID_PARAMS, name + " must be " + wanted + ", was '" + value + "'");
    }
}
