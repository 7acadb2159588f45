package dev.crescent.transfer;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VersionTableTest {
    private static final long CAPACITY = 64L << 20;

    @Test
    void aFormattedFileHasATableAfterItsBytesThatOthersFindFromTheFileAlone() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = arena.allocate(VersionTable.fileBytes(CAPACITY), 4096);
            VersionTable written = VersionTable.format(file, CAPACITY, 1);
            VersionTable found = VersionTable.of(file, CAPACITY);
            assertNotNull(found);
            long slot = found.slot(4096);
            assertEquals(written.slot(4096), slot, "the same layout from the trailer");
            assertTrue(slot >= CAPACITY && slot % Long.BYTES == 0 && slot + Long.BYTES <= file.byteSize());
            assertTrue(VersionTable.fileBytes(CAPACITY) - CAPACITY <= CAPACITY / 1000, "the table is small");
            assertEquals(CAPACITY, VersionTable.segmentBytes(file), "transfers reach the segment's bytes only");
        }
    }

    @Test
    void theContentsIdIsFoundOnlyInAFileOfTheSameCapacity() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = arena.allocate(VersionTable.fileBytes(CAPACITY), 4096);
            VersionTable.format(file, CAPACITY, 0xC0FFEEL);
            assertEquals(0xC0FFEEL, VersionTable.contentsId(file, CAPACITY));
            assertEquals(0, VersionTable.contentsId(file, CAPACITY / 2), "another segment size");
            assertEquals(0, VersionTable.contentsId(arena.allocate(file.byteSize(), 4096), CAPACITY), "no trailer");
            MemorySegment older = arena.allocate(file.byteSize() - Long.BYTES, 4096);
            older.asSlice(older.byteSize() - 32).copyFrom(file.asSlice(file.byteSize() - 32));
            assertEquals(0, VersionTable.contentsId(older, CAPACITY), "the four-word trailer of an older worker");
            assertNotNull(VersionTable.of(older, CAPACITY), "whose table is still found");
        }
    }

    @Test
    void aFileWithoutTheTrailerHasNoTable() {
        try (Arena arena = Arena.ofConfined()) {
            assertNull(VersionTable.of(arena.allocate(VersionTable.fileBytes(CAPACITY), 4096), CAPACITY));
            MemorySegment older = arena.allocate(CAPACITY, 4096);
            assertNull(VersionTable.of(older, CAPACITY), "an older worker's file");
            assertEquals(CAPACITY, VersionTable.segmentBytes(older), "all of it is the segment's");
        }
    }

    @Test
    void versionsArePublishedWithdrawnOnlyByTheirOwnerAndCleared() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = arena.allocate(VersionTable.fileBytes(CAPACITY), 4096);
            VersionTable table = VersionTable.format(file, CAPACITY, 1);
            long slot = table.slot(1 << 20);
            table.publish(slot, 42);
            assertEquals(42, VersionTable.read(VersionTable.word(file, slot)));
            table.withdraw(slot, 41);
            assertEquals(
                    42,
                    VersionTable.read(VersionTable.word(file, slot)),
                    "another version's withdrawal leaves the slot alone");
            table.withdraw(slot, 42);
            assertEquals(0, VersionTable.read(VersionTable.word(file, slot)));
            table.publish(slot, 43);
            table.clear();
            assertEquals(0, VersionTable.read(VersionTable.word(file, slot)));
        }
    }

    @Test
    void neighbouringObjectsSpreadOverTheSlots() {
        try (Arena arena = Arena.ofConfined()) {
            VersionTable table =
                    VersionTable.format(arena.allocate(VersionTable.fileBytes(CAPACITY), 4096), CAPACITY, 1);
            Set<Long> slots = new HashSet<>();
            int objects = 1000;
            for (int i = 0; i < objects; i++) {
                slots.add(table.slot(i * 4096L));
            }
            assertTrue(slots.size() > objects * 9 / 10, "few collisions among 4 KiB neighbours: " + slots.size());
        }
    }
}
