package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event ring: resuming after a sequence, and EVENTS_LOST whenever it cannot say what came between. */
class EventJournalTest {

    private static void store(EventJournal journal, String key) {
        journal.appendNext(ObjectEvent.Kind.STORED, key, 1, List.of("seg"));
    }

    private static List<String> keys(List<ObjectEvent> events) {
        return events.stream().map(ObjectEvent::key).toList();
    }

    @Test
    void aWatcherResumesRightAfterTheLastSequenceItSaw() throws Exception {
        EventJournal journal = new EventJournal(16, "s");
        EventJournal.Cursor watcher = journal.now();
        for (int i = 0; i < 5; i++) {
            store(journal, "k" + i);
        }
        List<ObjectEvent> firstTwo = journal.read(watcher, 2, 0);
        assertEquals(List.of("k0", "k1"), keys(firstTwo));
        assertEquals(firstTwo.get(1).sequence(), watcher.position());

        EventJournal.Cursor resumed = journal.after("s", watcher.position());
        assertEquals(List.of("k2", "k3", "k4"), keys(journal.read(resumed, 100, 0)));
        assertEquals(journal.position(), resumed.position(), "at the end a watcher is current up to the journal");
        assertTrue(journal.read(resumed, 100, 0).isEmpty());
    }

    @Test
    void batchesNumberEventsByTheBatchSoReplicasAgree() throws Exception {
        EventJournal journal = new EventJournal(16, "cluster/x");
        EventJournal.Cursor watcher = journal.now();
        journal.appendBatch(
                7,
                List.of(
                        new ObjectEvent(ObjectEvent.sequence(7, 0), ObjectEvent.Kind.STORED, "a", 1, List.of()),
                        new ObjectEvent(ObjectEvent.sequence(7, 1), ObjectEvent.Kind.EVICTED, "b", 1, List.of())));
        journal.appendBatch(8, List.of()); // a mount: no object events, but the journal is current up to it
        List<ObjectEvent> read = journal.read(watcher, 10, 0);
        assertEquals(List.of(7L, 7L), read.stream().map(ObjectEvent::batch).toList());
        assertEquals(ObjectEvent.lastOf(8), watcher.position());
        assertEquals(
                List.of("b"),
                keys(journal.read(journal.after("cluster/x", read.getFirst().sequence()), 10, 0)));
    }

    @Test
    void anotherStreamOrASequenceNoLongerKeptIsRefusedEventsLost() throws Exception {
        EventJournal journal = new EventJournal(4, "s");
        EventJournal.Cursor slow = journal.now();
        store(journal, "k0");
        long first = journal.position();
        for (int i = 1; i < 10; i++) {
            store(journal, "k" + i);
        }
        assertLost(() -> journal.after("another", journal.position()));
        assertLost(() -> journal.after("s", first), "k1..k5 left the ring");
        assertLost(() -> journal.after("s", journal.position() + 1), "ahead of the journal");
        StoreException fell = assertThrows(StoreException.class, () -> journal.read(slow, 10, 0));
        assertEquals(ErrorCode.EVENTS_LOST, fell.code(), "a watcher the ring moved past is told, not skipped ahead");

        List<ObjectEvent> kept = journal.read(journal.after("s", ObjectEvent.lastOf(6)), 10, 0);
        assertEquals(List.of("k6", "k7", "k8", "k9"), keys(kept), "resuming at the oldest kept still works");
    }

    @Test
    void aRestartFromASnapshotKeepsOnlyWhatFollowsIt() throws Exception {
        EventJournal journal = new EventJournal(8, "s");
        EventJournal.Cursor before = journal.now();
        store(journal, "old");
        journal.restartAfter(ObjectEvent.lastOf(40));
        assertLost(() -> journal.after("s", 0));
        assertThrows(StoreException.class, () -> journal.read(before, 10, 0));
        EventJournal.Cursor atSnapshot = journal.after("s", ObjectEvent.lastOf(40));
        // Only a replicated journal restarts; its next entry follows the snapshot.
        journal.appendBatch(
                41,
                List.of(new ObjectEvent(ObjectEvent.sequence(41, 0), ObjectEvent.Kind.STORED, "new", 1, List.of())));
        assertEquals(41, journal.read(atSnapshot, 10, 0).getFirst().batch());
    }

    /** Appends from many threads at once (the put path) lose nothing and read back in sequence order. */
    @Test
    void concurrentAppendsAreAllReadInSequenceOrder() throws Exception {
        EventJournal journal = new EventJournal(1 << 16, "s");
        EventJournal.Cursor watcher = journal.now();
        Thread[] writers = new Thread[8];
        for (int t = 0; t < writers.length; t++) {
            int writer = t;
            writers[t] = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 5_000; i++) {
                    store(journal, writer + "/" + i);
                }
            });
        }
        List<ObjectEvent> seen = new ArrayList<>();
        while (seen.size() < 40_000) {
            seen.addAll(journal.read(watcher, 1_000, 1_000));
        }
        for (Thread writer : writers) {
            writer.join();
        }
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).sequence() > seen.get(i - 1).sequence(), "in order at " + i);
        }
        assertEquals(40_000, seen.stream().map(ObjectEvent::key).distinct().count(), "each once");
        for (int t = 0; t < writers.length; t++) {
            String prefix = t + "/";
            List<String> own = seen.stream()
                    .map(ObjectEvent::key)
                    .filter(k -> k.startsWith(prefix))
                    .toList();
            assertEquals(prefix + "0", own.getFirst());
            assertEquals(prefix + "4999", own.getLast(), "each writer's events in its own order");
        }
    }

    @Test
    void aWaitingReaderWakesWhenAnEventArrives() throws Exception {
        EventJournal journal = new EventJournal(8, "s");
        EventJournal.Cursor watcher = journal.now();
        CompletableFuture<List<ObjectEvent>> read = CompletableFuture.supplyAsync(() -> {
            try {
                return journal.read(watcher, 10, 10_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        store(journal, "k");
        assertEquals(List.of("k"), keys(read.get(2, TimeUnit.SECONDS)), "woken by the append, not the timeout");
    }

    private static void assertLost(org.junit.jupiter.api.function.Executable call) {
        assertLost(call, "");
    }

    private static void assertLost(org.junit.jupiter.api.function.Executable call, String why) {
        assertEquals(
                ErrorCode.EVENTS_LOST,
                assertThrows(StoreException.class, call, why).code(),
                why);
    }

    /**
     * A reader concurrent with the writer of a replicated journal sees each batch whole or not at all: a router gets
     * one message per op-log entry, and half a batch published under its number, then the other half under the
     * same number, made the ZeroMQ stream disagree with a replay of it (seen in MasterFailoverIT under load).
     */
    @Test
    void aConcurrentReaderSeesEachBatchWhole() throws Exception {
        int perBatch = 40;
        int batches = 3_000;
        EventJournal journal = new EventJournal(1 << 16, "s");
        EventJournal.Cursor reader = journal.now();
        Thread writer = Thread.ofPlatform().start(() -> {
            for (long batch = 1; batch <= batches; batch++) {
                List<ObjectEvent> events = new java.util.ArrayList<>();
                for (int e = 0; e < perBatch; e++) {
                    events.add(new ObjectEvent(
                            ObjectEvent.sequence(batch, e),
                            ObjectEvent.Kind.STORED,
                            "k" + batch + "-" + e,
                            1,
                            List.of("seg")));
                }
                journal.appendBatch(batch, events);
            }
        });
        java.util.Map<Long, Integer> seen = new java.util.HashMap<>();
        long partial = 0;
        while (seen.size() < batches) {
            List<ObjectEvent> read = journal.read(reader, 4096, 50);
            java.util.Map<Long, Integer> counts = new java.util.HashMap<>();
            read.forEach(event -> counts.merge(event.batch(), 1, Integer::sum));
            for (var batch : counts.entrySet()) {
                partial += batch.getValue() == perBatch ? 0 : 1;
                seen.merge(batch.getKey(), batch.getValue(), Integer::sum);
            }
        }
        writer.join();
        assertEquals(0, partial, "reads that held part of a batch");
        assertTrue(seen.values().stream().allMatch(n -> n == perBatch));
    }

    @Test
    void aWriterALapAheadWaitsForTheSlotsWriterSoNoEventIsHalfOfOneAndHalfOfAnother() throws Exception {
        // A ring of one slot. Writer "a" is held halfway through filling it (its segment list answers only when let
        // go, as a writer preempted there would); writer "b", a lap ahead, must wait for it, not fill the same slot
        // meanwhile, or the slot ends up with b's key and a's segments.
        EventJournal journal = new EventJournal(1, "s");
        CountDownLatch filling = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        List<String> slowSegments = new AbstractList<>() {
            @Override
            public int size() {
                filling.countDown();
                try {
                    letGo.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 1;
            }

            @Override
            public String get(int index) {
                return "segA";
            }
        };
        Thread a = Thread.ofPlatform().start(() -> journal.appendNext(ObjectEvent.Kind.STORED, "a", 1, slowSegments));
        assertTrue(filling.await(10, TimeUnit.SECONDS));
        Thread b =
                Thread.ofPlatform().start(() -> journal.appendNext(ObjectEvent.Kind.REMOVED, "b", 2, List.of("segB")));
        b.join(200);
        assertTrue(b.isAlive(), "b waits while a fills the slot");
        letGo.countDown();
        a.join(10_000);
        b.join(10_000);

        List<ObjectEvent> kept = journal.read(journal.keptAfter(-1), 10, 0);
        assertEquals(1, kept.size(), "the ring holds the later event");
        ObjectEvent event = kept.getFirst();
        assertEquals("b", event.key());
        assertEquals(2, event.size());
        assertEquals(ObjectEvent.Kind.REMOVED, event.kind());
        assertEquals(List.of("segB"), event.segments());
        assertEquals(ObjectEvent.sequence(2, 0), event.sequence());
        assertEquals(ObjectEvent.sequence(2, 0), journal.position());
    }
}
