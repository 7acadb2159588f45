package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReadLease;
import dev.crescent.transfer.TicketSigner;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Read leases end when the read does (issue 24): a replaced or removed version's memory comes back as soon as its
 * last reader hands its lease back, the TTL stays the net for readers that never do, and one hot key cannot pin
 * more than a few versions of itself.
 */
class LeaseReleaseTest {
    private static final String W = "writer";
    private final ManualClock clock = new ManualClock();

    private Master master(TicketSigner tickets) {
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock, tickets);
        master.mountSegment("worker", "seg", 1 << 20, "");
        return master;
    }

    private static void put(Master master, String key, long size) {
        master.putStart(W, key, size, 0, true);
        master.putEnd(W, key);
    }

    @Test
    void aReplacedVersionIsFreedWhenItsLastReaderReleasesNotAtTheLeaseTtl() {
        Master master = master(null);
        put(master, "k", 1024);
        ObjectLocation first = master.getReplicaList("k");
        ObjectLocation second = master.getReplicaList("k");
        assertNotEquals(0, first.leaseId());
        assertNotEquals(first.leaseId(), second.leaseId(), "each read has its own lease");

        put(master, "k", 1024); // leased: the new version goes to new ranges, the old one waits
        assertEquals(2048, master.stats().usedBytes());
        master.releaseLeases(List.of(ReadLease.of("k", first)));
        assertEquals(2048, master.stats().usedBytes(), "the other reader is still reading");
        master.releaseLeases(List.of(ReadLease.of("k", first))); // a repeated release changes nothing
        assertEquals(2048, master.stats().usedBytes());
        master.releaseLeases(List.of(ReadLease.of("k", second)));
        assertEquals(1024, master.stats().usedBytes(), "freed with no sweep and no time passing");
    }

    @Test
    void aReleasedObjectIsOverwrittenInPlaceAndRemovedWithoutForce() {
        Master master = master(null);
        put(master, "k", 1024);
        ObjectLocation read = master.getReplicaList("k");
        assertCodeOf(ErrorCode.OBJECT_HAS_LEASE, () -> master.remove("k", false));
        master.releaseLeases(List.of(ReadLease.of("k", read)));
        long offset = read.replicas().getFirst().offset();
        assertEquals(offset, master.putStart(W, "k", 1024, 0, true).getFirst().offset(), "rewritten in place");
        master.putEnd(W, "k");
        master.remove("k", false);
        assertEquals(0, master.stats().usedBytes());
    }

    @Test
    void aReaderThatNeverReleasesHoldsTheVersionUntilTheTtl() {
        Master master = master(null);
        put(master, "k", 1024);
        master.getReplicaList("k");
        put(master, "k", 1024);
        clock.advance(Duration.ofSeconds(9));
        master.sweep();
        assertEquals(2048, master.stats().usedBytes());
        clock.advance(Duration.ofSeconds(2));
        master.sweep();
        assertEquals(1024, master.stats().usedBytes());
    }

    @Test
    void aLeaseOfAnotherVersionOrAGuessedIdEndsNothing() {
        Master master = master(null);
        put(master, "k", 1024);
        ObjectLocation read = master.getReplicaList("k");
        put(master, "k", 1024);
        master.releaseLeases(List.of(
                new ReadLease("k", read.leaseId() + 1), new ReadLease("other", read.leaseId()), new ReadLease("k", 0)));
        assertEquals(2048, master.stats().usedBytes());
    }

    @Test
    void aHotKeyPinsAtMostMaxLeasedVersionsOfItself() {
        Master master = master(null);
        put(master, "hot", 4096);
        int bound = MasterSettings.defaults().maxLeasedVersions();
        List<ObjectLocation> reads = new ArrayList<>();
        for (int i = 0; i < bound; i++) {
            reads.add(master.getReplicaList("hot"));
            put(master, "hot", 4096);
        }
        assertEquals((bound + 1) * 4096L, master.stats().usedBytes());
        master.getReplicaList("hot");
        StoreException refused = assertThrows(StoreException.class, () -> master.putStart(W, "hot", 4096, 0, true));
        assertEquals(ErrorCode.OBJECT_HAS_LEASE, refused.code());
        assertEquals((bound + 1) * 4096L, master.stats().usedBytes(), "the refused upsert took no memory");
        assertTrue(master.getReplicaList("hot").size() == 4096, "the stored version is untouched");

        master.releaseLeases(List.of(ReadLease.of("hot", reads.getFirst())));
        master.putStart(W, "hot", 4096, 0, true); // one version went back: room for one more
    }

    @Test
    void withTicketsAReleasedVersionWaitsForItsReadTicketsToExpire() {
        // A READ ticket cannot be called back: released early, the memory would be readable by its holder.
        Master master = master(TicketSigner.random());
        put(master, "k", 1024);
        clock.advance(Duration.ofSeconds(31)); // past its write grant
        ObjectLocation read = master.getReplicaList("k");
        put(master, "k", 1024);
        master.releaseLeases(List.of(ReadLease.of("k", read)));
        assertEquals(2048, master.stats().usedBytes());
        clock.advance(Duration.ofMillis(read.leaseDeadlineMillis() + 1 - clock.millis()));
        master.sweep();
        assertEquals(1024, master.stats().usedBytes());
    }

    private static void assertCodeOf(ErrorCode code, Runnable call) {
        StoreException e = assertThrows(StoreException.class, call::run);
        assertEquals(code, e.code());
    }
}
