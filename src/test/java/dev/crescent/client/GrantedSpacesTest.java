package dev.crescent.client;

import dev.crescent.transfer.VersionTable;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A writer copies into space granted ahead only while the space's word holds its version: a master that withdrew it
 * (the lifetime over, the segment unmounted, a new master's mount) may have given the memory to another put.
 */
class GrantedSpacesTest {
    @Test
    void aSpaceIsWrittenOnlyWhileItsWordHoldsItsVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = arena.allocate(4096 + Long.BYTES, Long.BYTES);
            ByteBuffer word = VersionTable.word(file, 4096);
            word.putLong(0, 77);
            GrantedSpaces.Space space =
                    new GrantedSpaces.Space(1, file.asSlice(0, 8), word, 77, System.nanoTime() + 1_000_000_000L);
            byte[] value = {1, 2, 3, 4, 5, 6, 7, 8};

            assertTrue(space.write(List.of(MemorySegment.ofArray(value))));
            assertArrayEquals(value, file.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE));

            word.putLong(0, 0); // withdrawn; the memory now holds another object's bytes
            byte[] other = {9, 9, 9, 9, 9, 9, 9, 9};
            MemorySegment.copy(MemorySegment.ofArray(other), 0, file, 0, 8);
            assertFalse(space.write(List.of(MemorySegment.ofArray(value))));
            assertArrayEquals(other, file.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE), "nothing was copied");
        }
    }
}
