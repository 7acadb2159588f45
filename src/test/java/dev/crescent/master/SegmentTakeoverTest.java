package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.local.LocalTransport;
import dev.crescent.transfer.shm.SharedVersionTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A restarted worker taking its segment over (issue 21, lossless worker restart): the master hands a dead owner's
 * segment, objects and all, to the process that mounts it with the same contents id, and to no other; memory that
 * claims objects the master does not hold is refused so that it is cleared first; the takeover is in the op-log,
 * so a new leader knows the new owner; and the objects are checked against their checksums.
 */
class SegmentTakeoverTest {
    private static final long CONTENTS = 0x5EED_0001L;
    private final ManualClock clock = new ManualClock();

    private Master master() {
        return new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
    }

    private static SegmentDescriptor seg(String endpoint, long contentsId) {
        return new SegmentDescriptor("seg", 1 << 20, endpoint, contentsId);
    }

    private static void put(Master master, String key, Long crc32c) {
        master.putStart("writer", key, 1000, 1, false);
        master.putEnd("writer", key, crc32c);
    }

    @Test
    void aMountShowingTheContentsIdOfADeadOwnersSegmentTakesItOverWithItsObjects() {
        Master master = master();
        master.mountSegment("old", seg("old-endpoint", CONTENTS), false);
        put(master, "k", 42L);

        master.mountSegment("new", seg("new-endpoint", CONTENTS), true);

        ReplicaDescriptor replica = master.getReplicaList("k").replicas().getFirst();
        assertEquals("new-endpoint", replica.endpoint(), "readers are sent to the new process");
        assertEquals(42L, master.getReplicaList("k").crc32c());
        SegmentView view = master.segmentViews().getFirst();
        assertEquals("new", view.owner());
        assertEquals(
                List.of("new"),
                master.clients().stream().map(ClientView::clientId).toList(),
                "the dead owner has nothing left and is forgotten, so its silence drops nothing");
        for (int second = 0; second < 12; second++) {
            clock.advance(Duration.ofSeconds(1));
            master.heartbeat("new");
            assertEquals(List.of(), master.expireSilentClients());
        }
        assertTrue(master.exist("k"));
        master.mountSegment("new", seg("new-endpoint", CONTENTS), true);
        assertTrue(master.exist("k"), "mounting again is idempotent");
        master.remove("k", false);
        assertEquals(0, master.segmentViews().getFirst().usedBytes(), "the taken-over range is freed as any other");
    }

    @Test
    void afterATakeoverVersionsGoToTheTableFoundAtTheNewEndpoint(@TempDir Path oldDir, @TempDir Path newDir) {
        long capacity = 1 << 20;
        // Two real segment files, one per endpoint (a restarted worker adopts the one file, which the master then maps
        // anew): a word written through the table kept from before the takeover would land in the old file.
        try (SameHostSegment before = new SameHostSegment(oldDir, capacity);
                SameHostSegment after = new SameHostSegment(newDir, capacity)) {
            Master master = master();
            master.attachVersionTables(new SharedVersionTables(Set.of(oldDir, newDir)));
            master.mountSegment("old", new SegmentDescriptor("seg", capacity, before.endpoint(), CONTENTS), false);
            put(master, "k1", null);
            assertEquals(master.getReplicaList("k1").version(), word(before, master, "k1"));

            master.mountSegment("new", new SegmentDescriptor("seg", capacity, after.endpoint(), CONTENTS), true);
            put(master, "k2", null);
            long version = master.getReplicaList("k2").version();
            assertNotEquals(0, version);
            assertEquals(version, word(after, master, "k2"), "published in the file readers now map");
            assertEquals(0, word(before, master, "k2"));
        }
    }

    /** The word at the version slot of {@code key}'s replica, in {@code segment}'s file. */
    private static long word(SameHostSegment segment, Master master, String key) {
        return segment.word(master.getReplicaList(key).replicas().getFirst().versionSlot());
    }

    @Test
    void anotherContentsIdOrNoneCannotTakeTheSegment() {
        Master master = master();
        master.mountSegment("old", seg("old-endpoint", CONTENTS), false);
        put(master, "k", null);
        for (long other : new long[] {CONTENTS + 1, 0}) {
            StoreException refused = assertThrows(
                    StoreException.class, () -> master.mountSegment("new", seg("new-endpoint", other), true));
            assertEquals(ErrorCode.SEGMENT_ALREADY_EXISTS, refused.code());
        }
        Master nameless = master();
        nameless.mountSegment("old", seg("old-endpoint", 0), false);
        assertEquals(
                ErrorCode.SEGMENT_ALREADY_EXISTS,
                assertThrows(StoreException.class, () -> nameless.mountSegment("new", seg("new-endpoint", 0), false))
                        .code(),
                "memory without a contents id is never taken over");
        assertEquals("old", master.segmentViews().getFirst().owner());
        assertEquals(
                "old-endpoint", master.getReplicaList("k").replicas().getFirst().endpoint());

        Master hosted = master();
        hosted.mountSegment("old", seg("host=a,tcp=10.0.0.1:7000", CONTENTS), false);
        assertEquals(
                ErrorCode.SEGMENT_ALREADY_EXISTS,
                assertThrows(
                                StoreException.class,
                                () -> hosted.mountSegment("new", seg("host=b,tcp=10.0.0.2:7000", CONTENTS), true))
                        .code(),
                "the file was adopted where it lies: a mount from another host showing its id takes nothing");
        hosted.mountSegment("new", seg("host=a,tcp=10.0.0.1:7001", CONTENTS), true);
        assertEquals("new", hosted.segmentViews().getFirst().owner());
    }

    @Test
    void memoryClaimingObjectsThisMasterDoesNotHoldIsRefusedUntilMountedEmpty() {
        Master master = master();
        master.mountSegment("old", seg("old-endpoint", CONTENTS), false);
        put(master, "k", 42L);
        clock.advance(Duration.ofSeconds(11));
        assertEquals(List.of("old"), master.expireSilentClients(), "the owner stayed away past client-ttl");
        assertFalse(master.exist("k"));

        StoreException refused = assertThrows(
                StoreException.class, () -> master.mountSegment("new", seg("new-endpoint", CONTENTS), true));
        assertEquals(ErrorCode.SEGMENT_CONTENTS_UNKNOWN, refused.code());
        assertEquals(List.of(), master.segmentViews(), "nothing of that memory is handed out");
        assertThrows(
                StoreException.class,
                () -> master().mountSegment("w", seg("e", CONTENTS), true),
                "a master that never had the segment refuses the claim too");

        master.mountSegment("new", seg("new-endpoint", CONTENTS), false);
        assertEquals(1, master.segmentViews().size(), "mounted empty once the owner cleared it");
        assertEquals(0, master.segmentViews().getFirst().usedBytes());
    }

    @Test
    void theTakeoverIsInTheOpLogSoANewLeaderSendsReadersToTheNewOwner() {
        ReplicatedIndex replicated = new ReplicatedIndex();
        List<OpLogEntry> entries = new ArrayList<>();
        Master leader = master();
        leader.attachOpLog(new RecordingOpLog(entry -> {
            entries.add(entry);
            replicated.apply(entry);
        }));
        leader.mountSegment("old", seg("old-endpoint", CONTENTS), false);
        put(leader, "k", 42L);
        leader.mountSegment("new", seg("new-endpoint", CONTENTS), true);
        assertEquals(
                new OpLogEntry.Mount("seg", "new", 1 << 20, "new-endpoint", CONTENTS),
                entries.getLast(),
                "the new owner and the contents id are replicated");

        Master successor = master();
        successor.restore(replicated);
        assertEquals(
                "new-endpoint",
                successor.getReplicaList("k").replicas().getFirst().endpoint());
        assertEquals("new", successor.segmentViews().getFirst().owner());

        // The worker restarts again, this time while the successor leads: it takes over there too.
        successor.mountSegment("newer", seg("newer-endpoint", CONTENTS), true);
        assertEquals(
                "newer-endpoint",
                successor.getReplicaList("k").replicas().getFirst().endpoint());
    }

    @Test
    void objectsWhoseBytesNoLongerMatchTheirChecksumAreRemovedAfterATakeover() throws Exception {
        RegisteredMemory memory = new RegisteredMemory();
        try (Arena arena = Arena.ofShared();
                TransferEngine engine =
                        new TransferEngine(memory, List.of(new LocalTransport(memory)), TransferObserver.NONE)) {
            MemorySegment segment = arena.allocate(1 << 20);
            engine.registerLocal("seg", segment, "");
            Master master = master();
            master.attachChecksums(new EngineReplicas(engine));
            master.mountSegment("old", seg("", CONTENTS), false);
            for (String key : List.of("intact", "damaged", "unchecked-damaged")) {
                long offset = master.putStart("writer", key, 1000, 1, false)
                        .getFirst()
                        .offset();
                MemorySegment bytes = segment.asSlice(offset, 1000);
                bytes.fill((byte) key.length());
                CRC32C crc = new CRC32C();
                crc.update(bytes.asByteBuffer());
                master.putEnd("writer", key, key.startsWith("unchecked") ? null : crc.getValue());
            }
            segment.asSlice(
                            master.getReplicaList("damaged")
                                            .replicas()
                                            .getFirst()
                                            .offset()
                                    + 999,
                            1)
                    .fill((byte) 0x7F);
            segment.asSlice(
                            master.getReplicaList("unchecked-damaged")
                                    .replicas()
                                    .getFirst()
                                    .offset(),
                            1)
                    .fill((byte) 0x7F);

            master.mountSegment("new", seg("", CONTENTS), true);

            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (master.exist("damaged") && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertFalse(master.exist("damaged"), "a copy that does not match its CRC32C is not served");
            assertTrue(master.exist("intact"));
            assertTrue(master.exist("unchecked-damaged"), "an object put without a checksum cannot be checked");
        }
    }

    /** A master that keeps a dead owner's segments for {@code grace} before dropping them. */
    private Master masterWithGrace(Duration grace) {
        return new Master(
                MasterSettings.defaults().withRestartGrace(grace), new RandomPlacement(), new LruEviction(), clock);
    }

    /** A master with a 2-minute grace whose segment's owner put "k" and was then declared dead. */
    private Master ownerDeadWithAnObject(String owner, String endpoint) {
        Master master = masterWithGrace(Duration.ofMinutes(2));
        master.mountSegment(owner, seg(endpoint, CONTENTS), false);
        put(master, "k", 42L);
        clock.advance(MasterSettings.defaults().clientTtl().plusSeconds(1));
        assertEquals(List.of(owner), master.expireSilentClients());
        return master;
    }

    @Test
    void withARestartGraceADeadOwnersSegmentWaitsOutOfUseAndARestartWithinItTakesTheObjectsOver() {
        Master master = ownerDeadWithAnObject("old", "old-endpoint");
        assertFalse(master.exist("k"), "not read while its owner is dead");
        assertThrows(
                StoreException.class,
                () -> master.putStart("writer", "other", 1000, 1, false),
                "nothing is placed in a segment whose owner is dead");
        assertEquals(0, master.stats().capacityBytes(), "nor counted as capacity");

        clock.advance(Duration.ofSeconds(60)); // a restart slower than client-ttl, inside the grace
        master.expireSilentClients();
        master.mountSegment("new", seg("new-endpoint", CONTENTS), true);
        assertTrue(master.exist("k"), "the restarted worker took the object over");
        assertEquals(
                "new-endpoint", master.getReplicaList("k").replicas().getFirst().endpoint());
        master.putStart("writer", "other", 1000, 1, false);
    }

    @Test
    void aFrozenOwnerThatComesBackWithinTheGraceHasItsObjectsAgain() {
        Master master = ownerDeadWithAnObject("w", "endpoint");
        assertFalse(master.exist("k"));

        master.mountSegment("w", seg("endpoint", CONTENTS), true); // thawed: told to remount, it does
        assertTrue(master.exist("k"));
    }

    @Test
    void pastTheGraceOrRestartedWithNewMemoryTheObjectsGo() {
        Master master = ownerDeadWithAnObject("old", "old-endpoint");
        clock.advance(Duration.ofMinutes(2));
        master.expireSilentClients();
        assertEquals(List.of(), master.segmentViews(), "dropped once the grace is over");
        assertThrows(
                StoreException.class,
                () -> master.mountSegment("new", seg("new-endpoint", CONTENTS), true),
                "then nothing is left to take over");

        Master other = ownerDeadWithAnObject("old", "old-endpoint");
        other.mountSegment("new", seg("new-endpoint", 0x5EED_0002L), false); // its file was not adopted
        assertFalse(other.exist("k"), "objects of memory that did not come back are gone");
        assertEquals(0, other.segmentViews().getFirst().usedBytes());
    }
}
