package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.local.LocalTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The disk tier on a real master, with a DRAM segment and a disk segment served by a real transfer engine (local
 * transport): objects above the watermark move to disk with their bytes, come back when read, a full disk tier
 * evicts its own objects, a move of an object changed meanwhile is abandoned, and a new leader restored from the
 * op-log finds moved objects where they are.
 */
class TieringTest {
    private static final int OBJECT = 100 << 10;
    private static final long DRAM = 1 << 20;

    private final RegisteredMemory memory = new RegisteredMemory();
    private final Arena arena = Arena.ofShared();
    private final TransferEngine engine =
            new TransferEngine(memory, List.of(new LocalTransport(memory)), TransferObserver.NONE);
    private final MemorySegment dram = arena.allocate(DRAM, 4096);
    private MemorySegment disk;
    private Master master;

    @BeforeEach
    void registerDram() {
        engine.registerLocal("dram", dram, "");
    }

    @AfterEach
    void close() {
        engine.close();
        arena.close();
    }

    /** A master with the DRAM segment and a disk segment of {@code diskBytes}, moving objects through {@code copier}. */
    private Master master(long diskBytes, ReplicaCopier copier, OpLog log) {
        disk = arena.allocate(diskBytes, 4096);
        engine.registerLocal("disk", disk, "");
        Master m = new Master(
                MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), java.time.Clock.systemUTC());
        if (log != null) {
            m.attachOpLog(log);
        }
        m.attachTiering(copier);
        m.mountSegment("worker", new SegmentDescriptor("dram", DRAM, ""), false);
        m.mountSegment("worker", new SegmentDescriptor("disk", diskBytes, "", 0, SegmentTier.DISK), false);
        return m;
    }

    /** Puts {@code key} with bytes that name it; @return them */
    private byte[] put(String key) {
        return put(master.putStart("writer", key, OBJECT, 1, false).getFirst(), key);
    }

    /** As {@link #put(String)}, through the API's put start, which waits for room rather than dropping objects. */
    private byte[] putWaitingForRoom(String key) throws Exception {
        ReplicaDescriptor range = master.putStartAsync("writer", key, OBJECT, ReplicaConfig.DEFAULT, false)
                .get(10, TimeUnit.SECONDS)
                .getFirst();
        return put(range, key);
    }

    private byte[] put(ReplicaDescriptor range, String key) {
        assertEquals("dram", range.segment(), "puts go to DRAM only");
        byte[] bytes = bytesOf(key);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, dram, range.offset(), OBJECT);
        master.putEnd("writer", key, null);
        return bytes;
    }

    /** Copies through the engine, each copy once {@code goOn} opens (10 s at most); counts {@code copying} down first. */
    private ReplicaCopier held(CountDownLatch copying, CountDownLatch goOn) {
        EngineReplicas copier = new EngineReplicas(engine);
        return (from, to, bytes) -> {
            copying.countDown();
            try {
                goOn.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            copier.copy(from, to, bytes);
        };
    }

    private static byte[] bytesOf(String key) {
        byte[] bytes = new byte[OBJECT];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (key.hashCode() + i);
        }
        return bytes;
    }

    /** The bytes of {@code key} where the master says they are now, read from that segment's memory. */
    private byte[] stored(String key) {
        ReplicaDescriptor replica = master.getReplicaList(key).replicas().getFirst();
        MemorySegment segment = replica.segment().equals("disk") ? disk : dram;
        return segment.asSlice(replica.offset(), OBJECT).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    private String segmentOf(String key) {
        return master.getReplicaList(key).replicas().getFirst().segment();
    }

    @Test
    void objectsAboveTheWatermarkMoveToDiskWithTheirBytesAndComeBackWhenRead() throws Exception {
        master = master(4 << 20, new EngineReplicas(engine), null);
        List<byte[]> written = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            written.add(put("k" + i)); // 1000 KiB of 1024: past where objects start to move (0.85)
        }

        master.evictAboveWatermark();
        await(() -> master.stats().offloadedObjects() > 0);

        assertEquals(0, master.stats().evictedObjects(), "nothing was dropped");
        assertEquals(10, master.stats().objectCount());
        assertTrue(master.stats().usedBytes() <= DRAM * 0.90, "DRAM went below the watermark");
        assertTrue(master.stats().diskUsedBytes() >= OBJECT);
        assertEquals("disk", segmentOf("k0"), "the least recently used went first");
        for (int i = 0; i < 10; i++) {
            assertArrayEquals(written.get(i), stored("k" + i), "k" + i + " reads the same bytes wherever it is");
        }

        // Read from disk, k0 comes back to DRAM (there is room now) with the same bytes.
        await(() -> segmentOf("k0").equals("dram"));
        assertArrayEquals(written.getFirst(), stored("k0"));
        assertTrue(master.stats().promotedObjects() >= 1);
    }

    @Test
    void aPutThatFindsDramFullWaitsForObjectsToMoveInsteadOfDroppingThem() throws Exception {
        master = master(4 << 20, new EngineReplicas(engine), null);
        List<byte[]> written = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            written.add(putWaitingForRoom("k" + i)); // 2.5 MiB through 1 MiB of DRAM, as fast as it goes
        }
        assertEquals(0, master.stats().evictedObjects(), "nothing dropped while the disk tier had room");
        for (int i = 0; i < 25; i++) {
            assertArrayEquals(written.get(i), stored("k" + i), "k" + i);
        }
        assertTrue(master.stats().offloadedObjects() >= 15);
    }

    @Test
    void batchedPutsThatFindDramFullWaitForObjectsToMoveInsteadOfDroppingThem() throws Exception {
        master = master(4 << 20, new EngineReplicas(engine), null);
        List<byte[]> written = new ArrayList<>();
        for (int batch = 0; batch < 5; batch++) { // the REST gateway's path: the master's own batch put start
            List<String> keys = List.of(
                    "b" + batch + "-0", "b" + batch + "-1", "b" + batch + "-2", "b" + batch + "-3", "b" + batch + "-4");
            List<KeyResult<List<ReplicaDescriptor>>> started = master.batchPutStart(
                    "writer", keys, keys.stream().map(k -> (long) OBJECT).toList(), ReplicaConfig.DEFAULT, false);
            for (KeyResult<List<ReplicaDescriptor>> one : started) {
                written.add(put(one.value().getFirst(), one.key()));
            }
        }
        assertEquals(0, master.stats().evictedObjects(), "nothing dropped while the disk tier had room");
        for (int i = 0; i < 25; i++) {
            assertArrayEquals(written.get(i), stored("b" + i / 5 + "-" + i % 5), "object " + i);
        }
    }

    @Test
    void putsCarryingTheirBytesThatFindDramFullWaitTooAndNothingIsDropped() throws Exception {
        master = master(4 << 20, new EngineReplicas(engine), null);
        InlineValues inline = new InlineValues(master, engine, OBJECT);
        List<String> keys = new ArrayList<>();
        List<byte[]> written = new ArrayList<>();
        for (int batch = 0; batch < 5; batch++) { // the wire's path: bytes in the call, copied by the master
            List<String> batchKeys = new ArrayList<>();
            List<MemorySegment> values = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                String key = "v" + batch + "-" + i;
                byte[] bytes = bytesOf(key);
                batchKeys.add(key);
                values.add(MemorySegment.ofArray(bytes.clone()));
                keys.add(key);
                written.add(bytes);
            }
            List<KeyResult<CompletableFuture<StartedPut>>> started = inline.batchPutStart(
                    "writer",
                    batchKeys,
                    batchKeys.stream().map(k -> (long) OBJECT).toList(),
                    values,
                    ReplicaConfig.DEFAULT,
                    false,
                    java.util.Collections.nCopies(5, null),
                    null);
            // The wire reads its next frame into the array these bytes lay in: a put placed after a wait must not
            // be written from them any more.
            values.forEach(sent -> sent.fill((byte) 0));
            for (KeyResult<CompletableFuture<StartedPut>> one : started) {
                StartedPut answer = one.value().get(10, TimeUnit.SECONDS);
                if (!answer.committed()) { // placed after a wait: the caller writes the bytes it still has
                    put(answer.replicas().getFirst(), one.key());
                }
            }
        }
        assertEquals(0, master.stats().evictedObjects(), "nothing dropped while the disk tier had room");
        assertTrue(
                master.stats().offloadedObjects() >= 15,
                "moved: " + master.stats().offloadedObjects());
        for (int i = 0; i < keys.size(); i++) {
            assertArrayEquals(written.get(i), stored(keys.get(i)), keys.get(i));
        }
    }

    /**
     * A large put whose value is still arriving reads it only when placed at once: one that must wait for room is
     * answered with its replicas once placed, its value never read (its connection has skipped it by then), and its
     * writer writes the bytes it still has. Nothing is dropped either way.
     */
    @Test
    void largePutsStillArrivingThatFindDramFullWaitTooAndAreLeftToTheirWriters() throws Exception {
        // Moves are held until a put has to wait: a free-running copier can keep DRAM below full on a fast host,
        // and then no put would wait at all (seen in CI).
        CountDownLatch goOn = new CountDownLatch(1);
        master = master(4 << 20, held(new CountDownLatch(1), goOn), null);
        InlineValues inline = new InlineValues(master, engine, OBJECT / 2); // past the inline limit
        int waited = 0;
        for (int i = 0; i < 25; i++) {
            String key = "a" + i;
            byte[] bytes = bytesOf(key);
            ArrivingBytes value = new ArrivingBytes(bytes);
            CompletableFuture<StartedPut> started =
                    inline.putStartArriving("writer", key, value, ReplicaConfig.DEFAULT, false, null);
            if (!started.isDone()) {
                assertEquals(0, value.reads(), key + ": nothing read while the put waits for room");
                goOn.countDown(); // the moves go on, and make room
            }
            StartedPut answer = started.get(10, TimeUnit.SECONDS);
            assertEquals(answer.committed() ? 1 : 0, value.reads(), key + ": read only when placed at once");
            if (!answer.committed()) {
                assertArrayEquals(bytes, put(answer.replicas().getFirst(), key));
                waited++;
            }
        }
        assertTrue(waited > 0, "2.5 MiB through 1 MiB of DRAM: some puts waited for room");
        assertEquals(0, master.stats().evictedObjects(), "nothing dropped while the disk tier had room");
        for (int i = 0; i < 25; i++) {
            assertArrayEquals(bytesOf("a" + i), stored("a" + i), "a" + i);
        }
    }

    @Test
    void aPutWaitingForRoomIsRefusedWhenItsTieringStopsRatherThanLeftWaiting() throws Exception {
        CountDownLatch goOn = new CountDownLatch(1);
        EngineReplicas copier = new EngineReplicas(engine);
        master = master(4 << 20, held(new CountDownLatch(1), goOn), null); // every move hangs: no room comes
        for (int i = 0; i < 10; i++) {
            put("k" + i);
        }
        CompletableFuture<List<ReplicaDescriptor>> waiting =
                master.putStartAsync("writer", "late", 2 * OBJECT, ReplicaConfig.DEFAULT, false);
        assertFalse(waiting.isDone(), "DRAM is full and a move is under way: the put waits");

        master.attachTiering(copier); // the tiering it waited on stops

        java.util.concurrent.ExecutionException refused =
                assertThrows(java.util.concurrent.ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.NOT_LEADER, ((StoreException) refused.getCause()).code());
        goOn.countDown();
    }

    @Test
    void aPutThatDoesNotFitInScatteredRoomHasObjectsMovedForItEvenBelowTheLine() throws Exception {
        master = master(4 << 20, new EngineReplicas(engine), null);
        for (int i = 0; i < 8; i++) {
            put("k" + i); // 800 KiB of 1024: below where objects start to move
        }
        for (int i = 1; i < 8; i += 2) {
            master.remove("k" + i, true); // 400 KiB free in holes of 100 KiB, and 224 KiB at the end
        }

        ReplicaDescriptor wide = master.putStartAsync("writer", "wide", 4 * OBJECT, ReplicaConfig.DEFAULT, false)
                .get(10, TimeUnit.SECONDS)
                .getFirst();

        assertEquals("dram", wide.segment());
        assertEquals(0, master.stats().evictedObjects(), "objects moved to make a hole, none dropped");
        assertTrue(master.stats().offloadedObjects() > 0);
        for (int i = 0; i < 8; i += 2) {
            assertTrue(master.exist("k" + i), "k" + i);
        }
    }

    @Test
    void aPutLargerThanEveryDramSegmentIsRefusedAtOnceWhateverTheDiskTierHolds() {
        master = master(4 << 20, new EngineReplicas(engine), null);
        StoreException refused = assertThrows(
                StoreException.class,
                () -> master.putStartAsync("writer", "huge", 2 * DRAM, ReplicaConfig.DEFAULT, false));
        assertEquals(ErrorCode.NO_AVAILABLE_HANDLE, refused.code(), "not after waiting for room that cannot come");
    }

    @Test
    void aFullDiskTierEvictsItsOwnObjectsToTakeNewOnes() throws Exception {
        master = master(2 * OBJECT, new EngineReplicas(engine), null);
        for (int i = 0; i < 10; i++) {
            put("k" + i);
        }
        for (int round = 0; round < 3; round++) {
            master.evictAboveWatermark();
            await(() -> master.stats().usedBytes() <= DRAM * 0.90);
            for (int i = 0; master.stats().usedBytes() <= DRAM * 0.90; i++) {
                put("more" + round + "-" + i);
            }
        }
        assertTrue(
                master.stats().offloadedObjects() >= 3,
                "moved: " + master.stats().offloadedObjects());
        assertTrue(master.stats().evictedObjects() >= 1, "the disk tier dropped its oldest to make room");
        assertFalse(master.exist("k0"), "the first object moved out was the first the disk tier dropped");
        assertTrue(master.stats().diskUsedBytes() <= 2 * OBJECT);
    }

    @Test
    void aMoveOfAnObjectRemovedWhileItsBytesMoveIsAbandoned() throws Exception {
        CountDownLatch copying = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        master = master(4 << 20, held(copying, goOn), null);
        for (int i = 0; i < 10; i++) {
            put("k" + i);
        }
        master.evictAboveWatermark();
        assertTrue(copying.await(10, TimeUnit.SECONDS));
        master.remove("k0", true);
        goOn.countDown();
        await(() -> master.stats().offloadedObjects() > 0);

        assertFalse(master.exist("k0"), "a removed object does not come back from the disk tier");
        long onDisk = master.stats().diskUsedBytes();
        assertEquals(
                master.stats().offloadedObjects() * OBJECT,
                onDisk,
                "the range taken for the removed object was given back");
    }

    @Test
    void anObjectWithTwoReplicasKeepsTwoOnDiskAndTwoWhenItComesBack() throws Exception {
        master = master(4 << 20, new EngineReplicas(engine), null);
        MemorySegment dram2 = arena.allocate(DRAM, 4096);
        MemorySegment disk2 = arena.allocate(4 << 20, 4096);
        engine.registerLocal("dram2", dram2, "");
        engine.registerLocal("disk2", disk2, "");
        master.mountSegment("worker2", new SegmentDescriptor("dram2", DRAM, ""), false);
        master.mountSegment("worker2", new SegmentDescriptor("disk2", 4 << 20, "", 0, SegmentTier.DISK), false);
        List<byte[]> written = new ArrayList<>();
        for (int i = 0; i < 10; i++) { // 1000 KiB in each DRAM segment: past where objects start to move
            String key = "r" + i;
            byte[] bytes = bytesOf(key);
            List<ReplicaDescriptor> replicas = master.putStart("writer", key, OBJECT, 2, false);
            assertEquals(2, replicas.size());
            for (ReplicaDescriptor replica : replicas) {
                MemorySegment segment = replica.segment().equals("dram") ? dram : dram2;
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, segment, replica.offset(), OBJECT);
            }
            master.putEnd("writer", key, null);
            written.add(bytes);
        }

        master.evictAboveWatermark();
        await(() -> master.stats().offloadedObjects() > 0);

        List<ReplicaDescriptor> onDisk = master.getReplicaList("r0").replicas();
        assertEquals(
                java.util.Set.of("disk", "disk2"),
                onDisk.stream().map(ReplicaDescriptor::segment).collect(java.util.stream.Collectors.toSet()),
                "each replica moved to a disk segment of its own");
        for (ReplicaDescriptor replica : onDisk) {
            MemorySegment segment = replica.segment().equals("disk") ? disk : disk2;
            assertArrayEquals(
                    written.getFirst(),
                    segment.asSlice(replica.offset(), OBJECT).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    replica.segment());
        }
        // Two disk replicas per offloaded object, read from one snapshot once the moves under way settle: read from
        // two, a move that finished between the reads made them disagree (seen in CI).
        await(() -> {
            var stats = master.stats();
            return stats.diskUsedBytes() == 2L * OBJECT * stats.offloadedObjects();
        });

        // Read from disk, r0 comes back with two DRAM replicas again.
        await(() -> master.getReplicaList("r0").replicas().stream()
                .allMatch(r -> r.segment().startsWith("dram")));
        assertEquals(2, master.getReplicaList("r0").replicas().size());
    }

    @Test
    void aNewLeaderRestoredFromTheOpLogFindsMovedObjectsOnDisk() throws Exception {
        ReplicatedIndex replicated = new ReplicatedIndex();
        master = master(4 << 20, new EngineReplicas(engine), new RecordingOpLog(replicated::apply));
        for (int i = 0; i < 10; i++) {
            put("k" + i);
        }
        master.evictAboveWatermark();
        await(() -> master.stats().offloadedObjects() > 0);

        Master successor = new Master(
                MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), java.time.Clock.systemUTC());
        successor.restore(replicated);
        assertEquals(
                "disk", successor.getReplicaList("k0").replicas().getFirst().segment());
        // The master may still be moving objects: the successor is checked against what its own log said moved.
        long onDisk = 0;
        for (int i = 0; i < 10; i++) {
            onDisk += successor
                            .getReplicaList("k" + i)
                            .replicas()
                            .getFirst()
                            .segment()
                            .equals("disk")
                    ? 1
                    : 0;
        }
        assertEquals(
                onDisk * OBJECT,
                successor.stats().diskUsedBytes(),
                "the disk tier's ranges are taken on the successor too");
        assertEquals((10 - onDisk) * OBJECT, successor.stats().usedBytes(), "and DRAM's freed ones are free");
    }

    /** Waits up to 10 s for {@code condition}; fails the test when it does not hold by then. */
    static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s");
            }
            Thread.sleep(5);
        }
    }
}
