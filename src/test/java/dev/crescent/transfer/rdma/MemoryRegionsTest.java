package dev.crescent.transfer.rdma;

import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.crescent.transfer.rdma.MemoryRegions.HUGE_PAGE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MemoryRegionsTest {
    private static final long GiB = 1L << 30;

    @Test
    void aSegmentWithinTheDevicesLimitIsOneRegion() {
        assertEquals(List.of(new MemoryRegions.Chunk(0, 0, 3 * GiB)), MemoryRegions.plan(3 * GiB, 1L << 40, false));
    }

    @Test
    void aLargerSegmentIsCutIntoPageAlignedRegionsNoLargerThanTheLimit() {
        long limit = GiB + 100; // not a page multiple: chunks are cut at the last page boundary below it
        List<MemoryRegions.Chunk> chunks = MemoryRegions.plan(3 * GiB + 8192, limit, false);
        assertEquals(4, chunks.size());
        for (MemoryRegions.Chunk chunk : chunks) {
            assertEquals(0, chunk.offset() % MemoryRegions.PAGE);
            assertEquals(true, chunk.length() <= limit);
        }
        assertEquals(8192, chunks.getLast().length());
        assertEquals(
                3 * GiB + 8192,
                chunks.stream().mapToLong(MemoryRegions.Chunk::length).sum());
    }

    @Test
    void hugePagesAreNeverSplitBetweenRegions() {
        List<MemoryRegions.Chunk> chunks = MemoryRegions.plan(64 * HUGE_PAGE, 5 * HUGE_PAGE + 4096, true);
        assertEquals(13, chunks.size());
        chunks.forEach(c -> assertEquals(0, c.offset() % HUGE_PAGE));
        assertEquals(5 * HUGE_PAGE, chunks.getFirst().length());
        assertThrows(
                StoreException.class,
                () -> MemoryRegions.plan(HUGE_PAGE + 4096, GiB, true),
                "a huge-page segment must be whole huge pages");
        assertThrows(
                StoreException.class,
                () -> MemoryRegions.plan(GiB, 4096, true),
                "a device limit below one huge page cannot hold any");
    }

    @Test
    void rangesAreCutWhereTheyCrossIntoTheNextRegion() {
        List<MemoryRegions.Chunk> chunks = MemoryRegions.plan(10 * 4096, 4 * 4096, false); // 4 + 4 + 2 pages
        assertEquals(List.of(new MemoryRegions.Piece(0, 4096, 100)), MemoryRegions.locate(chunks, 4096, 100));
        assertEquals(
                List.of(
                        new MemoryRegions.Piece(0, 3 * 4096, 4096),
                        new MemoryRegions.Piece(1, 0, 4096 * 4),
                        new MemoryRegions.Piece(2, 0, 10)),
                MemoryRegions.locate(chunks, 3 * 4096, 4096 * 5 + 10));
        assertEquals(List.of(new MemoryRegions.Piece(2, 4096, 4096)), MemoryRegions.locate(chunks, 9 * 4096, 4096));
        assertThrows(StoreException.class, () -> MemoryRegions.locate(chunks, 9 * 4096, 4097));
        assertThrows(StoreException.class, () -> MemoryRegions.locate(chunks, -1, 10));
        assertThrows(StoreException.class, () -> MemoryRegions.locate(chunks, 0, 0));
    }
}
