package dev.crescent.protocol;

import com.google.protobuf.WireFormat;

import java.nio.ByteBuffer;

/**
 * Where a message's value lies when the value is the message's last field: found by walking the message's top-level
 * fields where it was read, without parsing it. Both sides write a value last: the master in a get's answer
 * ({@code api.wire.LentAnswer}), a client in a put's request ({@code client.TrailingBytes}). protobuf aliases heap
 * bytes only (it copies a direct buffer whole before parsing it), so a whole message read off a socket was copied
 * onto the heap to be parsed, and its value copied once more to where it goes; split here, only the head is copied to
 * be parsed and the value goes once, from where the socket put it. The message's encoding without its last field is
 * the same message without the value.
 *
 * @param headBytes  the bytes before the value's tag: the rest of the message
 * @param valueAt    where the value's bytes start, in the buffer
 * @param valueBytes how many there are
 */
public record TrailingValue(int headBytes, int valueAt, int valueBytes) {
    /**
     * The split of the message in {@code in}[{@code from}, {@code to}) when its last field is a non-empty
     * length-delimited field number {@code field}, else null (a message laid out otherwise, or malformed: it is then
     * parsed whole, which reports what is wrong with it). The message may run past {@code in}'s limit, still
     * arriving: only the bytes below the limit are read, so its fields before the value must be there (the value's
     * bytes need not be), else null.
     */
    public static TrailingValue find(ByteBuffer in, int from, int to, int field) {
        int readable = Math.min(to, in.limit());
        int at = from;
        int lastField = 0;
        int lastStart = -1;
        int lastValueAt = -1;
        while (at < to) {
            int start = at;
            long tag = varint(in, at, readable);
            if (tag < 0) {
                return null;
            }
            at += (int) (tag >>> 32);
            int wireType = WireFormat.getTagWireType((int) tag);
            int number = WireFormat.getTagFieldNumber((int) tag);
            int valueAt = -1;
            switch (wireType) {
                case WireFormat.WIRETYPE_VARINT -> {
                    at = pastVarint(in, at, readable);
                    if (at < 0) {
                        return null;
                    }
                }
                case WireFormat.WIRETYPE_FIXED64 -> at += 8;
                case WireFormat.WIRETYPE_FIXED32 -> at += 4;
                case WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
                    long length = varint(in, at, readable);
                    if (length < 0) {
                        return null;
                    }
                    valueAt = at + (int) (length >>> 32);
                    at = valueAt + (int) length;
                }
                default -> {
                    return null; // groups: no message of the master's protocol has one
                }
            }
            if (at > to || at < start) { // past the end, or past the largest int
                return null;
            }
            lastField = wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED ? number : 0;
            lastStart = start;
            lastValueAt = valueAt;
        }
        if (lastField != field || lastValueAt == to) {
            return null;
        }
        return new TrailingValue(lastStart - from, lastValueAt, to - lastValueAt);
    }

    /**
     * The varint at {@code at}, below {@code to}, when it holds a non-negative int (a tag or a length): the value in
     * the low 32 bits and how many bytes it took in the high 32; -1 otherwise.
     */
    private static long varint(ByteBuffer in, int at, int to) {
        long value = 0;
        for (int i = 0; i < 5 && at + i < to; i++) {
            byte b = in.get(at + i);
            value |= (long) (b & 0x7F) << (7 * i);
            if (b >= 0) {
                return value > Integer.MAX_VALUE ? -1 : ((long) (i + 1) << 32) | value;
            }
        }
        return -1;
    }

    /** Where the varint at {@code at} (of up to 64 bits) ends, or -1 when it runs past {@code to} or ten bytes. */
    private static int pastVarint(ByteBuffer in, int at, int to) {
        for (int i = 0; i < 10 && at + i < to; i++) {
            if (in.get(at + i) >= 0) {
                return at + i + 1;
            }
        }
        return -1;
    }
}
