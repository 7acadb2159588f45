package dev.crescent.alloc;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OffsetAllocatorTest {
    private static final int ALIGN = 64;

    @Test
    void offsetsAreAlignedAndRangesDoNotOverlap() {
        OffsetAllocator allocator = new OffsetAllocator(1 << 20, ALIGN);
        List<Allocation> ranges = new ArrayList<>();
        for (int size : new int[] {1, 63, 64, 65, 1000, 4096, 12345}) {
            Allocation a = allocator.allocate(size);
            assertNotNull(a);
            assertEquals(0, a.offset() % ALIGN, "offset aligned");
            assertEquals(size, a.length());
            ranges.add(a);
        }
        ranges.sort(Comparator.comparingLong(Allocation::offset));
        for (int i = 1; i < ranges.size(); i++) {
            Allocation prev = ranges.get(i - 1);
            assertTrue(prev.offset() + prev.length() <= ranges.get(i).offset(), "no overlap");
        }
        allocator.checkInvariants();
    }

    @Test
    void exhaustionAnswersNullAndFreeingMakesRoomAgain() {
        OffsetAllocator allocator = new OffsetAllocator(64 * 1024, ALIGN);
        List<Allocation> all = new ArrayList<>();
        Allocation a;
        while ((a = allocator.allocate(1024)) != null) {
            all.add(a);
        }
        assertEquals(64, all.size(), "capacity / block size blocks fit exactly");
        assertEquals(allocator.capacityBytes(), allocator.usedBytes());
        assertNull(allocator.allocate(1));
        allocator.free(all.remove(17));
        assertNotNull(allocator.allocate(1024), "a freed block is reusable");
        assertNull(allocator.allocate(1024));
        allocator.checkInvariants();
    }

    @Test
    void freedNeighboursCoalesceIntoOneRange() {
        OffsetAllocator allocator = new OffsetAllocator(4096, ALIGN);
        Allocation a = allocator.allocate(1024);
        Allocation b = allocator.allocate(1024);
        Allocation c = allocator.allocate(1024);
        Allocation d = allocator.allocate(1024);
        assertNull(allocator.allocate(1));
        allocator.free(a);
        allocator.free(c);
        assertNull(allocator.allocate(2048), "two separate 1 KiB holes cannot take 2 KiB");
        assertEquals(0.5, allocator.fragmentation(), 1e-9);
        allocator.free(b);
        assertEquals(3072, allocator.largestFreeBytes(), "a, b and c merged");
        assertEquals(0.0, allocator.fragmentation(), 1e-9);
        Allocation big = allocator.allocate(3072);
        assertNotNull(big);
        assertEquals(0, big.offset());
        allocator.free(big);
        allocator.free(d);
        assertEquals(4096, allocator.largestFreeBytes(), "everything merged back into one range");
        assertEquals(0, allocator.allocationCount());
        allocator.checkInvariants();
    }

    @Test
    void fragmentationLeavesSpaceThatNoLargeRequestCanUse() {
        OffsetAllocator allocator = new OffsetAllocator(64 * 1024, ALIGN);
        List<Allocation> blocks = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            blocks.add(allocator.allocate(1024));
        }
        for (int i = 0; i < 64; i += 2) {
            allocator.free(blocks.get(i));
        }
        assertEquals(32 * 1024, allocator.freeBytes());
        assertEquals(1024, allocator.largestFreeBytes());
        assertNull(allocator.allocate(2048));
        assertTrue(allocator.fragmentation() > 0.9);
        allocator.checkInvariants();
    }

    @Test
    void doubleFreeAndForeignHandlesAreRefused() {
        OffsetAllocator allocator = new OffsetAllocator(4096, ALIGN);
        Allocation a = allocator.allocate(100);
        allocator.free(a);
        assertThrows(IllegalStateException.class, () -> allocator.free(a));
        assertThrows(IllegalStateException.class, () -> allocator.free(new Allocation(128, 64, 999)));
        allocator.checkInvariants();
        assertEquals(0, allocator.usedBytes());
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new OffsetAllocator(4096, 48));
        assertThrows(IllegalArgumentException.class, () -> new OffsetAllocator(10, 64));
        OffsetAllocator allocator = new OffsetAllocator(4096, ALIGN);
        assertThrows(IllegalArgumentException.class, () -> allocator.allocate(0));
        assertNull(allocator.allocate(8192), "larger than the segment");
    }

    @Test
    void largeSegmentsBeyondFourGigabytes() {
        OffsetAllocator allocator = new OffsetAllocator(64L << 30, 4096);
        Allocation a = allocator.allocate(40L << 30);
        Allocation b = allocator.allocate(20L << 30);
        assertNotNull(a);
        assertNotNull(b);
        assertEquals(40L << 30, b.offset());
        assertNull(allocator.allocate(5L << 30));
        allocator.checkInvariants();
    }

    @Test
    void randomChurnKeepsInvariantsAndNeverHandsOutOverlappingRanges() {
        Random random = new Random(42);
        OffsetAllocator allocator = new OffsetAllocator(8 << 20, ALIGN);
        List<Allocation> live = new ArrayList<>();
        for (int step = 0; step < 20_000; step++) {
            if (live.isEmpty() || random.nextInt(100) < 55) {
                Allocation a = allocator.allocate(1 + random.nextInt(64 * 1024));
                if (a != null) {
                    live.add(a);
                }
            } else {
                allocator.free(live.remove(random.nextInt(live.size())));
            }
            if (step % 1000 == 0) {
                allocator.checkInvariants();
                assertDisjoint(live);
            }
        }
        live.forEach(allocator::free);
        allocator.checkInvariants();
        assertEquals(allocator.capacityBytes(), allocator.largestFreeBytes(), "all merged after freeing everything");
    }

    @Test
    void uniformBlockChurnKeepsUtilisationHigh() {
        // KV-cache blocks are one size: after churn the segment must still fill up almost entirely.
        int block = 256 * 1024;
        OffsetAllocator allocator = new OffsetAllocator(256L << 20, ALIGN);
        Random random = new Random(7);
        List<Allocation> live = new ArrayList<>();
        for (int round = 0; round < 50; round++) {
            Allocation a;
            while ((a = allocator.allocate(block)) != null) {
                live.add(a);
            }
            for (int i = 0; i < live.size() / 3; i++) {
                allocator.free(live.remove(random.nextInt(live.size())));
            }
        }
        Allocation a;
        while ((a = allocator.allocate(block)) != null) {
            live.add(a);
        }
        double utilisation = (double) allocator.usedBytes() / allocator.capacityBytes();
        assertTrue(utilisation >= 0.95, "utilisation " + utilisation);
        allocator.checkInvariants();
    }

    private static void assertDisjoint(List<Allocation> live) {
        List<Allocation> sorted = new ArrayList<>(live);
        sorted.sort(Comparator.comparingLong(Allocation::offset));
        for (int i = 1; i < sorted.size(); i++) {
            Allocation prev = sorted.get(i - 1);
            assertTrue(prev.offset() + prev.length() <= sorted.get(i).offset(), "overlap at " + prev);
        }
    }

    @Test
    void rebuildingFromKnownRangesGivesTheSameUsedAndFreeSpace() {
        OffsetAllocator original = new OffsetAllocator(1 << 20, 64);
        java.util.Random random = new java.util.Random(3);
        java.util.List<Allocation> held = new java.util.ArrayList<>();
        for (int i = 0; i < 400; i++) {
            Allocation a = original.allocate(64 + random.nextInt(8000));
            if (a != null) {
                held.add(a);
            }
            if (!held.isEmpty() && random.nextInt(3) == 0) {
                original.free(held.remove(random.nextInt(held.size())));
            }
        }
        java.util.Collections.shuffle(held, random);
        long[] offsets = held.stream().mapToLong(Allocation::offset).toArray();
        long[] lengths = held.stream().mapToLong(Allocation::length).toArray();
        Allocation[] handles = new Allocation[held.size()];
        OffsetAllocator rebuilt = OffsetAllocator.withAllocated(1 << 20, 64, offsets, lengths, handles);
        rebuilt.checkInvariants();
        assertEquals(original.usedBytes(), rebuilt.usedBytes());
        assertEquals(original.largestFreeBytes(), rebuilt.largestFreeBytes());
        assertEquals(held.size(), rebuilt.allocationCount());
        for (Allocation handle : handles) {
            rebuilt.free(handle);
        }
        rebuilt.checkInvariants();
        assertEquals(0, rebuilt.usedBytes());
        assertEquals(1 << 20, rebuilt.largestFreeBytes(), "every gap merged back into one range");
        assertThrows(
                IllegalArgumentException.class,
                () -> OffsetAllocator.withAllocated(
                        1 << 20, 64, new long[] {0, 64}, new long[] {128, 64}, new Allocation[2]),
                "overlap");
        assertThrows(
                IllegalArgumentException.class,
                () -> OffsetAllocator.withAllocated(
                        1 << 20, 64, new long[] {(1 << 20) - 64}, new long[] {128}, new Allocation[1]),
                "past the end");
    }
}
