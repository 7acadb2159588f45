package dev.crescent.worker;

import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.shm.ShmFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Segments on hugetlbfs, the setting the README gives for RDMA's huge pages ({@code crescent.worker.shm-dir} on a
 * hugetlbfs mount): hugetlbfs refuses writes and any length that is not a whole number of huge pages, so a worker
 * there did not start (issue 20, twenty-second round). The test reserves a few huge pages and mounts hugetlbfs in a
 * directory of its own, and gives both back after; it is skipped where it cannot (not root, no hugetlbfs, no free
 * pages).
 */
class HugePageSegmentTest {
    private static final Path NR_HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");
    private static final int RESERVED = 8;
    private static final long CAPACITY = 4 << 20;
    private static final Duration RETENTION = Duration.ofMinutes(10);

    private static Path mount;
    private static long reservedBefore = -1;
    private static long hugePage;

    @BeforeAll
    static void mountHugetlbfs() throws Exception {
        assumeTrue(Files.readString(Path.of("/proc/filesystems")).contains("hugetlbfs"), "no hugetlbfs in this kernel");
        hugePage = meminfo("Hugepagesize") * 1024;
        long before = Long.parseLong(Files.readString(NR_HUGEPAGES).trim());
        try {
            Files.writeString(NR_HUGEPAGES, Long.toString(before + RESERVED));
        } catch (IOException e) {
            assumeTrue(false, "cannot reserve huge pages (needs root): " + e.getMessage());
        }
        reservedBefore = before;
        assumeTrue(meminfo("HugePages_Free") >= RESERVED, "the kernel found no free huge pages to reserve");
        Path directory = Files.createTempDirectory("crescent-hugetlbfs");
        assumeTrue(run("mount", "-t", "hugetlbfs", "none", directory.toString()), "cannot mount hugetlbfs");
        mount = directory;
    }

    @AfterAll
    static void giveBack() throws Exception {
        if (mount != null) {
            run("umount", mount.toString());
            Files.deleteIfExists(mount);
        }
        if (reservedBefore >= 0) {
            Files.writeString(NR_HUGEPAGES, Long.toString(reservedBefore));
        }
    }

    private static WorkerSegment open(String name) {
        return WorkerSegment.open(name, CAPACITY, mount, null, RETENTION, true);
    }

    @Test
    void aSegmentOnHugetlbfsStartsInWholeHugePagesAndItsBytesComeFromThem() throws Exception {
        long freeBefore = meminfo("HugePages_Free");
        try (WorkerSegment segment = open("huge")) {
            long length = Files.size(segment.backingFile());
            assertEquals(0, length % hugePage, "hugetlbfs takes whole huge pages: " + length);
            assertTrue(length >= VersionTable.fileBytes(CAPACITY));

            byte[] value = {4, 5, 6, 7};
            segment.memory().asSlice(CAPACITY - value.length).copyFrom(MemorySegment.ofArray(value));
            assertArrayEquals(
                    value, segment.memory().asSlice(CAPACITY - value.length).toArray(ValueLayout.JAVA_BYTE));
            segment.memory().fill((byte) 1); // every page touched
            assertEquals(
                    freeBefore - length / hugePage,
                    meminfo("HugePages_Free"),
                    "the file's pages are the reserved huge pages");

            // What a same-host reader and the master do with the file: map it, find the segment's bytes and table.
            Path verified = ShmFiles.verify(segment.backingFile().toString(), "huge", Set.of(mount));
            try (Arena arena = Arena.ofShared()) {
                MemorySegment mapped = ShmFiles.map(verified, arena);
                assertEquals(CAPACITY, VersionTable.segmentBytes(mapped));
                assertNotNull(VersionTable.of(mapped, CAPACITY), "the version table is found from the file's end");
                assertEquals(segment.contentsId(), VersionTable.contentsId(mapped, CAPACITY));
                assertEquals(1, mapped.get(ValueLayout.JAVA_BYTE, 12345));
            }
        }
        assertEquals(freeBefore, meminfo("HugePages_Free"), "closing gives the pages back");
    }

    @Test
    void aSegmentLeftOnHugetlbfsIsAdoptedAndClearedThere() throws Exception {
        WorkerSegment first = open("kept");
        first.memory().set(ValueLayout.JAVA_BYTE, 4096, (byte) 3);
        long contentsId = first.contentsId();
        Path left = ShmFiles.file(mount, "kept", SegmentAdoptionTest.deadPid());
        Files.move(first.backingFile(), left);
        first.close();

        try (WorkerSegment second = open("kept")) {
            assertTrue(second.holdsContents(), "adopted, not deleted as a file of another size");
            assertEquals(contentsId, second.contentsId());
            assertEquals(3, second.memory().get(ValueLayout.JAVA_BYTE, 4096));

            long length = Files.size(second.backingFile());
            second.clearContents(); // cut to nothing and extended again: the one other place a file is sized
            assertEquals(length, Files.size(second.backingFile()));
            assertEquals(0, second.memory().get(ValueLayout.JAVA_BYTE, 4096), "cleared");
            assertFalse(second.holdsContents());
            try (Arena arena = Arena.ofShared()) {
                MemorySegment mapped = ShmFiles.map(second.backingFile(), arena);
                assertEquals(contentsId, VersionTable.contentsId(mapped, CAPACITY), "the trailer is written again");
            }
        }
    }

    private static long meminfo(String field) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/meminfo"));
        for (String line : lines) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no " + field + " in /proc/meminfo");
    }

    private static boolean run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        return process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0;
    }
}
