package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.PutSpace;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;
import dev.crescent.transfer.TicketSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Space granted ahead to same-host writers (issue 20), on a real master and a real worker segment in a shared-memory
 * file that the test writes through its own mapping, as a client does: a put in space keeps every rule a put start and
 * end keep, and a space is the writer's alone, once, and only for its lifetime.
 */
class PutSpacesTest {
    private static final long CAPACITY = 4 << 20;
    private static final int SIZE = 64 << 10;

    @TempDir
    Path shm;

    private SameHostSegment segment;
    /** The segment's file as a same-host client maps it: its bytes, then its version words. */
    private MemorySegment file;

    private final ManualClock clock = new ManualClock();
    private final Arena diskArena = Arena.ofShared();
    private Master master;

    @BeforeEach
    void setUp() {
        segment = new SameHostSegment(shm, CAPACITY);
        file = segment.file;
        master = newMaster(null);
    }

    @AfterEach
    void tearDown() {
        diskArena.close();
        segment.close();
    }

    private Master newMaster(TicketSigner tickets) {
        return segment.master(clock, tickets);
    }

    @Test
    void aPutInSpaceIsCommittedInOneCallWhereTheWriterCopiedIt() {
        PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);
        assertNotNull(space);
        assertEquals(SIZE, space.replica().length());
        long used = master.stats().usedBytes();
        assertTrue(used >= SIZE, "the space is held memory");

        byte[] value = bytes(1);
        StartedPut started = putIn(space, "k", value, false);
        assertTrue(started.committed());
        ObjectLocation location = master.getReplicaList("k");
        ReplicaDescriptor replica = location.replicas().getFirst();
        assertEquals(space.replica().offset(), replica.offset(), "the object lives where the writer copied it");
        assertArrayEquals(value, read(replica));
        assertNotEquals(0, location.version(), "published for cached reads like any put");
        assertEquals(used, master.stats().usedBytes(), "no second allocation");
        master.releaseLeases(List.of(ReadLease.of("k", location)));
    }

    @Test
    void spaceIsGrantedOnlyToAWriterOnTheSegmentsHostAndOnlyWhereVersionsArePublished() {
        assertNull(master.grantSpace("writer", "another-host", SIZE));
        assertNull(master.grantSpace("writer", "", SIZE));
        assertNull(master.grantSpace("writer", HostId.current(), CAPACITY * 2), "no segment has room");
        assertNull(master.grantSpace("writer", HostId.current(), PutSpaces.MAX_BYTES + 1));

        Master withTickets = newMaster(TicketSigner.random());
        assertNull(withTickets.grantSpace("writer", HostId.current(), SIZE), "a writer's copy would skip its ticket");
        Master replicated = newMaster(null);
        replicated.attachOpLog(new RecordingOpLog(op -> {}));
        assertNull(replicated.grantSpace("writer", HostId.current(), SIZE), "a new leader would not know the space");
    }

    @Test
    void aSpaceServesItsWriterOnceAndOnlyAtItsSize() {
        PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);
        StartedPut stranger = master.putStartInSpace(
                        "stranger", "s", space.id(), SIZE, ReplicaConfig.DEFAULT, false, null)
                .join();
        assertFalse(stranger.committed(), "another client's space: an ordinary put start instead");
        assertNotEquals(space.replica().offset(), stranger.replicas().getFirst().offset());
        master.putRevoke("stranger", "s");

        StartedPut wrongSize = master.putStartInSpace(
                        "writer", "w", space.id(), SIZE / 2, ReplicaConfig.DEFAULT, false, null)
                .join();
        assertFalse(wrongSize.committed());
        master.putRevoke("writer", "w");

        StartedPut twoReplicas = master.putStartInSpace(
                        "writer", "r", space.id(), SIZE, ReplicaConfig.replicas(2), false, null)
                .join();
        assertFalse(twoReplicas.committed(), "a space is one replica: the put goes the usual way");
        master.putRevoke("writer", "r");

        assertTrue(putIn(space, "first", bytes(2), false).committed());
        StartedPut again = putIn(space, "second", bytes(3), false);
        assertFalse(again.committed(), "used: it is the first object's memory now");
        assertNotEquals(space.replica().offset(), again.replicas().getFirst().offset());
        master.putRevoke("writer", "second");
    }

    @Test
    void aPutStartRepeatedAfterItsAnswerWasLostIsAcknowledgedAndChangesNothing() {
        for (boolean upsert : new boolean[] {false, true}) {
            String key = "k-" + upsert;
            PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);
            assertTrue(putIn(space, key, bytes(10), upsert).committed());
            ObjectLocation first = master.getReplicaList(key);
            master.releaseLeases(List.of(ReadLease.of(key, first)));
            long used = master.stats().usedBytes();

            StartedPut repeat = master.putStartInSpace(
                            "writer", key, space.id(), SIZE, ReplicaConfig.DEFAULT, upsert, null)
                    .join();
            assertTrue(repeat.committed(), "the first try made the object: the repeat is acknowledged as it was");
            ObjectLocation after = master.getReplicaList(key);
            assertEquals(first.version(), after.version(), "the same version, not a new one");
            assertEquals(
                    first.replicas().getFirst().offset(),
                    after.replicas().getFirst().offset());
            assertEquals(used, master.stats().usedBytes(), "nothing allocated for the repeat");
            master.releaseLeases(List.of(ReadLease.of(key, after)));
        }

        PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);
        assertTrue(putIn(space, "mine", bytes(11), false).committed());
        StoreException stranger = assertThrows(StoreException.class, () -> startIn("stranger", space, "mine"));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, stranger.code(), "only the writer's own repeat is one");
        StartedPut otherKey = startIn("writer", space, "other");
        assertFalse(otherKey.committed(), "the space made another key's object: an ordinary put start");
        master.putRevoke("writer", "other");
        assertArrayEquals(
                bytes(11), read(master.getReplicaList("mine").replicas().getFirst()));
    }

    @Test
    void aPutStartRepeatedAfterItsObjectMovedToDiskIsStillKnownAsARepeat() throws Exception {
        MemorySegment disk = diskArena.allocate(CAPACITY, 4096);
        master.attachTiering((from, to, bytes) -> MemorySegment.copy(file, from.offset(), disk, to.offset(), bytes));
        master.mountSegment("worker", new SegmentDescriptor("disk", CAPACITY, "", 0, SegmentTier.DISK), false);
        PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);
        assertTrue(putIn(space, "k", bytes(12), false).committed());
        clock.advance(Duration.ofSeconds(1)); // "k" is the least recently used: the first to move
        for (int i = 0; master.stats().usedBytes() < CAPACITY * 0.94; i++) {
            master.putStart("writer", "fill" + i, SIZE, 1, false);
            master.putEnd("writer", "fill" + i, null);
        }
        master.evictAboveWatermark();
        TieringTest.await(() -> master.stats().offloadedObjects() > 0); // objects moved to disk

        StartedPut repeat = master.putStartInSpace("writer", "k", space.id(), SIZE, ReplicaConfig.DEFAULT, false, null)
                .join();
        assertTrue(repeat.committed(), "the moved version is the one that put start made: the repeat is acknowledged");
        ReplicaDescriptor where = master.getReplicaList("k").replicas().getFirst();
        assertEquals("disk", where.segment(), "the object had moved when the repeat came");
        assertArrayEquals(
                bytes(12), disk.asSlice(where.offset(), where.length()).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void aRefusedKeyLeavesTheSpaceTheWritersAndTheStoredObjectWhole() {
        byte[] stored = bytes(4);
        PutSpace first = master.grantSpace("writer", HostId.current(), SIZE);
        assertTrue(putIn(first, "k", stored, false).committed());
        PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);

        StoreException refused = assertThrows(StoreException.class, () -> putIn(space, "k", bytes(5), false));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, refused.code(), "first writer wins");
        assertArrayEquals(stored, read(master.getReplicaList("k").replicas().getFirst()));

        assertTrue(putIn(space, "other", bytes(6), false).committed(), "the space served the next put");
        assertArrayEquals(
                bytes(6), read(master.getReplicaList("other").replicas().getFirst()));
    }

    @Test
    void anUpsertInSpaceKeepsTheOldVersionForItsReader() {
        PutSpace first = master.grantSpace("writer", HostId.current(), SIZE);
        putIn(first, "k", bytes(7), false);
        ObjectLocation reading = master.getReplicaList("k"); // a reader holds the old version's lease

        PutSpace second = master.grantSpace("writer", HostId.current(), SIZE);
        assertTrue(putIn(second, "k", bytes(8), true).committed());
        assertArrayEquals(bytes(8), read(master.getReplicaList("k").replicas().getFirst()));
        assertArrayEquals(bytes(7), read(reading.replicas().getFirst()), "the leased version is not freed");
        PutSpace third = master.grantSpace("writer", HostId.current(), SIZE);
        assertNotEquals(reading.replicas().getFirst().offset(), third.replica().offset(), "nor handed out as space");
    }

    @Test
    void anExpiredSpaceIsFreedAndAPutInItGoesTheUsualWay() {
        long before = master.stats().usedBytes();
        PutSpace space = master.grantSpace("writer", HostId.current(), SIZE);
        clock.advance(Duration.ofMillis(space.lifetimeMillis()));
        master.sweep();
        assertEquals(before, master.stats().usedBytes(), "freed when its lifetime is over");
        StartedPut late = putIn(space, "late", bytes(9), false);
        assertFalse(late.committed());
        master.putRevoke("writer", "late");
    }

    @Test
    void aClosingClientsSpacesAreFreedAtOnceAndNoOneElses() {
        long before = master.stats().usedBytes();
        PutSpace closing = master.grantSpace("closing", HostId.current(), SIZE);
        master.grantSpace("closing", HostId.current(), SIZE);
        PutSpace other = master.grantSpace("other", HostId.current(), SIZE);
        assertEquals(before + 3L * SIZE, master.stats().usedBytes());

        master.releaseSpaces("closing");
        assertEquals(before + SIZE, master.stats().usedBytes(), "freed before their lifetimes end");
        assertEquals(0, word(closing), "withdrawn before the memory may go elsewhere");
        assertEquals(other.version(), word(other), "another client's space is still its own");
        assertFalse(putIn("closing", closing, "late", bytes(3), false).committed(), "a freed space is no one's");
        master.putRevoke("closing", "late");
        assertTrue(putIn("other", other, "kept", bytes(4), false).committed());
        master.releaseSpaces("nobody"); // holds none: changes nothing
        assertEquals(before + SIZE, master.stats().usedBytes());
    }

    @Test
    void aSpacesWordHoldsItsVersionUntilTheMemoryMayGoElsewhere() {
        PutSpace expiring = master.grantSpace("writer", HostId.current(), SIZE);
        assertNotEquals(0, expiring.version());
        assertEquals(expiring.version(), word(expiring), "published where the writer reads it");
        clock.advance(Duration.ofMillis(expiring.lifetimeMillis()));
        master.sweep();
        assertEquals(0, word(expiring), "withdrawn when its lifetime is over");

        PutSpace unmounted = master.grantSpace("writer", HostId.current(), SIZE);
        master.unmountSegment("worker", "seg");
        assertEquals(0, word(unmounted), "withdrawn with its segment");

        Master restarted = newMaster(null);
        PutSpace before = restarted.grantSpace("writer", HostId.current(), SIZE);
        assertEquals(before.version(), word(before));
        newMaster(null); // a new master mounts the segment empty: nothing of the old one's holds
        assertEquals(0, word(before), "withdrawn by the next master's mount");
    }

    @Test
    void aClientHoldsAtMostItsShareOfSpaces() {
        for (int i = 0; i < PutSpaces.MAX_PER_CLIENT; i++) {
            assertNotNull(master.grantSpace("greedy", HostId.current(), 64));
        }
        assertNull(master.grantSpace("greedy", HostId.current(), 64));
        PutSpace other = master.grantSpace("other", HostId.current(), 4096);
        assertNotNull(other, "the share is per client");
        assertTrue(putIn("other", other, "k", new byte[4096], false).committed());
        clock.advance(Duration.ofMillis(other.lifetimeMillis()));
        master.sweep();
        assertNotNull(master.grantSpace("greedy", HostId.current(), 64), "expired spaces count no more");
    }

    @Test
    void aClientHoldsAtMostItsShareOfBytes(@TempDir Path large) {
        // A sparse file: the spaces are only allocated, never written.
        try (SameHostSegment roomy = new SameHostSegment(large, PutSpaces.MAX_BYTES_PER_CLIENT + (256L << 20))) {
            Master spacious = roomy.master(clock, null);
            for (long held = 0; held < PutSpaces.MAX_BYTES_PER_CLIENT; held += PutSpaces.MAX_BYTES) {
                assertNotNull(spacious.grantSpace("greedy", HostId.current(), PutSpaces.MAX_BYTES));
            }
            assertNull(spacious.grantSpace("greedy", HostId.current(), 4096), "its bytes are spent");
            assertNotNull(
                    spacious.grantSpace("other", HostId.current(), PutSpaces.MAX_BYTES), "the share is per client");
        }
    }

    /** Copies {@code value} into the space through this test's mapping, then puts it there, as a client does. */
    private StartedPut putIn(PutSpace space, String key, byte[] value, boolean upsert) {
        return putIn("writer", space, key, value, upsert);
    }

    private StartedPut putIn(String clientId, PutSpace space, String key, byte[] value, boolean upsert) {
        MemorySegment.copy(
                MemorySegment.ofArray(value), 0, file, space.replica().offset(), Math.min(value.length, SIZE));
        return answer(
                master.putStartInSpace(clientId, key, space.id(), value.length, ReplicaConfig.DEFAULT, upsert, null));
    }

    /** A put start naming the space, its bytes not copied (they would land in whatever the space became). */
    private StartedPut startIn(String clientId, PutSpace space, String key) {
        return answer(master.putStartInSpace(clientId, key, space.id(), SIZE, ReplicaConfig.DEFAULT, false, null));
    }

    private static StartedPut answer(CompletableFuture<StartedPut> started) {
        try {
            return started.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw (RuntimeException) e.getCause();
        }
    }

    private long word(PutSpace space) {
        return segment.word(space.replica().versionSlot());
    }

    private byte[] read(ReplicaDescriptor replica) {
        return file.asSlice(replica.offset(), replica.length()).toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] bytes(long seed) {
        byte[] bytes = new byte[SIZE];
        new java.util.Random(seed).nextBytes(bytes);
        return bytes;
    }
}
