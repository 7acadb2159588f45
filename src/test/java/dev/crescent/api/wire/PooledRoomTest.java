package dev.crescent.api.wire;

import dev.crescent.protocol.Lending;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PooledRoomTest {
    /** Counts what is allocated and not yet released: Netty's unpooled allocator keeps that figure exactly. */
    private final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(true, false, false);

    @Test
    void copiesGetRoomsOfTheirOwnAndAllOfItGoesBackWithTheLending() {
        Lending lending = new Lending(new PooledRoom(alloc));
        List<MemorySegment> copies = new ArrayList<>();
        long[] sizes = {4096, 1, 30 << 10, 0, 4096, 100 << 10, 16383};
        for (int i = 0; i < sizes.length; i++) {
            MemorySegment copy = lending.room(sizes[i]);
            assertEquals(sizes[i], copy.byteSize());
            copy.fill((byte) (i + 1));
            copies.add(copy);
        }
        for (int i = 0; i < sizes.length; i++) { // no copy was written over by a later one
            for (long at = 0; at < sizes[i]; at++) {
                if (copies.get(i).get(ValueLayout.JAVA_BYTE, at) != (byte) (i + 1)) {
                    throw new AssertionError("copy " + i + " changed at " + at);
                }
            }
        }
        long used = alloc.metric().usedDirectMemory();
        assertTrue(used >= 4096 + 1 + (30 << 10) + 4096 + (100 << 10) + 16383, "held: " + used);
        assertTrue(used <= 4 * (100 << 10), "a few pieces, not one per copy: " + used);
        lending.end();
        assertEquals(0, alloc.metric().usedDirectMemory(), "every piece released");
    }

    @Test
    void aKeptLendingHoldsItsRoomUntilItsAnswerIsSent() {
        Lending lending = new Lending(new PooledRoom(alloc));
        lending.room(4096);
        Runnable sent = lending.keep();
        lending.end();
        assertTrue(alloc.metric().usedDirectMemory() > 0, "still being sent");
        sent.run();
        assertEquals(0, alloc.metric().usedDirectMemory());
    }
}
