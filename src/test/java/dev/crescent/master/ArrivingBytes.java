package dev.crescent.master;

import dev.crescent.protocol.ArrivingValue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * A put's value as its connection delivers it to {@link InlineValues#putStartArriving}: the first {@code arrives} of
 * its bytes, then a failure (the caller closed the connection); and how many times it was read.
 */
final class ArrivingBytes implements ArrivingValue {
    private final byte[] value;
    private final int arrives;
    private int reads;

    /** A value that arrives whole. */
    ArrivingBytes(byte[] value) {
        this(value, value.length);
    }

    ArrivingBytes(byte[] value, int arrives) {
        this.value = value;
        this.arrives = arrives;
    }

    int reads() {
        return reads;
    }

    @Override
    public long byteSize() {
        return value.length;
    }

    @Override
    public void readInto(MemorySegment into) throws IOException {
        reads++;
        int here = Math.min(arrives, value.length);
        MemorySegment.copy(MemorySegment.ofArray(value), 0, into, 0, here);
        if (here < value.length) {
            throw new IOException("the caller closed the connection");
        }
    }
}
