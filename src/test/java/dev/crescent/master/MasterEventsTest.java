package dev.crescent.master;

import dev.crescent.master.eviction.FifoEviction;
import dev.crescent.master.placement.RandomPlacement;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a single master (no op-log) journals: one event per change to the readable objects, and only those. */
class MasterEventsTest {
    private static final int BLOCK = 1024;
    private final ManualClock clock = new ManualClock();
    private final Master master =
            new Master(MasterSettings.defaults(), new RandomPlacement(), new FifoEviction(), clock);
    private final EventJournal.Cursor watcher = master.events().now();

    private record Seen(ObjectEvent.Kind kind, String key, long size, List<String> segments) {}

    private List<Seen> seen() throws InterruptedException {
        return master.events().read(watcher, 100, 0).stream()
                .map(e -> new Seen(e.kind(), e.key(), e.size(), e.segments()))
                .toList();
    }

    private void put(String key, long size, boolean upsert) {
        master.putStart("c", key, size, 2, upsert);
        master.putEnd("c", key);
        clock.advance(Duration.ofSeconds(1));
    }

    @Test
    void putsRemovalsUpsertsEvictionsAndLostSegmentsEachSayWhatHappened() throws Exception {
        master.mountSegment("w1", "seg1", 10 * BLOCK, "");
        master.mountSegment("w2", "seg2", 10 * BLOCK, "");
        assertTrue(seen().isEmpty(), "mounts change no object");

        put("a", BLOCK, false);
        put("b", 2 * BLOCK, false);
        List<Seen> stored = seen();
        assertEquals(2, stored.size());
        assertEquals(new Seen(ObjectEvent.Kind.STORED, "a", BLOCK, stored.get(0).segments()), stored.get(0));
        assertEquals(
                List.of("seg1", "seg2"),
                stored.get(1).segments().stream().sorted().toList(),
                "both replicas' segments");

        master.putStart("c", "unfinished", BLOCK, 1, false);
        master.putRevoke("c", "unfinished");
        assertTrue(seen().isEmpty(), "a put that never ended was never readable: no event");

        put("a", 3 * BLOCK, true);
        List<Seen> upserted = seen();
        assertEquals(
                List.of(ObjectEvent.Kind.REMOVED, ObjectEvent.Kind.STORED),
                upserted.stream().map(Seen::kind).toList());
        assertEquals(
                List.of((long) BLOCK, 3L * BLOCK),
                upserted.stream().map(Seen::size).toList());

        master.remove("b", true);
        assertEquals(
                List.of(new Seen(
                        ObjectEvent.Kind.REMOVED, "b", 2 * BLOCK, stored.get(1).segments())),
                seen());

        clock.advance(Duration.ofMinutes(1)); // every lease over
        master.evict(1);
        List<Seen> evicted = seen();
        assertEquals(
                List.of(ObjectEvent.Kind.EVICTED),
                evicted.stream().map(Seen::kind).toList());
        assertEquals("a", evicted.getFirst().key());

        put("c", BLOCK, false);
        seen();
        master.unmountSegment("w1", "seg1");
        assertTrue(seen().isEmpty(), "c keeps its replica on seg2");
        master.unmountSegment("w2", "seg2");
        assertEquals(List.of(new Seen(ObjectEvent.Kind.REMOVED, "c", BLOCK, List.of("seg2"))), seen());
    }
}
