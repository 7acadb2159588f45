package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.EventJournal;
import dev.crescent.master.ObjectEvent;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The op-log round trip: batches written by a leader, snapshots and compaction, a standby's replay. */
class OpLogTest {
    private final EmbeddedMetadataStore store = new EmbeddedMetadataStore(InstantSource.system());
    private final MetadataKeys keys = new MetadataKeys("t");
    private final ObjectMapper json = new ObjectMapper();
    private final OpLogSnapshots snapshots = new OpLogSnapshots(store, keys.snapshots(), keys.oplog(), json);

    @AfterEach
    void close() {
        store.close();
    }

    private long lead() {
        store.put(keys.leader(), "me".getBytes(StandardCharsets.UTF_8), 0);
        return store.get(keys.leader()).orElseThrow().modRevision();
    }

    private static OpLogEntry commit(String key, long offset) {
        return new OpLogEntry.Commit(
                key, 100, "c", List.of(new OpLogEntry.Range("seg", offset, 100)), false, false, 1, offset);
    }

    @Test
    void aStandbyRebuildsTheLeadersStateFromSnapshotAndLogAndTheLogIsCompacted() throws Exception {
        EtcdOpLog opLog = new EtcdOpLog(
                store, keys.oplog(), keys.leader(), lead(), 1, json, () -> {}, new ReplicatedIndex(), snapshots, 5);
        opLog.record(new OpLogEntry.Mount("seg", "w", 1 << 20, "")).get(5, TimeUnit.SECONDS);
        for (int i = 1; i <= 12; i++) {
            opLog.record(commit("k" + i, i * 128L)).get(5, TimeUnit.SECONDS);
        }
        opLog.record(new OpLogEntry.Drop("k3")).get(5, TimeUnit.SECONDS);
        assertEquals(14, opLog.lastWritten(), "one batch per durable record: mount, 12 commits, drop");
        assertEquals(0, opLog.pending());
        opLog.close();

        assertTrue(store.getPrefix(keys.oplog()).size() < 14, "entries behind the last snapshot were deleted");
        assertEquals(
                10,
                snapshots.latest().orElseThrow().sequence(),
                "snapshots at 5 and 10 ops (the next waits for 10 more: the index has 10 entries)");

        OpLogTailer standby = new OpLogTailer(store, keys.oplog(), snapshots, json, null);
        assertEquals(14, standby.appliedSequence());
        assertEquals(
                List.of("seg"),
                standby.index().segments().stream()
                        .map(OpLogEntry.Mount::segment)
                        .toList());
        assertEquals(11, standby.index().objects().size());
        assertTrue(standby.index().objects().stream().noneMatch(op -> op.key().equals("k3")));
        standby.close();
    }

    /**
     * A snapshot writes the whole index, so the log behind one grows at least as long as it before the next: with
     * snapshot-every 5, snapshots of 5 and 10 entries are followed by one of 20, not by one every 5 ops.
     */
    @Test
    void snapshotsComeNoMoreOftenThanTheIndexHasEntries() throws Exception {
        EtcdOpLog opLog = new EtcdOpLog(
                store, keys.oplog(), keys.leader(), lead(), 1, json, () -> {}, new ReplicatedIndex(), snapshots, 5);
        opLog.record(new OpLogEntry.Mount("seg", "w", 1 << 20, "")).get(5, TimeUnit.SECONDS);
        for (int i = 1; i <= 30; i++) {
            opLog.record(commit("k" + i, i * 128L)).get(5, TimeUnit.SECONDS);
        }
        opLog.close();
        assertEquals(31, opLog.lastWritten());
        assertEquals(20, snapshots.latest().orElseThrow().sequence(), "snapshots at entries 5, 10 and 20");

        OpLogTailer standby = new OpLogTailer(store, keys.oplog(), snapshots, json, null);
        assertEquals(31, standby.appliedSequence());
        assertEquals(30, standby.index().objects().size(), "the snapshot and the log behind it give every object");
        standby.close();
    }

    /**
     * Events come from op-log entries as they become durable: the leader's mirror and a standby's replay journal
     * the same events under the same sequences, so a watcher resumes on the next leader where it stopped. A standby
     * that starts from a snapshot can resume watchers only after it.
     */
    @Test
    void leaderAndStandbyJournalTheSameEventsUnderTheSameSequences() throws Exception {
        EventJournal leaderEvents = new EventJournal(64, "cluster/t");
        EventJournal standbyEvents = new EventJournal(64, "cluster/t");
        OpLogTailer standby = new OpLogTailer(store, keys.oplog(), snapshots, json, standbyEvents);
        EventJournal.Cursor onLeader = leaderEvents.now();
        EventJournal.Cursor onStandby = standbyEvents.now();
        EtcdOpLog opLog = new EtcdOpLog(
                store,
                keys.oplog(),
                keys.leader(),
                lead(),
                1,
                json,
                () -> {},
                new ReplicatedIndex(leaderEvents),
                snapshots,
                4);
        opLog.record(new OpLogEntry.Mount("seg", "w", 1 << 20, "")).get(5, TimeUnit.SECONDS);
        for (int i = 1; i <= 3; i++) {
            opLog.record(commit("k" + i, i * 128L)).get(5, TimeUnit.SECONDS);
        }
        opLog.record(new OpLogEntry.Drop("k1", ObjectEvent.Kind.EVICTED)).get(5, TimeUnit.SECONDS);
        opLog.record(new OpLogEntry.Drop("k2")).get(5, TimeUnit.SECONDS);
        opLog.record(new OpLogEntry.Unmount("seg")).get(5, TimeUnit.SECONDS);
        long deadline = System.currentTimeMillis() + 5_000;
        while (standby.appliedSequence() < opLog.lastWritten() && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
        }

        // The leader's mirror journals an entry once it is durable, which may come just after record's future: wait.
        List<ObjectEvent> led = new ArrayList<>();
        while (led.size() < 6 && System.currentTimeMillis() < deadline) {
            led.addAll(leaderEvents.read(onLeader, 100, 100));
        }
        assertEquals(
                List.of("STORED k1", "STORED k2", "STORED k3", "EVICTED k1", "REMOVED k2", "REMOVED k3"),
                led.stream().map(e -> e.kind() + " " + e.key()).toList(),
                "k3 went with its only segment");
        assertEquals(led, standbyEvents.read(onStandby, 100, 0), "the same events, numbered alike");
        assertEquals(leaderEvents.position(), standbyEvents.position());
        standby.close();

        EventJournal lateEvents = new EventJournal(64, "cluster/t");
        OpLogTailer late = new OpLogTailer(store, keys.oplog(), snapshots, json, lateEvents);
        long snapshot = snapshots.latest().orElseThrow().sequence();
        assertEquals(
                ErrorCode.EVENTS_LOST,
                assertThrows(
                                StoreException.class,
                                () -> lateEvents.after(
                                        "cluster/t", led.getFirst().sequence()))
                        .code(),
                "before its snapshot a late standby cannot say what happened");
        List<ObjectEvent> afterSnapshot =
                lateEvents.read(lateEvents.after("cluster/t", ObjectEvent.lastOf(snapshot)), 100, 0);
        assertEquals(
                led.stream().filter(e -> e.batch() > snapshot).toList(),
                afterSnapshot,
                "after it, the same events as everyone");
        late.close();
        opLog.close();
    }

    @Test
    void aDeposedLeaderCannotAppendAndIsToldSo() throws Exception {
        long revision = lead();
        CompletableFuture<Void> superseded = new CompletableFuture<>();
        EtcdOpLog opLog = new EtcdOpLog(
                store,
                keys.oplog(),
                keys.leader(),
                revision,
                1,
                json,
                () -> superseded.complete(null),
                new ReplicatedIndex(),
                snapshots,
                1000);
        opLog.record(commit("before", 0)).get(5, TimeUnit.SECONDS);
        store.put(keys.leader(), "successor".getBytes(StandardCharsets.UTF_8), 0);
        CompletableFuture<Void> refused = opLog.record(commit("after", 128));
        superseded.get(5, TimeUnit.SECONDS);
        assertThrows(Exception.class, () -> refused.get(5, TimeUnit.SECONDS));
        assertEquals(1, store.getPrefix(keys.oplog()).size(), "nothing was appended after the take-over");
        opLog.close();
    }
}
