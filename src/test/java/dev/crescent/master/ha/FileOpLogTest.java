package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.transfer.SegmentDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.InstantSource;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The op-log file of a master without etcd: what a master acknowledged is there when it starts again, a change cut
 * short by a crash is dropped without losing what came before, and compaction keeps the file to one state.
 */
class FileOpLogTest {
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

    private static Master master() {
        return new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), InstantSource.system());
    }

    /** A master as a restart makes it: restored from the file, then logging to it. */
    private Master restarted(Path file, long compactEvery) {
        FileOpLog log = FileOpLog.open(file, json, compactEvery);
        Master master = master();
        master.restore(log.state());
        master.attachOpLog(log);
        return master;
    }

    private static void put(Master master, String key, long crc32c) {
        master.putStart("writer", key, 1000, 1, false);
        master.putEnd("writer", key, crc32c);
    }

    @Test
    void aRestartedMasterHasEveryAcknowledgedObjectAndNoRemovedOne() {
        Path file = dir.resolve("oplog");
        Master first = restarted(file, 10_000);
        first.mountSegment("worker", new SegmentDescriptor("seg", 1 << 20, "e", 0xABCL), false);
        for (int i = 0; i < 10; i++) {
            put(first, "k" + i, i);
        }
        first.remove("k3", false);
        first.putStart("writer", "unfinished", 1000, 1, false); // never ended: not an object

        Master second = restarted(file, 10_000);
        for (int i = 0; i < 10; i++) {
            assertEquals(i != 3, second.exist("k" + i), "k" + i);
        }
        assertEquals(7L, second.getReplicaList("k7").crc32c());
        assertFalse(second.exist("unfinished"));
        assertEquals(
                first.getReplicaList("k5").replicas(),
                second.getReplicaList("k5").replicas(),
                "the same range of the same segment");
        // The worker, restarted too, takes its segment over by the contents id the file kept.
        second.mountSegment("worker-restarted", new SegmentDescriptor("seg", 1 << 20, "e2", 0xABCL), true);
        assertEquals("e2", second.getReplicaList("k5").replicas().getFirst().endpoint());

        put(second, "after", 42);
        assertTrue(restarted(file, 10_000).exist("after"), "a restarted master logs to the file too");
    }

    @Test
    void aChangeCutShortByACrashIsDroppedAndTheRestKept() throws Exception {
        Path file = dir.resolve("oplog");
        Master first = restarted(file, 10_000);
        first.mountSegment("worker", "seg", 1 << 20, "e");
        put(first, "whole", 1);
        long whole = Files.size(file);
        Files.write(file, new byte[] {0, 0, 1, 0, '[', '{'}, StandardOpenOption.APPEND); // a frame half written

        Master second = restarted(file, 10_000);
        assertTrue(second.exist("whole"));
        assertEquals(whole, Files.size(file), "the torn frame is cut off before appending");
        put(second, "next", 2);
        assertTrue(restarted(file, 10_000).exist("next"), "changes after the torn frame are replayed");
    }

    @Test
    void compactionKeepsTheFileToOneStateAndLosesNothing() throws Exception {
        Path file = dir.resolve("oplog");
        Master first = restarted(file, 8);
        first.mountSegment("worker", "seg", 1 << 20, "e");
        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < 5; i++) {
                put(first, "k" + i, round);
                first.remove("k" + i, false);
            }
        }
        put(first, "kept", 9);
        long compacted = Files.size(file);

        FileOpLog reopened = FileOpLog.open(file, json, 8);
        assertEquals(
                List.of("kept"),
                reopened.state().objects().stream().map(OpLogEntry.Commit::key).toList());
        assertTrue(compacted < 4000, "a hundred changes compacted away: " + compacted + " bytes");
        assertFalse(Files.exists(file.resolveSibling("oplog.next")));
    }
}
