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
 * @param valueAt    where the value's bytes start, in the buffer (of {@link #firstOfLast}: its entries' first tag)
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
        Fields fields = new Fields(in, from, to);
        int lastField = 0;
        int lastStart = -1;
        int lastValueAt = -1;
        while (fields.at < to) {
            if (!fields.next()) {
                return null;
            }
            lastField = fields.valueAt >= 0 ? fields.number : 0;
            lastStart = fields.start;
            lastValueAt = fields.valueAt;
        }
        if (lastField != field || lastValueAt == to) {
            return null;
        }
        return new TrailingValue(lastStart - from, lastValueAt, to - lastValueAt);
    }

    /**
     * The split of the message in {@code in}[{@code from}, {@code to}) when its last fields are the entries of the
     * repeated length-delimited field number {@code field}, as its boolean field {@code promisedBy}, set before them,
     * says: {@link #valueAt} is then where the first entry's tag starts, and {@link #valueBytes} the entries' bytes with
     * their tags and lengths, to be read in order as they arrive ({@link ArrivingValues}). Null when the message
     * makes no such promise before its first entry, has no entry, is malformed before it, or its fields before the
     * first entry have not all arrived below {@code in}'s limit.
     */
    public static TrailingValue firstOfLast(ByteBuffer in, int from, int to, int field, int promisedBy) {
        Fields fields = new Fields(in, from, to);
        boolean promised = false;
        while (fields.at < to) {
            if (!fields.next()) {
                return null;
            }
            if (fields.valueAt >= 0 && fields.number == field) {
                return promised ? new TrailingValue(fields.start - from, fields.start, to - fields.start) : null;
            }
            if (fields.number == promisedBy && fields.wireType == WireFormat.WIRETYPE_VARINT) {
                promised = fields.nonZero(); // the last one set wins, as when it is parsed
            }
        }
        return null;
    }

    /** A walk over a message's top-level fields where it lies, each one's place read without parsing it. */
    private static final class Fields {
        private final ByteBuffer in;
        private final int to;
        private final int readable;
        /** Where the next field starts. */
        int at;
        /** The current field: where it starts, its number and wire type, where a length-delimited one's bytes start (-1: not one). */
        int start;

        int number;
        int wireType;
        int valueAt;
        /** Where the current field's body starts, past its tag. */
        int bodyAt;

        Fields(ByteBuffer in, int from, int to) {
            this.in = in;
            this.to = to;
            this.readable = Math.min(to, in.limit());
            this.at = from;
        }

        /** Steps over the next field: false when it is malformed, a group, runs past the end, or has not arrived. */
        boolean next() {
            start = at;
            long tag = varint(in, at, readable);
            if (tag < 0) {
                return false;
            }
            at += (int) (tag >>> 32);
            wireType = WireFormat.getTagWireType((int) tag);
            number = WireFormat.getTagFieldNumber((int) tag);
            valueAt = -1;
            bodyAt = at;
            switch (wireType) {
                case WireFormat.WIRETYPE_VARINT -> {
                    at = pastVarint(in, at, readable);
                    if (at < 0) {
                        return false;
                    }
                }
                case WireFormat.WIRETYPE_FIXED64 -> at += 8;
                case WireFormat.WIRETYPE_FIXED32 -> at += 4;
                case WireFormat.WIRETYPE_LENGTH_DELIMITED -> {
                    long length = varint(in, at, readable);
                    if (length < 0) {
                        return false;
                    }
                    valueAt = at + (int) (length >>> 32);
                    at = valueAt + (int) length;
                }
                default -> {
                    return false; // groups: no message of the master's protocol has one
                }
            }
            return at <= to && at >= start; // not past the end, nor past the largest int
        }

        /** Whether the current field, a varint, holds a value other than 0. */
        boolean nonZero() {
            for (int i = bodyAt; i < at; i++) {
                if ((in.get(i) & 0x7F) != 0) {
                    return true;
                }
            }
            return false;
        }
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
