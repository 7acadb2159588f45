package dev.crescent.common;

import java.nio.charset.StandardCharsets;

/** The rules every object key obeys, checked once at each entry point (REST, gRPC, client). */
public final class ObjectKeys {
    public static final int MAX_KEY_BYTES = 1024;
    /**
     * Keys up to this many chars are within {@link #MAX_KEY_BYTES} whatever they hold: UTF-8 takes at most 3 bytes
     * per char (a surrogate pair, 2 chars, takes 4). Only longer keys are encoded to count their bytes.
     */
    private static final int CHARS_ALWAYS_WITHIN = MAX_KEY_BYTES / 3;

    private ObjectKeys() {}

    /**
     * @return the key unchanged when valid; otherwise throws INVALID_KEY saying which rule it broke. Called for every
     *     key of every call, so a valid key costs one pass over its chars and no allocation.
     */
    public static String validate(String key) {
        if (key == null || key.isEmpty()) {
            throw new StoreException(ErrorCode.INVALID_KEY, "key must not be empty");
        }
        if (key.length() > CHARS_ALWAYS_WITHIN) {
            int bytes = key.getBytes(StandardCharsets.UTF_8).length;
            if (bytes > MAX_KEY_BYTES) {
                throw new StoreException(
                        ErrorCode.INVALID_KEY, "key is " + bytes + " bytes; the limit is " + MAX_KEY_BYTES);
            }
        }
        int bad = firstForbidden(key);
        if (bad >= 0) {
            throw forbidden(key, bad);
        }
        return key;
    }

    /** The index of the first char a key may not hold, or -1: kept small so the JIT inlines the loop whole. */
    private static int firstForbidden(String key) {
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c == '\uFFFD' || Character.isISOControl(c)) {
                return i;
            }
        }
        return -1;
    }

    private static StoreException forbidden(String key, int index) {
        char c = key.charAt(index);
        if (c == '\uFFFD') {
            // What a decoder makes of bytes that are not UTF-8: two such keys would be one.
            return new StoreException(
                    ErrorCode.INVALID_KEY, "key contains U+FFFD at index " + index + " (bytes that are not UTF-8?)");
        }
        return new StoreException(
                ErrorCode.INVALID_KEY, "key contains control character U+%04X at index %d".formatted((int) c, index));
    }
}
