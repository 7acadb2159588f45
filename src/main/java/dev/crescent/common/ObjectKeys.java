package dev.crescent.common;

import java.nio.charset.StandardCharsets;

/** The rules every object key obeys, checked once at each entry point (REST, gRPC, client). */
public final class ObjectKeys {
    public static final int MAX_KEY_BYTES = 1024;

    private ObjectKeys() {}

    /** @return the key unchanged when valid; otherwise throws INVALID_KEY saying which rule it broke. */
    public static String validate(String key) {
        if (key == null || key.isEmpty()) {
            throw new StoreException(ErrorCode.INVALID_KEY, "key must not be empty");
        }
        int bytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_KEY_BYTES) {
            throw new StoreException(
                    ErrorCode.INVALID_KEY, "key is " + bytes + " bytes; the limit is " + MAX_KEY_BYTES);
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c == '\uFFFD') {
                // What a decoder makes of bytes that are not UTF-8: two such keys would be one.
                throw new StoreException(
                        ErrorCode.INVALID_KEY, "key contains U+FFFD at index " + i + " (bytes that are not UTF-8?)");
            }
            if (Character.isISOControl(c)) {
                throw new StoreException(
                        ErrorCode.INVALID_KEY,
                        "key contains control character U+%04X at index %d".formatted((int) c, i));
            }
        }
        return key;
    }
}
