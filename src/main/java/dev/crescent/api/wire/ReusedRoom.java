package dev.crescent.api.wire;

import dev.crescent.protocol.Lending;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A connection's room for the copies its answers carry, when it runs one call at a time and writes each answer out
 * before it reads the next request ({@link DirectWireSession}): every call starts over at the beginning of the same
 * memory, so a small get costs neither an allocation nor a pool's lock. A call that needs more than there is moves to
 * a larger buffer, which the calls after it keep; its copies made before stay where they are (each holds its buffer).
 */
final class ReusedRoom {
    private static final int FIRST = 64 << 10;

    private MemorySegment memory = MemorySegment.ofBuffer(ByteBuffer.allocateDirect(FIRST));
    private long used;
    /** What each call is handed: one object for all of them, not one per call. */
    private final Lending.Room room = this::take;

    /** The room of the next call, which may reuse what every call before it took. */
    Lending.Room forCall() {
        used = 0;
        return room;
    }

    private MemorySegment take(long bytes) {
        if (memory.byteSize() - used < bytes) {
            long grown = Math.max(bytes, 2 * memory.byteSize());
            memory = MemorySegment.ofBuffer(ByteBuffer.allocateDirect(Math.toIntExact(grown)));
            used = 0;
        }
        MemorySegment copy = memory.asSlice(used, bytes);
        used += bytes;
        return copy;
    }
}
