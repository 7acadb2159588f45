package dev.crescent.api.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request frames' own pool: heap only, an arena per loop, never more arenas than a sixth of the heap holds. */
class FramePoolTest {
    private static final long CHUNK = 4L << 20;

    @Test
    void anArenaPerLoopUpToASixthOfTheHeap() {
        PooledByteBufAllocator few = (PooledByteBufAllocator) MasterWireRoute.framePool(2);
        assertEquals(2, few.metric().numHeapArenas());
        assertEquals(0, few.metric().numDirectArenas());

        PooledByteBufAllocator many = (PooledByteBufAllocator) MasterWireRoute.framePool(100_000);
        long cap = Runtime.getRuntime().maxMemory() / CHUNK / 6;
        assertEquals(Math.max(1, Math.min(cap, 100_000)), many.metric().numHeapArenas());
        assertEquals(CHUNK, many.metric().chunkSize());
    }

    @Test
    void aBatchSizedFrameIsAPooledHeapBuffer() {
        ByteBuf frame = MasterWireRoute.framePool(2).heapBuffer(525 << 10, 525 << 10);
        try {
            assertTrue(frame.hasArray());
            assertFalse(frame.isDirect());
            assertEquals(525 << 10, frame.capacity());
        } finally {
            frame.release();
        }
    }
}
