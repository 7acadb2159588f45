package dev.crescent.worker;

import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.shm.ShmFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A segment file outlives its process (issue 21, lossless worker restart): a restarted segment adopts the file its
 * dead predecessor left, bytes and contents id, and deletes one it cannot trust, saying why; files of other segments
 * are kept for their own restart until the retention ends; memory the master no longer holds objects in is cleared
 * before it is mounted again.
 */
class SegmentAdoptionTest {
    private static final long CAPACITY = 1 << 20;
    private static final Duration RETENTION = Duration.ofMinutes(10);

    @TempDir
    Path shm;

    /** A pid no process has now: the process ran and ended. */
    static long deadPid() throws Exception {
        Process process = new ProcessBuilder("true").start();
        process.waitFor();
        return process.pid();
    }

    private WorkerSegment open(String name, long capacity) {
        return WorkerSegment.open(name, capacity, shm, null, RETENTION, true);
    }

    /** Leaves {@code segment}'s file behind as a process killed with it mapped would (its name then bears that pid). */
    private Path leaveBehind(WorkerSegment segment) throws Exception {
        Path left = ShmFiles.file(shm, segment.name(), deadPid());
        Files.move(segment.backingFile(), left);
        segment.close();
        return left;
    }

    private static byte[] bytes(MemorySegment memory, long offset, int length) {
        return memory.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
    }

    @Test
    void aFileLeftByADeadProcessIsAdoptedWithItsBytesAndContentsId() throws Exception {
        WorkerSegment first = open("w", CAPACITY);
        assertFalse(first.holdsContents(), "a new file holds nothing");
        first.memory().asSlice(4096, 3).copyFrom(MemorySegment.ofArray(new byte[] {1, 2, 3}));
        long contentsId = first.contentsId();
        Path left = leaveBehind(first);

        try (WorkerSegment second = open("w", CAPACITY)) {
            assertTrue(second.holdsContents());
            assertEquals(contentsId, second.contentsId());
            assertArrayEquals(new byte[] {1, 2, 3}, bytes(second.memory(), 4096, 3));
            assertEquals(ShmFiles.file(shm, "w", ProcessHandle.current().pid()), second.backingFile());
            assertFalse(Files.exists(left), "renamed to this process's name, not copied");

            second.clearContents();
            assertFalse(second.holdsContents());
            assertArrayEquals(new byte[3], bytes(second.memory(), 4096, 3), "cleared memory shows no earlier bytes");
        }
    }

    @Test
    void aFileLeftUnderThisProcesssOwnPidIsAdoptedToo() throws Exception {
        // A container restarted in the same pid namespace: the new worker has the pid the old one had.
        WorkerSegment first = open("w", CAPACITY);
        first.memory().set(ValueLayout.JAVA_BYTE, 8, (byte) 7);
        long contentsId = first.contentsId();
        Path own = ShmFiles.file(shm, "w", ProcessHandle.current().pid());
        Path kept = shm.resolve("kept");
        Files.move(first.backingFile(), kept);
        first.close();
        Files.move(kept, own);

        try (WorkerSegment second = open("w", CAPACITY)) {
            assertTrue(second.holdsContents());
            assertEquals(contentsId, second.contentsId());
            assertEquals(7, second.memory().get(ValueLayout.JAVA_BYTE, 8));
            assertEquals(own, second.backingFile());
        }
    }

    @Test
    void aFileThatCannotBeTrustedIsDeletedAndTheSegmentStartsEmpty() throws Exception {
        WorkerSegment resized = open("w", CAPACITY);
        long firstId = resized.contentsId();
        resized.memory().set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
        Path left = leaveBehind(resized);
        try (WorkerSegment second = open("w", 2 * CAPACITY)) {
            assertFalse(second.holdsContents(), "the segment size changed: not its file");
            assertNotEquals(firstId, second.contentsId());
            assertEquals(0, second.memory().get(ValueLayout.JAVA_BYTE, 0));
            assertFalse(Files.exists(left));
        }

        WorkerSegment damaged = open("d", CAPACITY);
        Path file = leaveBehind(damaged);
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.allocate(40), Files.size(file) - 40); // trailer and contents id gone
        }
        try (WorkerSegment second = open("d", CAPACITY)) {
            assertFalse(second.holdsContents(), "no contents id: nothing to show the master");
            assertFalse(Files.exists(file));
        }
    }

    @Test
    void filesOfOtherSegmentsAreKeptForTheirRestartUntilTheRetentionEnds() throws Exception {
        Path other = leaveBehind(open("other", CAPACITY));
        open("w", CAPACITY).close();
        assertTrue(Files.exists(other), "its owner died just now: kept for its restart");

        Files.setLastModifiedTime(
                other, FileTime.from(Instant.now().minus(RETENTION).minusSeconds(60)));
        open("w", CAPACITY).close();
        assertFalse(Files.exists(other), "last stamped alive longer ago than the retention");
    }

    @Test
    void aSegmentCreatedWithoutAdoptionDeletesWhatItsPredecessorLeft() throws Exception {
        Path left = leaveBehind(open("w", CAPACITY));
        try (WorkerSegment fresh = WorkerSegment.create("w", CAPACITY, shm)) {
            assertFalse(fresh.holdsContents());
            assertFalse(Files.exists(left));
        }
    }

    @Test
    void aMasterThatDoesNotHoldTheObjectsGetsTheMemoryClearedAndOneThatDoesKeepsThem() throws Exception {
        Master master =
                new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), InstantSource.system());
        WorkerSegment first = open("w", CAPACITY);
        first.memory().set(ValueLayout.JAVA_BYTE, 100, (byte) 5);
        SegmentMembership firstMembership = new SegmentMembership(master, "first", descriptor(first), first);
        firstMembership.tick();
        assertTrue(firstMembership.mounted());
        leaveBehind(first);

        try (WorkerSegment second = open("w", CAPACITY)) {
            SegmentMembership membership = new SegmentMembership(master, "second", descriptor(second), second);
            membership.tick();
            assertTrue(membership.mounted(), "taken over from the dead first process");
            assertEquals(5, second.memory().get(ValueLayout.JAVA_BYTE, 100), "the master holds it: bytes kept");
            assertEquals("second", master.segmentViews().getFirst().owner());
        }

        Master restarted =
                new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), InstantSource.system());
        WorkerSegment third = open("w2", CAPACITY);
        third.memory().set(ValueLayout.JAVA_BYTE, 100, (byte) 5);
        leaveBehind(third);
        try (WorkerSegment fourth = open("w2", CAPACITY)) {
            assertTrue(fourth.holdsContents());
            SegmentMembership membership = new SegmentMembership(restarted, "fourth", descriptor(fourth), fourth);
            membership.tick();
            assertTrue(membership.mounted(), "mounted empty");
            assertEquals(0, fourth.memory().get(ValueLayout.JAVA_BYTE, 100), "cleared before it was mounted");
            assertFalse(fourth.holdsContents());
        }
    }

    private static SegmentDescriptor descriptor(WorkerSegment segment) {
        return new SegmentDescriptor(segment.name(), segment.capacity(), "", segment.contentsId());
    }

    @Test
    void stampingMarksTheFileAlive() throws IOException {
        try (WorkerSegment segment = open("w", CAPACITY)) {
            Files.setLastModifiedTime(segment.backingFile(), FileTime.from(Instant.EPOCH));
            segment.stampAlive();
            assertTrue(Files.getLastModifiedTime(segment.backingFile())
                    .toInstant()
                    .isAfter(Instant.now().minusSeconds(60)));
        }
    }
}
