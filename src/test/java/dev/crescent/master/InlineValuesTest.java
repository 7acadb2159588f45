package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ArrivingValue;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterClient;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.local.LocalTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Small objects moved by the master itself (issue 20), on a real master and a real transfer engine whose segment
 * lives in this process (as in standalone), next to a segment it can reach only over the network.
 */
class InlineValuesTest {
    private static final long LIMIT = 64 << 10;
    private static final long SEGMENT_BYTES = 1 << 20;
    private final Arena arena = Arena.ofShared();
    private Master master;
    private TransferEngine engine;
    private InlineValues inline;
    private MemorySegment local;

    @BeforeEach
    void setUp() {
        master =
                new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), InstantSource.system());
        RegisteredMemory memory = new RegisteredMemory();
        engine = new TransferEngine(memory, List.of(new LocalTransport(memory)), TransferObserver.NONE);
        local = arena.allocate(SEGMENT_BYTES);
        engine.registerLocal("local", local, "");
        master.mountSegment("worker", "local", SEGMENT_BYTES, "");
        inline = new InlineValues(master, engine, LIMIT);
    }

    @AfterEach
    void tearDown() {
        engine.close();
        arena.close();
    }

    @Test
    void aSmallPutIsWrittenAndCommittedInItsPutStart() {
        byte[] value = bytes(4096, 1);
        assertEquals(StartedPut.COMMITTED, put("k", value, false));
        ObjectLocation location = master.getReplicaList("k");
        assertEquals(value.length, location.size());
        var replica = location.replicas().getFirst();
        byte[] stored = local.asSlice(replica.offset(), value.length).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(value, stored, "the bytes are in the segment range, where a replica reader finds them");
    }

    @Test
    void aSmallGetAnswersTheBytesAndHoldsNoLease() {
        byte[] value = bytes(1000, 2);
        put("k", value, false);
        ObjectLocation location = inline.locate("k", LIMIT, "", null);
        assertNotNull(location.value());
        assertArrayEquals(value, toArray(location.value()));
        assertTrue(location.replicas().isEmpty());
        assertEquals(0, location.leaseId());
        master.remove("k", false); // an unforced remove meets no lease: the inline read handed its lease back
        assertFalse(master.exist("k"));
    }

    @Test
    void aLentGetSharesTheSegmentsBytesAndHoldsTheLeaseUntilTheAnswerIsOut() {
        byte[] value = bytes(1000, 4);
        put("k", value, false);
        Lending lending = new Lending();
        ObjectLocation location = inline.locate("k", LIMIT, "", lending);
        assertArrayEquals(value, toArray(location.value()));
        long at = location.value().address() - local.address();
        assertTrue(at >= 0 && at + value.length <= SEGMENT_BYTES, "a view of the segment, not a copy");
        assertEquals(0, location.leaseId(), "nothing for the reader to hand back");
        StoreException leased = assertThrows(StoreException.class, () -> master.remove("k", false));
        assertEquals(ErrorCode.OBJECT_HAS_LEASE, leased.code(), "the range may not be reused under the answer");
        lending.end();
        master.remove("k", false);
        assertFalse(master.exist("k"));
    }

    @Test
    void aReplicaListLeasesAsBefore() {
        put("k", bytes(1000, 3), false);
        ObjectLocation location = inline.locate("k", 0, "", null); // the reader takes no bytes inline
        assertNull(location.value());
        assertFalse(location.replicas().isEmpty());
        StoreException leased = assertThrows(StoreException.class, () -> master.remove("k", false));
        assertEquals(ErrorCode.OBJECT_HAS_LEASE, leased.code());
    }

    @Test
    void objectsOverTheLimitArePutFromTheBytesThatCameAndReadTheUsualWay() {
        byte[] big = bytes((int) LIMIT + 1, 4);
        assertEquals(StartedPut.COMMITTED, put("big", big, false), "placed, copied, then committed");
        ObjectLocation location = inline.locate("big", LIMIT, "", null);
        assertNull(location.value(), "over the limit: read from its replica");
        var replica = location.replicas().getFirst();
        assertArrayEquals(big, local.asSlice(replica.offset(), big.length).toArray(ValueLayout.JAVA_BYTE));
        StoreException taken = assertThrows(StoreException.class, () -> put("big", bytes(big.length, 5), false));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, taken.code(), "first writer wins");

        put("k", bytes(2000, 5), false);
        assertNull(inline.locate("k", 1999, "", null).value(), "larger than the reader accepts");
    }

    @Test
    void aValueStillArrivingIsReadOnceStraightIntoItsRangeAndCommitted() {
        byte[] value = bytes(300 << 10, 8);
        ArrivingBytes arriving = new ArrivingBytes(value);
        assertEquals(StartedPut.COMMITTED, arrivingPut("local", "k", arriving));
        assertEquals(1, arriving.reads(), "read once");
        var replica = master.getReplicaList("k").replicas().getFirst();
        assertArrayEquals(value, local.asSlice(replica.offset(), value.length).toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void aValueThatStopsArrivingRevokesItsPutAndLeavesTheKeyFree() {
        byte[] value = bytes(300 << 10, 9);
        StoreException failed = assertThrows(
                StoreException.class, () -> arrivingPut("local", "k", new ArrivingBytes(value, value.length / 2)));
        assertEquals(ErrorCode.TRANSFER_FAIL, failed.code());
        assertTrue(failed.getMessage().contains("did not arrive whole"), failed.getMessage());
        assertEquals(0, master.stats().usedBytes(), "its range was freed");
        assertEquals(
                ErrorCode.OBJECT_NOT_FOUND,
                assertThrows(StoreException.class, () -> master.getReplicaList("k"))
                        .code());
        assertEquals(StartedPut.COMMITTED, arrivingPut("local", "k", new ArrivingBytes(value)));
    }

    @Test
    void aValueStillArrivingForAReplicaOutOfReachIsLeftToItsWriter() {
        master.mountSegment("far-worker", "far", SEGMENT_BYTES, "host=another-host,tcp=127.0.0.1:9");
        ArrivingBytes arriving = new ArrivingBytes(bytes(300 << 10, 10));
        StartedPut started = arrivingPut("far", "k", arriving);
        assertFalse(started.committed());
        assertEquals("far", started.replicas().getFirst().segment(), "the writer writes it and ends the put");
        assertEquals(0, arriving.reads(), "not read: its connection skips it");
        StoreException taken =
                assertThrows(StoreException.class, () -> arrivingPut("local", "k", new ArrivingBytes(new byte[10])));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, taken.code(), "refused before a byte of it is read");
    }

    private StartedPut arrivingPut(String segment, String key, ArrivingValue value) {
        try {
            return inline.putStartArriving(
                            "client", key, value, new ReplicaConfig(1, List.of(segment), false, false), false, null)
                    .join();
        } catch (CompletionException refused) {
            throw (RuntimeException) refused.getCause();
        }
    }

    @Test
    void aSegmentOnlyTheNetworkReachesIsLeftToTheClient() {
        master.mountSegment("far-worker", "far", SEGMENT_BYTES, "host=another-host,tcp=127.0.0.1:9");
        StartedPut started = putOn("far", "k", bytes(100, 6));
        assertFalse(started.committed());
        assertEquals("far", started.replicas().getFirst().segment());
        master.putEnd("client", "k");
        ObjectLocation location = inline.locate("k", LIMIT, "", null);
        assertNull(location.value(), "the master does not wait on the network for a read");
        assertEquals("far", location.replicas().getFirst().segment());
    }

    @Test
    void aCopyThatFailsIsAnsweredAndLeavesNothingStartedOrHeld() {
        // A segment whose memory here is shorter than what it was mounted with: the copy into it fails.
        engine.registerLocal("short", arena.allocate(4096), "");
        master.mountSegment("short-worker", "short", SEGMENT_BYTES, "");
        StoreException failed = assertThrows(StoreException.class, () -> putOn("short", "k", bytes(8192, 30)));
        assertEquals(ErrorCode.TRANSFER_FAIL, failed.code());
        assertTrue(failed.getMessage().contains("outside segment 'short'"), failed.getMessage());
        assertEquals(0, master.stats().usedBytes(), "its range was freed");
        StoreException gone = assertThrows(StoreException.class, () -> master.getReplicaList("k"));
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, gone.code(), "revoked, not left in progress");
        assertEquals(StartedPut.COMMITTED, putOn("local", "k", bytes(8192, 31)), "the key is free for the next put");
        assertArrayEquals(
                bytes(8192, 31), toArray(inline.locate("k", LIMIT, "", null).value()));
    }

    @Test
    void aReaderThatMapsTheReplicaOnItsHostGetsTheReplicaNotTheBytes() {
        MemorySegment near = arena.allocate(SEGMENT_BYTES);
        engine.registerLocal("near", near, "");
        master.mountSegment("near-worker", "near", SEGMENT_BYTES, "host=reader-host,shm=/dev/shm/crescent-near.1");
        putOn("near", "k", bytes(100, 12));
        ObjectLocation mapped = inline.locate("k", LIMIT, "reader-host", null);
        assertNull(mapped.value(), "its own memory copy beats bytes on a socket");
        assertEquals("near", mapped.replicas().getFirst().segment());
        assertArrayEquals(
                bytes(100, 12),
                toArray(inline.locate("k", LIMIT, "another-host", null).value()));
    }

    /** Copied under their keys (no lending, or below LENT_FROM) or lent from their segments: one budget either way. */
    @ParameterizedTest(name = "lent: {0}, {1} bytes each")
    @CsvSource({"false, 61440", "true, 61440", "true, 16383"})
    void aBatchAnswersBytesWithinItsBudgetAndReplicasBeyond(boolean lent, int size) {
        long roomy = 2 * MasterClient.BATCH_INLINE_BYTES;
        engine.registerLocal("roomy", arena.allocate(roomy), "");
        master.mountSegment("roomy-worker", "roomy", roomy, "");
        int objects = (int) (MasterClient.BATCH_INLINE_BYTES / size) + 3;
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < objects; i++) {
            keys.add("b" + i);
            put("b" + i, bytes(size, 40 + i), false);
        }
        keys.add("missing");
        Lending lending = lent ? new Lending() : null;
        List<KeyResult<ObjectLocation>> located = inline.locateAll(keys, LIMIT, "", lending);
        int inlined = 0;
        for (int i = 0; i < objects; i++) {
            ObjectLocation location = located.get(i).value();
            if (location.value() != null) {
                inlined++;
                assertArrayEquals(bytes(size, 40 + i), toArray(location.value()));
                assertEquals(0, location.leaseId());
            } else {
                assertFalse(location.replicas().isEmpty());
            }
        }
        assertEquals(MasterClient.BATCH_INLINE_BYTES / size, inlined, "bytes up to the budget, replicas after");
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, located.get(objects).code());
        if (lent && size >= InlineValues.LENT_FROM) {
            StoreException held = assertThrows(StoreException.class, () -> master.remove("b0", false));
            assertEquals(ErrorCode.OBJECT_HAS_LEASE, held.code(), "shared by the answer until it is out");
        }
        if (lent) {
            lending.end();
        }
        master.remove("b0", false); // answered with bytes: copied with no lease, or its lease went back
        StoreException leased = assertThrows(StoreException.class, () -> master.remove("b" + (objects - 1), false));
        assertEquals(ErrorCode.OBJECT_HAS_LEASE, leased.code(), "answered as a replica: its reader holds a lease");
    }

    @Test
    void aBatchAnswersEachObjectInReachWithItsOwnBytesAndLeavesTheOthersToTheClient() {
        master.mountSegment("far-worker", "far", SEGMENT_BYTES, "host=another-host,tcp=127.0.0.1:9");
        List<String> keys = List.of("near-a", "far-b", "near-c", "far-d", "near-e");
        int[] sizes = {3000, 100, 1, 700, 5000};
        for (int i = 0; i < keys.size(); i++) {
            String segment = keys.get(i).startsWith("far") ? "far" : "local";
            if (!putOn(segment, keys.get(i), bytes(sizes[i], 60 + i)).committed()) {
                master.putEnd("client", keys.get(i)); // the far one's bytes are the client's to write
            }
        }
        List<KeyResult<ObjectLocation>> located = inline.locateAll(keys, LIMIT, "", null);
        for (int i = 0; i < keys.size(); i++) {
            ObjectLocation location = located.get(i).value();
            if (keys.get(i).startsWith("far")) {
                assertNull(location.value(), keys.get(i));
                assertEquals("far", location.replicas().getFirst().segment());
            } else {
                assertArrayEquals(bytes(sizes[i], 60 + i), toArray(location.value()), keys.get(i));
            }
        }
    }

    /**
     * Under a lending a batch copies its small values under their keys (no lease: their objects may go while the
     * answer is still out) and lends its large ones from their segments (leased until the answer is out).
     */
    @Test
    void aLentBatchCopiesSmallValuesAndLendsLargeOnesUnderLeases() {
        List<String> keys = List.of("small", "large", "just-small", "missing");
        int[] sizes = {100, (int) InlineValues.LENT_FROM, (int) InlineValues.LENT_FROM - 1};
        for (int i = 0; i < sizes.length; i++) {
            put(keys.get(i), bytes(sizes[i], 70 + i), false);
        }
        List<MemorySegment> taken = new ArrayList<>();
        boolean[] freed = new boolean[1];
        Lending lending = new Lending(new Lending.Room() {
            @Override
            public MemorySegment take(long bytes) {
                MemorySegment room = arena.allocate(Math.max(1, bytes)).asSlice(0, bytes);
                taken.add(room);
                return room;
            }

            @Override
            public void free() {
                freed[0] = true;
            }
        });
        List<KeyResult<ObjectLocation>> located = inline.locateAll(keys, LIMIT, "", lending);
        assertEquals(2, taken.size(), "the two small ones copied into the room");
        assertEquals(taken.getFirst().address(), located.get(0).value().value().address());
        for (int i = 0; i < sizes.length; i++) {
            assertArrayEquals(
                    bytes(sizes[i], 70 + i), toArray(located.get(i).value().value()), keys.get(i));
            assertEquals(0, located.get(i).value().leaseId(), keys.get(i));
        }
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, located.get(3).code());
        master.remove("small", false);
        master.remove("just-small", false);
        StoreException held = assertThrows(StoreException.class, () -> master.remove("large", false));
        assertEquals(ErrorCode.OBJECT_HAS_LEASE, held.code(), "lent from its segment until the answer is out");
        local.fill((byte) 0); // the small ones' ranges reused
        assertArrayEquals(bytes(100, 70), toArray(located.get(0).value().value()), "copied, not lent");
        assertFalse(freed[0]);
        lending.end();
        assertTrue(freed[0], "the room is given back with the lending");
        master.remove("large", false);
    }

    @Test
    void aRepeatOfACommittedPutByItsClientIsAcknowledgedAndNothingElseIs() {
        // A leader that commits and dies before answering: the client asks the next leader again (MasterFailoverIT).
        byte[] value = bytes(2000, 13);
        put("k", value, false);
        assertEquals(StartedPut.COMMITTED, put("k", value, false), "the same client, the same bytes");
        StoreException other = assertThrows(StoreException.class, () -> put("k", bytes(2000, 14), false));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, other.code(), "other bytes");
        StoreException another = assertThrows(
                StoreException.class,
                () -> inline.putStart(
                                "another-client", "k", MemorySegment.ofArray(value), ReplicaConfig.DEFAULT, false, null)
                        .join());
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, another.code(), "another client");
        master.remove("k", false); // the comparisons handed their leases back
    }

    @Test
    void firstWriterWinsAndUpsertsReplaceInPlaceOrResized() {
        put("k", bytes(3000, 7), false);
        StoreException exists = assertThrows(StoreException.class, () -> put("k", bytes(3000, 8), false));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, exists.code());
        assertArrayEquals(
                bytes(3000, 7), toArray(inline.locate("k", LIMIT, "", null).value()));

        put("k", bytes(3000, 9), true);
        assertArrayEquals(
                bytes(3000, 9), toArray(inline.locate("k", LIMIT, "", null).value()), "same size: in place");
        put("k", bytes(5000, 10), true);
        assertArrayEquals(
                bytes(5000, 10), toArray(inline.locate("k", LIMIT, "", null).value()), "new size: new range");
        assertEquals(1, master.stats().objectCount());
    }

    @Test
    void inlinePutsPastCapacityEvictAndKeepTheNewest() {
        int size = 48 << 10;
        int objects = (int) (3 * SEGMENT_BYTES / size);
        for (int i = 0; i < objects; i++) {
            assertTrue(put("k" + i, bytes(size, i), false).committed());
        }
        assertTrue(master.stats().evictedObjects() > 0, "eviction made room, as for any put");
        assertTrue(master.stats().usedBytes() <= SEGMENT_BYTES);
        assertArrayEquals(
                bytes(size, objects - 1),
                toArray(inline.locate("k" + (objects - 1), LIMIT, "", null).value()));
    }

    @Test
    void aPutStartWithBytesIsRefusedLikeAnyWhenTheKeyIsBad() {
        StoreException bad = assertThrows(StoreException.class, () -> put("", bytes(10, 11), false));
        assertEquals(ErrorCode.INVALID_KEY, bad.code());
        assertEquals(0, master.stats().usedBytes(), "nothing was reserved");
    }

    @Test
    void aBatchCommitsTheKeysWhoseBytesCameAndStartsTheOthers() {
        put("taken", bytes(500, 20), false);
        List<String> keys = List.of("a", "taken", "sizeOnly", "b", "");
        List<byte[]> values = List.of(bytes(700, 21), bytes(500, 22), bytes(900, 23), bytes(800, 24), bytes(10, 25));
        ArrayList<MemorySegment> sent = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            sent.add(keys.get(i).equals("sizeOnly") ? null : MemorySegment.ofArray(values.get(i)));
        }
        List<KeyResult<StartedPut>> started = settle(inline.batchPutStart(
                "client",
                keys,
                values.stream().map(v -> (long) v.length).toList(),
                sent,
                ReplicaConfig.DEFAULT,
                false,
                Collections.nCopies(keys.size(), null),
                null));

        assertEquals(StartedPut.COMMITTED, started.get(0).value());
        assertArrayEquals(
                values.get(0), toArray(inline.locate("a", LIMIT, "", null).value()));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, started.get(1).code(), "first writer wins, key by key");
        assertArrayEquals(
                bytes(500, 20), toArray(inline.locate("taken", LIMIT, "", null).value()));
        assertFalse(started.get(2).value().committed(), "no bytes came: an ordinary put start");
        assertEquals(1, started.get(2).value().replicas().size());
        assertEquals(StartedPut.COMMITTED, started.get(3).value(), "a key after a refused one is still committed");
        assertEquals(ErrorCode.INVALID_KEY, started.get(4).code());
        StoreException notReady = assertThrows(StoreException.class, () -> master.getReplicaList("sizeOnly"));
        assertEquals(ErrorCode.REPLICA_IS_NOT_READY, notReady.code(), "its caller writes and ends it");
        master.putRevoke("client", "sizeOnly");

        List<KeyResult<StartedPut>> again = settle(inline.batchPutStart(
                "client",
                List.of("a", "b"),
                List.of(700L, 800L),
                List.of(MemorySegment.ofArray(values.get(0)), MemorySegment.ofArray(values.get(3))),
                ReplicaConfig.DEFAULT,
                false,
                Arrays.asList(null, null),
                null));
        assertEquals(StartedPut.COMMITTED, again.get(0).value(), "a repeat of its own committed batch (failover)");
        assertEquals(StartedPut.COMMITTED, again.get(1).value());
        assertEquals(3, master.stats().objectCount());
    }

    @Test
    void aBatchOverTheKeyLimitIsRefusedWhole() {
        int keys = Master.MAX_BATCH_KEYS + 1;
        List<String> many = Collections.nCopies(keys, "k");
        StoreException refused = assertThrows(
                StoreException.class,
                () -> inline.batchPutStart(
                        "client",
                        many,
                        Collections.nCopies(keys, 1L),
                        Collections.nCopies(keys, MemorySegment.ofArray(new byte[1])),
                        ReplicaConfig.DEFAULT,
                        false,
                        Collections.nCopies(keys, null),
                        null));
        assertEquals(ErrorCode.INVALID_PARAMS, refused.code());
        assertEquals(0, master.stats().usedBytes());
    }

    private static List<KeyResult<StartedPut>> settle(List<KeyResult<CompletableFuture<StartedPut>>> started) {
        return started.stream().map(KeyResult::settled).toList();
    }

    private StartedPut put(String key, byte[] value, boolean upsert) {
        return inline.putStart("client", key, MemorySegment.ofArray(value), ReplicaConfig.DEFAULT, upsert, null)
                .join();
    }

    /** A put whose replica goes to {@code segment}. */
    private StartedPut putOn(String segment, String key, byte[] value) {
        return inline.putStart(
                        "client",
                        key,
                        MemorySegment.ofArray(value),
                        new ReplicaConfig(1, List.of(segment), false, false),
                        false,
                        null)
                .join();
    }

    private static byte[] toArray(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] bytes(int size, int seed) {
        byte[] value = new byte[size];
        Arrays.fill(value, (byte) seed);
        for (int i = 0; i < size; i += 97) {
            value[i] = (byte) (i * 31 + seed);
        }
        return value;
    }
}
