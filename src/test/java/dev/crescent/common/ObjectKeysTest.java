package dev.crescent.common;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObjectKeysTest {
    /** U+20AC, three bytes in UTF-8. */
    private static final String EURO = "\u20AC";
    /** U+1F600, a surrogate pair: two chars, four bytes in UTF-8. */
    private static final String GRIN = "\uD83D\uDE00";

    @Test
    void theByteLimitCountsUtf8BytesNotChars() {
        assertEquals("x".repeat(1024), ObjectKeys.validate("x".repeat(1024)));
        refused("x".repeat(1025), "1025 bytes");
        // Under the limit in chars, over it in bytes: the count must not stop at chars.
        ObjectKeys.validate(EURO.repeat(341)); // 1023 bytes
        refused(EURO.repeat(342), "1026 bytes");
        ObjectKeys.validate(GRIN.repeat(256)); // 512 chars, 1024 bytes
        refused(GRIN.repeat(257), "1028 bytes");
        ObjectKeys.validate("x" + EURO.repeat(341)); // 342 chars (encoded to count), exactly 1024 bytes
    }

    @Test
    void controlCharactersAndReplacementCharactersAreRefusedWithTheirIndex() {
        refused("a\nb", "U+000A at index 1");
        refused("ab\u0085", "U+0085 at index 2");
        refused("\u007F", "U+007F at index 0");
        refused("key\uFFFD", "U+FFFD at index 3");
        refused("", "must not be empty");
        assertEquals("tenant/a b:\u00E9" + EURO + GRIN, ObjectKeys.validate("tenant/a b:\u00E9" + EURO + GRIN));
    }

    private static void refused(String key, String saying) {
        StoreException refused = assertThrows(StoreException.class, () -> ObjectKeys.validate(key));
        assertEquals(ErrorCode.INVALID_KEY, refused.code());
        assertTrue(refused.getMessage().contains(saying), refused.getMessage());
    }
}
