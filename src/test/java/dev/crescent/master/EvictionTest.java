package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.FifoEviction;
import dev.crescent.master.eviction.LfuEviction;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Eviction: which objects go, which never go, and when it runs. One 10-block segment, blocks of 1 KiB. */
class EvictionTest {
    private static final int BLOCK = 1024;
    private final ManualClock clock = new ManualClock();

    private Master master(EvictionPolicy policy) {
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), policy, clock);
        master.mountSegment("w", "seg", 10 * BLOCK, "");
        return master;
    }

    private void put(Master master, String key) {
        master.putStart("c", key, BLOCK, 0, false);
        master.putEnd("c", key);
        clock.advance(Duration.ofSeconds(1));
    }

    /** Stores k0..k9 (full segment), one second apart, with every lease over by the end. */
    private Master full(EvictionPolicy policy) {
        Master master = master(policy);
        for (int i = 0; i < 10; i++) {
            put(master, "k" + i);
        }
        return master;
    }

    /**
     * The ranges one round of eviction frees need not lie side by side: a put larger than each of them evicts again
     * until a hole fits it, rather than answering NO_AVAILABLE_HANDLE with most of the segment free.
     */
    @Test
    void aPutEvictsUntilAHoleFitsItNotJustOneRound() {
        Master master = full(new LruEviction());
        for (int i = 0; i < 10; i += 2) { // the even keys were read: the odd ones, scattered, go first
            ObjectLocation read = master.getReplicaList("k" + i);
            master.releaseLeases(List.of(ReadLease.of("k" + i, read)));
            clock.advance(Duration.ofMillis(10));
        }

        master.putStart("c", "wide", 3 * BLOCK, 0, false);
        master.putEnd("c", "wide");

        assertTrue(master.exist("wide"));
        assertTrue(
                master.stats().evictedObjects() > 3,
                "more than one round went: " + master.stats().evictedObjects());
    }

    /**
     * Issue 24: under overwrite-heavy load no policy prefers a version written a moment ago. Every key is read once
     * (its lease handed back), then k0 is rewritten in place; the next put must evict k1, the oldest, not k0. (LFU
     * evicted the rewrite: a new version started at zero reads.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"lru", "fifo", "lfu"})
    void noPolicyEvictsAFreshlyRewrittenObjectBeforeOlderOnes(String name) {
        EvictionPolicy policy = switch (name) {
            case "lru" -> new LruEviction();
            case "fifo" -> new FifoEviction();
            default -> new LfuEviction();
        };
        Master master = full(policy);
        for (int i = 0; i < 10; i++) {
            ObjectLocation read = master.getReplicaList("k" + i);
            master.releaseLeases(List.of(ReadLease.of("k" + i, read)));
            clock.advance(Duration.ofMillis(10));
        }
        master.putStart("c", "k0", BLOCK, 0, true);
        master.putEnd("c", "k0");
        clock.advance(Duration.ofSeconds(1));
        put(master, "new");
        assertTrue(master.exist("k0"), name + ": the rewritten object was evicted");
        assertFalse(master.exist("k1"), name + ": the oldest object stayed");
        assertEquals(1, master.stats().evictedObjects());
    }

    @Test
    void aPutIntoAFullStoreEvictsTheLeastRecentlyUsedAndSucceeds() {
        Master master = full(new LruEviction());
        clock.advance(Duration.ofSeconds(11));
        master.getReplicaList("k0");
        clock.advance(Duration.ofSeconds(11)); // k0 was read last, but its lease is over again
        put(master, "new");
        assertTrue(master.exist("new"));
        assertTrue(master.exist("k0"), "recently read: kept");
        assertFalse(master.exist("k1"), "least recently used: evicted");
        assertEquals(1, master.stats().evictedObjects());
        master.segments().mounted().forEach(s -> s.allocator().checkInvariants());
    }

    @Test
    void fifoEvictsTheOldestWhateverWasRead() {
        Master master = full(new FifoEviction());
        clock.advance(Duration.ofSeconds(11));
        master.getReplicaList("k0");
        clock.advance(Duration.ofSeconds(11));
        put(master, "new");
        assertFalse(master.exist("k0"), "oldest goes first under FIFO");
        assertTrue(master.exist("k1"));
    }

    @Test
    void lfuEvictsTheLeastOftenRead() {
        Master master = full(new LfuEviction());
        clock.advance(Duration.ofSeconds(11));
        for (int i = 0; i < 10; i++) {
            if (i != 7) {
                master.exist("k" + i);
            }
        }
        clock.advance(Duration.ofSeconds(11));
        put(master, "new");
        assertFalse(master.exist("k7"), "never read: evicted first");
        assertTrue(master.exist("k0"));
    }

    @Test
    void leasedAndUnfinishedObjectsAreNeverEvicted() {
        Master master = master(new LruEviction());
        for (int i = 0; i < 5; i++) {
            master.putStart("c", "open" + i, BLOCK, 0, false);
        }
        for (int i = 0; i < 5; i++) {
            put(master, "k" + i);
        }
        for (int i = 0; i < 5; i++) {
            master.getReplicaList("k" + i);
        }
        StoreException full = assertThrows(StoreException.class, () -> master.putStart("c", "new", BLOCK, 0, false));
        assertEquals(ErrorCode.NO_AVAILABLE_HANDLE, full.code(), "nothing evictable: back-pressure");
        assertEquals(0, master.stats().evictedObjects());
        for (int i = 0; i < 5; i++) {
            master.putEnd("c", "open" + i);
            assertTrue(master.exist("k" + i));
        }
    }

    @Test
    void aPutThatCouldNeverFitEvictsNothing() {
        Master master = full(new LruEviction());
        StoreException tooBig =
                assertThrows(StoreException.class, () -> master.putStart("c", "huge", 11 * BLOCK, 0, false));
        assertEquals(ErrorCode.NO_AVAILABLE_HANDLE, tooBig.code());
        assertEquals(0, master.stats().evictedObjects());
        for (int i = 0; i < 10; i++) {
            assertTrue(master.exist("k" + i));
        }
    }

    @Test
    void sweeperEvictsAboveTheHighWatermarkDownBelowIt() {
        Master master = master(new LruEviction());
        for (int i = 0; i < 9; i++) {
            put(master, "k" + i);
        }
        clock.advance(Duration.ofSeconds(11));
        assertEquals(0, master.evictAboveWatermark(), "90 % used is not above the watermark");
        put(master, "k9");
        clock.advance(Duration.ofSeconds(11));
        assertTrue(master.evictAboveWatermark() >= BLOCK / 2, "100 % used: frees 5 % of capacity or more");
        assertFalse(master.exist("k0"));
        assertEquals(
                List.of(),
                master.segments().mounted().stream()
                        .filter(s -> s.allocator().usedBytes() > 9 * BLOCK)
                        .toList());
    }

    private void put(Master master, String key, ReplicaConfig config) {
        master.putStart("c", key, BLOCK, config, false);
        master.putEnd("c", key);
        clock.advance(Duration.ofSeconds(1));
    }

    @Test
    void hardPinnedObjectsAreNeverEvicted() {
        Master master = master(new LruEviction());
        for (int i = 0; i < 10; i++) {
            put(master, "pinned" + i, ReplicaConfig.DEFAULT.withPins(false, true));
        }
        clock.advance(Duration.ofHours(2));
        StoreException full = assertThrows(StoreException.class, () -> master.putStart("c", "new", BLOCK, 0, false));
        assertEquals(ErrorCode.NO_AVAILABLE_HANDLE, full.code());
        assertEquals(0, master.evictAboveWatermark());
        assertEquals(10, master.stats().objectCount());
        master.remove("pinned3", false);
        put(master, "new");
        assertTrue(master.exist("new"), "an explicit remove still takes a hard-pinned object away");
    }

    @Test
    void softPinnedObjectsGoAfterEveryUnpinnedOneWhileThePinLasts() {
        Master master = master(new LruEviction());
        for (int i = 0; i < 5; i++) {
            put(master, "soft" + i, ReplicaConfig.DEFAULT.withPins(true, false));
        }
        for (int i = 0; i < 5; i++) {
            put(master, "plain" + i);
        }
        clock.advance(Duration.ofSeconds(11));
        // LRU alone would take soft0 (oldest); the soft pin sends every plain object first.
        for (int i = 0; i < 5; i++) {
            put(master, "new" + i);
        }
        for (int i = 0; i < 5; i++) {
            assertTrue(master.exist("soft" + i), "soft" + i);
            assertFalse(master.exist("plain" + i), "plain" + i);
        }
        clock.advance(Duration.ofSeconds(11));
        put(master, "more");
        assertFalse(master.exist("new0"), "unpinned objects keep going first");
        assertTrue(master.exist("soft0"));
    }

    @Test
    void anExpiredSoftPinIsAnOrdinaryCandidateAndReadsRenewIt() {
        Master master = master(new LruEviction());
        for (int i = 0; i < 2; i++) {
            put(master, "soft" + i, ReplicaConfig.DEFAULT.withPins(true, false));
        }
        for (int i = 0; i < 8; i++) {
            put(master, "plain" + i);
        }
        clock.advance(Duration.ofMinutes(20));
        master.exist("soft1"); // renews soft1's pin for another 30 minutes
        clock.advance(Duration.ofMinutes(15));
        // soft0's pin (30 min from its put) is over; it is the least recently used object.
        put(master, "new");
        assertFalse(master.exist("soft0"));
        assertTrue(master.exist("soft1"));
    }
}
