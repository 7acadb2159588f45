package dev.crescent.api.wire;

import dev.crescent.protocol.Lending;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One call's room for the copies its answer carries ({@link Lending.Room}): pooled direct buffers of 32 KiB, taken as
 * the copies need them, each copy a slice of one, all given back to the pool when the lending is over. A buffer of its
 * own per copy would cost a pool call each (128 per batch of small values), and a heap array would be zeroed first.
 *
 * <p>32 KiB is the largest size Netty's pool keeps in its per-thread caches. Buffers grown to hold a whole batch (512
 * KiB and more) came from the shared arenas instead, and made the pool free and allocate (and zero) a 4 MiB chunk on
 * nearly every batch: 38% of the master's time.
 */
final class PooledRoom implements Lending.Room {
    private static final int PIECE = 32 << 10;

    private final ByteBufAllocator alloc;
    /** Empty, with no array behind it, until a copy is made: most calls make none. */
    private final List<ByteBuf> taken = new ArrayList<>();
    /** The piece being filled, as memory (a view made once per piece, sliced per copy), and how much of it is used. */
    private MemorySegment current;

    private long used;

    PooledRoom(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    @Override
    public MemorySegment take(long bytes) {
        if (current == null || current.byteSize() - used < bytes) {
            ByteBuf piece = alloc.directBuffer(Math.max(Math.toIntExact(bytes), PIECE));
            taken.add(piece);
            current = MemorySegment.ofBuffer(piece.nioBuffer(0, piece.capacity()));
            used = 0;
        }
        MemorySegment copy = current.asSlice(used, bytes);
        used += bytes;
        return copy;
    }

    @Override
    public void free() {
        for (ByteBuf buffer : taken) {
            buffer.release();
        }
        taken.clear();
        current = null;
    }
}
