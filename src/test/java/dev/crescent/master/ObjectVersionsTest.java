package dev.crescent.master;

import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TicketSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Versions that let same-host readers cache locations (issue 20), on a real master and a real worker segment in a
 * shared-memory file: every change that could make a cached location stale withdraws the version first.
 */
class ObjectVersionsTest {
    private static final long CAPACITY = 1 << 20;

    @TempDir
    Path shm;

    private SameHostSegment segment;

    private Master master;

    @BeforeEach
    void setUp() {
        segment = new SameHostSegment(shm, CAPACITY);
        master = newMaster(null);
    }

    @AfterEach
    void tearDown() {
        segment.close();
    }

    private Master newMaster(TicketSigner tickets) {
        return segment.master(InstantSource.system(), tickets);
    }

    @Test
    void aCommittedObjectIsPublishedAndARemovedOneWithdrawn() {
        ObjectLocation location = put("k", 4096, false);
        ReplicaDescriptor replica = location.replicas().getFirst();
        assertNotEquals(0, location.version());
        assertTrue(replica.versionSlot() >= CAPACITY, "the word lies after the segment's bytes");
        assertEquals(location.version(), word(location));

        master.remove("k", true);
        assertEquals(0, word(location), "withdrawn before the remove is answered");
    }

    @Test
    void anUpsertWithdrawsTheVersionBeforeItsWriterGetsTheRange() {
        ObjectLocation first = put("k", 4096, false);
        List<ReplicaDescriptor> inPlace = master.putStart("client", "k", 4096, ReplicaConfig.DEFAULT, true);
        assertEquals(first.replicas().getFirst().offset(), inPlace.getFirst().offset(), "rewritten in place");
        assertEquals(0, word(first), "no reader trusts the range while it is rewritten");
        master.putEnd("client", "k");
        ObjectLocation second = master.getReplicaList("k");
        assertNotEquals(first.version(), second.version(), "a new version, never the old one again");
        assertEquals(second.version(), word(second));

        ObjectLocation resized = put("k", 8192, true);
        assertEquals(0, word(second));
        assertEquals(resized.version(), word(resized));
    }

    @Test
    void evictionWithdraws() {
        ObjectLocation location = put("k", 4096, false);
        assertTrue(master.evict(CAPACITY) > 0);
        assertEquals(0, word(location));
    }

    @Test
    void aSegmentLeavingThePoolWithdrawsItsObjectsVersions() {
        ObjectLocation location = put("k", 4096, false);
        master.unmountSegment("worker", "seg");
        assertEquals(0, word(location));
    }

    @Test
    void aMasterMountingTheEmptySegmentClearsAnEarlierMastersVersions() {
        ObjectLocation location = put("k", 4096, false); // then this master is gone without a word
        newMaster(null);
        assertEquals(0, word(location), "the next master knows nothing of k: no reader may trust its location");
    }

    @Test
    void mastersThatCannotWithdrawAloneOrMustCheckRightsPublishNothing() {
        Master ticketed = newMaster(TicketSigner.random());
        ticketed.putStart("client", "t", 4096, ReplicaConfig.DEFAULT, false);
        ticketed.putEnd("client", "t");
        ObjectLocation checked = ticketed.getReplicaList("t");
        assertEquals(0, checked.version(), "a cached read would skip the access check");
        assertEquals(0, checked.replicas().getFirst().versionSlot());

        Master replicated = newMaster(null);
        replicated.attachOpLog(new OpLog() {
            @Override
            public CompletableFuture<Void> record(OpLogEntry op) {
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public boolean accepting() {
                return true;
            }
        });
        replicated.putStart("client", "r", 4096, ReplicaConfig.DEFAULT, false);
        replicated.putEnd("client", "r");
        assertEquals(0, replicated.getReplicaList("r").version(), "a next leader elsewhere could not withdraw it");
    }

    private ObjectLocation put(String key, long size, boolean upsert) {
        master.putStart("client", key, size, ReplicaConfig.DEFAULT, upsert);
        master.putEnd("client", key);
        ObjectLocation location = master.getReplicaList(key);
        master.releaseLeases(List.of(ReadLease.of(key, location)));
        return location;
    }

    private long word(ObjectLocation location) {
        return segment.word(location.replicas().getFirst().versionSlot());
    }
}
