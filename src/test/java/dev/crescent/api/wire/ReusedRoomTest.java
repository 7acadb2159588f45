package dev.crescent.api.wire;

import dev.crescent.protocol.Lending;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReusedRoomTest {
    private final ReusedRoom room = new ReusedRoom();

    @Test
    void aCallsCopiesDoNotOverlapEvenWhenItOutgrowsTheRoom() {
        Lending.Room call = room.forCall();
        MemorySegment first = filled(call.take(40 << 10), 1);
        MemorySegment second = filled(call.take(40 << 10), 2); // past the first 64 KiB: a larger buffer
        MemorySegment third = filled(call.take(4096), 3);
        assertFilled(first, 1);
        assertFilled(second, 2);
        assertFilled(third, 3);
    }

    @Test
    void eachCallStartsOverInTheSameMemory() {
        MemorySegment earlier = room.forCall().take(4096);
        MemorySegment later = room.forCall().take(4096);
        assertEquals(earlier.address(), later.address(), "no allocation per call");
    }

    private static MemorySegment filled(MemorySegment copy, int value) {
        return copy.fill((byte) value);
    }

    private static void assertFilled(MemorySegment copy, int value) {
        for (long at = 0; at < copy.byteSize(); at++) {
            assertEquals((byte) value, copy.get(ValueLayout.JAVA_BYTE, at), "at " + at);
        }
    }
}
