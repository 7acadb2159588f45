package dev.crescent.client;

import dev.crescent.api.MasterCalls;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.transfer.shm.Futex;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Java client against the standalone service of this test JVM, over its gRPC port and the worker segment's
 * shared-memory file (same host) or TCP transfer server: exactly what a separate process on the host would use.
 */
@QuarkusTest
class CrescentClientTest {
    @TestHTTPResource("/")
    URL service;

    @jakarta.inject.Inject
    dev.crescent.boot.WorkerNode worker;

    private CrescentClient client;

    @BeforeEach
    void clear() {
        try (CrescentClient admin = CrescentClient.connect(address())) {
            admin.removeAll(true);
        }
    }

    @AfterEach
    void close() {
        if (client != null) {
            client.close();
        }
    }

    private String address() {
        return service.getHost() + ":" + service.getPort();
    }

    private CrescentClient connect(String path) {
        client = CrescentClient.connect(
                ClientOptions.master(address()).withNodeName("client-test").withSharedMemory(path.equals("shm")));
        return client;
    }

    /**
     * A get's read lease goes back to the master lazily (on the next call, or within milliseconds): a remove right
     * after the get must not meet the client's own finished read (it answered OBJECT_HAS_LEASE now and then).
     */
    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void aRemoveRightAfterAGetIsNotRefusedForTheClientsOwnRead(String path) {
        CrescentClient store = connect(path);
        byte[] value = bytes((int) StoreClient.DEFAULT_INLINE_BYTES + 1, 61); // moved by transfer: read under a lease
        for (int i = 0; i < 100; i++) {
            store.put("c/read-remove-" + i, value);
            assertArrayEquals(value, store.get("c/read-remove-" + i));
            store.remove("c/read-remove-" + i);
        }
        List<String> keys = List.of("c/read-remove-a", "c/read-remove-b");
        for (String key : keys) {
            store.put(key, value);
            assertArrayEquals(value, store.get(key));
        }
        assertTrue(store.batchRemove(keys, false).stream().allMatch(KeyResult::ok));
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void putGetExistsRemove(String path) {
        CrescentClient store = connect(path);
        byte[] value = bytes(300_000, 1);
        store.put("c/one", value);
        assertTrue(store.exists("c/one"));
        assertEquals(value.length, store.size("c/one"));
        assertArrayEquals(value, store.get("c/one"));
        MemorySegment target = store.allocate(value.length + 10);
        assertEquals(value.length, store.getInto("c/one", target));
        assertArrayEquals(value, target.asSlice(0, value.length).toArray(ValueLayout.JAVA_BYTE));
        // Each finished read handed its lease back (carried on a later call, or sent alone within milliseconds),
        // so a plain remove goes through without waiting out the lease TTL.
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (true) {
            try {
                store.remove("c/one");
                break;
            } catch (StoreException e) {
                assertEquals(ErrorCode.OBJECT_HAS_LEASE, e.code());
                assertTrue(System.nanoTime() < deadline, "the reads' leases were not handed back");
                Thread.onSpinWait();
            }
        }
        assertFalse(store.exists("c/one"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void oneObjectFromSeveralBuffers(String path) {
        CrescentClient store = connect(path);
        MemorySegment k = store.allocate(4096).fill((byte) 'K');
        MemorySegment v = MemorySegment.ofArray(bytes(5000, 2));
        store.putParts("c/kv", List.of(k, v));
        byte[] read = store.get("c/kv");
        assertEquals(4096 + 5000, read.length);
        assertArrayEquals(k.toArray(ValueLayout.JAVA_BYTE), Arrays.copyOfRange(read, 0, 4096));
        assertArrayEquals(bytes(5000, 2), Arrays.copyOfRange(read, 4096, read.length));
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void errorsCarryTheirCodes(String path) {
        CrescentClient store = connect(path);
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, code(() -> store.get("c/missing")));
        store.put("c/twice", bytes(10, 3));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, code(() -> store.put("c/twice", bytes(10, 4))));
        assertArrayEquals(bytes(10, 3), store.get("c/twice"), "the refused put changed nothing");
        store.upsert("c/twice", bytes(20, 5));
        assertArrayEquals(bytes(20, 5), store.get("c/twice"));
        assertEquals(ErrorCode.INVALID_PARAMS, code(() -> store.getInto("c/twice", store.allocate(19))));
        assertEquals(ErrorCode.INVALID_KEY, code(() -> store.put("", bytes(1, 1))));
        // Larger than the whole 16 MiB pool: back-pressure, and nothing stored is evicted for it.
        assertEquals(ErrorCode.NO_AVAILABLE_HANDLE, code(() -> store.putFrom("c/huge", store.allocate(32 << 20))));
        assertArrayEquals(bytes(20, 5), store.get("c/twice"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void batchesAnswerPerKey(String path) {
        CrescentClient store = connect(path);
        List<String> keys = IntStream.range(0, 20).mapToObj(i -> "c/batch/" + i).toList();
        List<MemorySegment> values = IntStream.range(0, 20)
                .mapToObj(i -> MemorySegment.ofArray(bytes(1000 + i, 10 + i)))
                .toList();
        store.put("c/batch/7", bytes(5, 0)); // already there: only this key fails
        List<KeyResult<Void>> put = store.batchPutFrom(keys, values);
        for (int i = 0; i < keys.size(); i++) {
            assertEquals(
                    i == 7 ? ErrorCode.OBJECT_ALREADY_EXISTS : ErrorCode.OK,
                    put.get(i).code(),
                    keys.get(i));
        }
        List<String> probe = List.of("c/batch/0", "c/batch/nope", "c/batch/19");
        assertEquals(
                List.of(true, false, true),
                store.batchExists(probe).stream().map(KeyResult::value).toList());

        List<String> reads = new ArrayList<>(keys);
        reads.add("c/batch/nope");
        List<MemorySegment> targets = new ArrayList<>();
        for (int i = 0; i < reads.size(); i++) {
            targets.add(store.allocate(i == 3 ? 10 : 2000)); // key 3's buffer is too small
        }
        List<KeyResult<Long>> got = store.batchGetInto(reads, targets);
        for (int i = 0; i < keys.size(); i++) {
            if (i == 3) {
                assertEquals(ErrorCode.INVALID_PARAMS, got.get(i).code());
            } else if (i == 7) {
                assertEquals(5L, got.get(i).value());
            } else {
                assertEquals(1000L + i, got.get(i).value());
                assertArrayEquals(
                        bytes(1000 + i, 10 + i),
                        targets.get(i).asSlice(0, 1000 + i).toArray(ValueLayout.JAVA_BYTE),
                        keys.get(i));
            }
        }
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, got.getLast().code());
        assertEquals(
                ErrorCode.OK,
                store.batchRemove(List.of("c/batch/0"), true).getFirst().code());
        assertFalse(store.exists("c/batch/0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void manyThreadsThroughTheAsyncApi(String path) {
        CrescentClient store = connect(path);
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            puts.add(store.putFromAsync("c/async/" + i, MemorySegment.ofArray(bytes(20_000 + i, 100 + i))));
        }
        puts.forEach(CompletableFuture::join);
        List<CompletableFuture<byte[]>> gets = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            gets.add(store.getAsync("c/async/" + i));
        }
        for (int i = 0; i < 64; i++) {
            assertArrayEquals(bytes(20_000 + i, 100 + i), gets.get(i).join(), "object " + i);
        }
    }

    @org.junit.jupiter.api.Test
    void aClientContributesMemoryThatOthersReadAndThatLeavesWithIt() {
        byte[] value = bytes(100_000, 9);
        String segment;
        try (CrescentClient donor = CrescentClient.connect(
                        ClientOptions.master(address()).withNodeName("donor").withContributedMemory(8 << 20));
                CrescentClient reader = CrescentClient.connect(
                        ClientOptions.master(address()).withNodeName("reader").withSharedMemory(false))) {
            segment = donor.contributedSegment().orElseThrow();
            assertTrue(segments().contains(segment), "mounted at the master: " + segments());
            donor.putFrom(
                    "c/donated", MemorySegment.ofArray(value), new ReplicaConfig(1, List.of(segment), false, false));
            assertEquals(
                    segment,
                    given().get("/v1/keys/c/donated")
                            .then()
                            .statusCode(200)
                            .extract()
                            .jsonPath()
                            .getString("replicas[0].segment"),
                    "placed in the donated memory");
            assertArrayEquals(value, reader.get("c/donated"), "another client reads it over TCP");
            assertArrayEquals(value, donor.get("c/donated"), "the donor reads it in-process");
        }
        assertFalse(segments().contains(segment), "unmounted when the donor closed");
        try (CrescentClient store = CrescentClient.connect(address())) {
            assertFalse(store.exists("c/donated"), "its only replica left with the segment");
        }
    }

    @org.junit.jupiter.api.Test
    void knowingASegmentsNameIsNoProofOfOwningIt() {
        // D6 of the hardening issue: a contributed segment was named by its owner's client id, the only proof.
        try (CrescentClient donor = CrescentClient.connect(
                        ClientOptions.master(address()).withNodeName("donor").withContributedMemory(8 << 20));
                RemoteMasterClient stranger = new RemoteMasterClient(
                        this::address, "stranger", java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(5))) {
            String segment = donor.contributedSegment().orElseThrow();
            StoreException refused =
                    assertThrows(StoreException.class, () -> stranger.unmountSegment(segment, segment));
            assertEquals(ErrorCode.ILLEGAL_CLIENT, refused.code());
            assertFalse(
                    refused.getMessage().matches("(?s).*donor-\\p{XDigit}{8}-\\p{XDigit}{4}-.*"),
                    "the owner's client id is not told: " + refused.getMessage());
            assertTrue(segments().contains(segment), "still mounted");
        }
    }

    @org.junit.jupiter.api.Test
    void checksumsCatchBytesCorruptedInTheSegment() {
        byte[] value = bytes(50_000, 11);
        try (CrescentClient checked =
                        CrescentClient.connect(ClientOptions.master(address()).withChecksums(true));
                CrescentClient plain = CrescentClient.connect(address())) {
            checked.put("c/crc", value);
            checked.batchPutFrom(List.of("c/crc-batch"), List.of(MemorySegment.ofArray(value)));
            for (String key : List.of("c/crc", "c/crc-batch")) {
                assertArrayEquals(value, checked.get(key));
                long offset = given().get("/v1/keys/" + key)
                        .then()
                        .statusCode(200)
                        .extract()
                        .jsonPath()
                        .getLong("replicas[0].offset");
                MemorySegment segment = worker.segment().memory();
                byte original = segment.get(ValueLayout.JAVA_BYTE, offset + 100);
                segment.set(ValueLayout.JAVA_BYTE, offset + 100, (byte) ~original);
                assertEquals(ErrorCode.CHECKSUM_MISMATCH, code(() -> checked.get(key)), key);
                assertEquals(
                        ErrorCode.CHECKSUM_MISMATCH,
                        checked.batchGetInto(List.of(key), List.of(checked.allocate(value.length)))
                                .getFirst()
                                .code(),
                        key);
                assertFalse(Arrays.equals(value, plain.get(key)), "without checksums the damage goes unseen");
                segment.set(ValueLayout.JAVA_BYTE, offset + 100, original);
                assertArrayEquals(value, checked.get(key));
            }
        }
    }

    @jakarta.inject.Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    private double answered(String op) {
        return MasterCalls.answered(registry, op);
    }

    /**
     * A small put is one master call either way. A larger one is too over tcp, where the standalone master streams its
     * bytes into place (past the direct listener's 256 KiB read buffer, from the socket straight into the segment);
     * a client that maps the segments copies a larger one's bytes in itself and ends the put as before.
     */
    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void aSmallPutIsOneMasterCallAndALargerOneIsOneOverTcp(String path) {
        CrescentClient store = connect(path);
        double ends = answered("put_end");
        byte[] small = bytes(4096, 21);
        store.put("c/small", small);
        byte[] limit = bytes((int) StoreClient.DEFAULT_INLINE_BYTES, 22);
        store.put("c/limit", limit);
        assertEquals(ends, answered("put_end"), "committed by their put starts: no PutEnd");
        byte[] large = bytes((int) StoreClient.DEFAULT_INLINE_BYTES + 1, 23);
        store.put("c/large", large);
        byte[] huge = bytes(2 << 20, 25);
        store.put("c/huge", huge);
        assertEquals(path.equals("tcp") ? ends : ends + 2, answered("put_end"));
        assertArrayEquals(small, store.get("c/small"));
        assertArrayEquals(limit, store.get("c/limit"));
        assertArrayEquals(large, store.get("c/large"));
        assertArrayEquals(huge, store.get("c/huge"));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, code(() -> store.put("c/huge", bytes(2 << 20, 26))));
        assertArrayEquals(huge, store.get("c/huge"), "a refused put leaves the object as it was");
        store.upsert("c/huge", bytes(2 << 20, 27));
        assertArrayEquals(bytes(2 << 20, 27), store.get("c/huge"));
        MemorySegment target = store.allocate(8192);
        assertEquals(small.length, store.getInto("c/small", target));
        assertArrayEquals(small, target.asSlice(0, small.length).toArray(ValueLayout.JAVA_BYTE));
        assertEquals(ErrorCode.INVALID_PARAMS, code(() -> store.getInto("c/limit", target)), "does not fit");
        store.upsert("c/small", bytes(4096, 24));
        assertArrayEquals(bytes(4096, 24), store.get("c/small"));
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, code(() -> store.put("c/small", small)), "first writer wins");
        store.remove("c/small");
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, code(() -> store.get("c/small")));
    }

    /** A new client's first call may be a large put: it asks for the master's announcement first, and streams it. */
    @Test
    void aNewClientsFirstCallALargePutOverTcpIsOneMasterCall() {
        double ends = answered("put_end");
        CrescentClient store = connect("tcp");
        byte[] huge = bytes(2 << 20, 28);
        store.put("c/first-large", huge);
        assertEquals(ends, answered("put_end"), "streamed: no PutEnd");
        assertArrayEquals(huge, store.get("c/first-large"));
    }

    /**
     * A batch of large objects over tcp carries their bytes after the rest of its put start, read by the master as
     * they arrive: one master call, when they come to 4 MiB at most; past that the client's transfer engine writes
     * them, and ends them.
     */
    @Test
    void aBatchOfLargePutsOverTcpIsOneMasterCallUpTo4MiB() {
        CrescentClient store = connect("tcp");
        double ends = answered("batch_put_end");
        List<byte[]> values = List.of(bytes(2 << 20, 51), bytes(300 << 10, 52), bytes(1 << 20, 53));
        List<String> keys = List.of("c/bl-0", "c/bl-1", "c/bl-2");
        List<KeyResult<Void>> put = store.batchPutFrom(
                keys, values.stream().map(MemorySegment::ofArray).toList());
        assertTrue(put.stream().allMatch(KeyResult::ok), put.toString());
        assertEquals(ends, answered("batch_put_end"), "streamed: no BatchPutEnd");
        for (int i = 0; i < keys.size(); i++) {
            assertArrayEquals(values.get(i), store.get(keys.get(i)));
        }

        byte[] big = bytes(2 << 20, 54);
        List<String> over = List.of("c/bo-0", "c/bo-1", "c/bo-2");
        List<KeyResult<Void>> more = store.batchPutFrom(
                over, over.stream().map(k -> MemorySegment.ofArray(big)).toList());
        assertTrue(more.stream().allMatch(KeyResult::ok), more.toString());
        assertEquals(ends + 1, answered("batch_put_end"), "6 MiB: written and ended by the client");
        for (String key : over) {
            assertArrayEquals(big, store.get(key));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"shm", "tcp"})
    void aBatchOfSmallPutsIsOneMasterCallAndLargerKeysEndAsBefore(String path) {
        CrescentClient store = connect(path);
        double ends = answered("batch_put_end");
        byte[] small = bytes(4096, 41);
        byte[] other = bytes(100, 42);
        List<KeyResult<Void>> put = store.batchPutFrom(
                List.of("c/b-small", "c/b-other"), List.of(MemorySegment.ofArray(small), MemorySegment.ofArray(other)));
        assertTrue(put.stream().allMatch(KeyResult::ok), put.toString());
        assertEquals(ends, answered("batch_put_end"), "committed by their put starts: no PutEnd");

        byte[] large = bytes((int) StoreClient.DEFAULT_INLINE_BYTES + 1, 43);
        byte[] third = bytes(5000, 44);
        List<KeyResult<Void>> mixed = store.batchPutFrom(
                List.of("c/b-large", "c/b-small", "c/b-third", ""),
                List.of(
                        MemorySegment.ofArray(large),
                        MemorySegment.ofArray(third),
                        MemorySegment.ofArray(third),
                        MemorySegment.ofArray(other)));
        assertTrue(mixed.get(0).ok(), mixed.toString());
        assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, mixed.get(1).code(), "first writer wins, key by key");
        assertTrue(mixed.get(2).ok(), mixed.toString());
        assertEquals(ErrorCode.INVALID_KEY, mixed.get(3).code());
        // Over tcp the master streams the large key's bytes into place too; over shm the client copies them itself.
        assertEquals(
                ends + (path.equals("shm") ? 1 : 0),
                answered("batch_put_end"),
                "only the large key could be ended by the client");

        assertArrayEquals(small, store.get("c/b-small"));
        assertArrayEquals(other, store.get("c/b-other"));
        assertArrayEquals(large, store.get("c/b-large"));
        assertArrayEquals(third, store.get("c/b-third"));
    }

    @ParameterizedTest
    @ValueSource(ints = {4096, 128 << 10})
    void aRepeatedGetFromAMappedSegmentAsksTheMasterOnlyUntilTheObjectChanges(int size) {
        try (CrescentClient reader = CrescentClient.connect(address());
                CrescentClient writer = CrescentClient.connect(address())) {
            byte[] first = bytes(size, 51);
            writer.put("c/cached", first);
            assertArrayEquals(first, reader.get("c/cached"));
            double asked = answered("get_replica_list");
            MemorySegment target = reader.allocate(2L * size);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(first, reader.get("c/cached"));
                assertEquals(size, reader.getInto("c/cached", target));
                assertArrayEquals(first, target.asSlice(0, size).toArray(ValueLayout.JAVA_BYTE));
            }
            double askedInBatches = answered("batch_get_replica_list");
            assertEquals(
                    size,
                    reader.batchGetInto(List.of("c/cached"), List.of(target))
                            .getFirst()
                            .value());
            assertArrayEquals(first, target.asSlice(0, size).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(asked, answered("get_replica_list"), "repeated gets are memory copies");
            assertEquals(askedInBatches, answered("batch_get_replica_list"), "batched ones too");

            byte[] second = bytes(size, 52);
            writer.upsert("c/cached", second);
            assertArrayEquals(second, reader.get("c/cached"), "rewritten (in place): never the old bytes");
            assertEquals(asked + 1, answered("get_replica_list"));
            byte[] third = bytes(size / 2, 53);
            writer.upsert("c/cached", third);
            assertArrayEquals(third, reader.get("c/cached"), "rewritten elsewhere");
            assertEquals(size / 2, reader.getInto("c/cached", target));
            writer.remove("c/cached", true);
            assertEquals(ErrorCode.OBJECT_NOT_FOUND, code(() -> reader.get("c/cached")), "removed: never served");
            assertEquals(ErrorCode.OBJECT_NOT_FOUND, code(() -> reader.getInto("c/cached", target)));
            assertEquals(
                    ErrorCode.OBJECT_NOT_FOUND,
                    reader.batchGetInto(List.of("c/cached"), List.of(target))
                            .getFirst()
                            .code());
        }
    }

    @org.junit.jupiter.api.Test
    void aClientThatCachesNoLocationsAsksTheMasterForEveryGet() {
        try (CrescentClient reader =
                CrescentClient.connect(ClientOptions.master(address()).withCachedLocations(Duration.ZERO))) {
            byte[] value = bytes(100_000, 54);
            reader.put("c/uncached", value);
            double asked = answered("get_replica_list");
            assertArrayEquals(value, reader.get("c/uncached"));
            assertArrayEquals(value, reader.get("c/uncached"));
            assertEquals(asked + 2, answered("get_replica_list"));
        }
    }

    /**
     * A cached read that races rewrites returns one version's bytes whole, or asks again: rewrites of the same range
     * (a writer over TCP: the master rewrites in place) and rewrites into space granted ahead (a writer over shared
     * memory: each version in a new range, the old one freed once read).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tcp", "shm"})
    void cachedReadsRacingRewritesNeverMixTwoVersions(String writerPath) throws Exception {
        int size = 128 << 10;
        try (CrescentClient reader = CrescentClient.connect(address());
                CrescentClient writer = CrescentClient.connect(
                        ClientOptions.master(address()).withSharedMemory(writerPath.equals("shm")))) {
            byte[] ones = new byte[size];
            byte[] twos = new byte[size];
            Arrays.fill(ones, (byte) 1);
            Arrays.fill(twos, (byte) 2);
            writer.put("c/raced", ones);
            MemorySegment target = reader.allocate(size);
            CompletableFuture<Void> rewrites = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 300; i++) {
                    writer.upsert("c/raced", i % 2 == 0 ? twos : ones);
                }
            });
            int reads = 0;
            int cached = 0;
            while (!rewrites.isDone() || reads < 100) {
                double asked = answered("get_replica_list");
                try {
                    assertEquals(size, reader.getInto("c/raced", target));
                } catch (StoreException e) {
                    assertEquals(ErrorCode.REPLICA_IS_NOT_READY, e.code(), "asked the master mid-rewrite");
                    continue;
                }
                cached += answered("get_replica_list") == asked ? 1 : 0;
                byte[] read = target.toArray(ValueLayout.JAVA_BYTE);
                byte[] version = read[0] == 1 ? ones : twos;
                assertEquals(-1, Arrays.mismatch(version, read), "one version whole, in read " + reads);
                reads++;
            }
            rewrites.join();
            assertTrue(cached > 0, "some reads were served from the cached location");
        }
    }

    /**
     * Puts of one size over shared memory go into space granted ahead (issue 20): after the first, each is one master
     * call that carries no bytes and no PutEnd, and every object reads back whole from a client that maps nothing.
     */
    @org.junit.jupiter.api.Test
    void putsOfOneSizeOverSharedMemoryAreMadeInSpaceGrantedAhead() {
        int size = (int) StoreClient.DEFAULT_INLINE_BYTES * 4; // over the inline limit: a usual put ends itself
        CrescentClient writer = connect("shm");
        try (CrescentClient reader =
                CrescentClient.connect(ClientOptions.master(address()).withSharedMemory(false))) {
            double ends = answered("put_end");
            writer.put("c/space-0", bytes(size, 60));
            assertEquals(ends + 1, answered("put_end"), "the first put asks for space and goes the usual way");
            for (int i = 1; i <= 4; i++) {
                writer.put("c/space-" + i, bytes(size, 60 + i));
            }
            assertEquals(ends + 1, answered("put_end"), "each later put was made in its space");

            assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, code(() -> writer.put("c/space-1", bytes(size, 70))));
            writer.put("c/space-5", bytes(size, 65));
            assertEquals(ends + 1, answered("put_end"), "a refused key leaves the space the writer's");
            writer.upsert("c/space-2", bytes(size, 72));
            writer.put("c/space-odd", bytes(size + 8, 66));
            assertEquals(ends + 2, answered("put_end"), "a size it holds no space for goes the usual way");

            for (int i = 0; i <= 5; i++) {
                byte[] expected = bytes(size, i == 2 ? 72 : 60 + i);
                assertArrayEquals(expected, reader.get("c/space-" + i), "c/space-" + i);
            }
            assertArrayEquals(bytes(size + 8, 66), reader.get("c/space-odd"));
        }
    }

    /**
     * A client that closes gives back the space the master granted it ahead: its memory is free at once, not when the
     * space's lifetime ends.
     */
    @org.junit.jupiter.api.Test
    void aClosingClientGivesBackItsSpacesAtOnce() {
        int size = 1 << 20;
        CrescentClient writer = connect("shm");
        writer.put("c/closing-0", bytes(size, 80)); // granted space for its next put of this size
        double used = usedBytes();
        writer.close();
        client = null;
        assertEquals(used - size, usedBytes(), "the space's memory is free");
        try (CrescentClient reader =
                CrescentClient.connect(ClientOptions.master(address()).withSharedMemory(false))) {
            assertArrayEquals(bytes(size, 80), reader.get("c/closing-0"), "the object itself stays");
        }
    }

    private double usedBytes() {
        return registry.get("crescent.master.used").gauge().value();
    }

    /**
     * A client on the master's host that maps shared memory makes its put starts through a request ring (issue 20),
     * one that does not calls over its socket: a thread of the master
     * serves this client's ring, its file is gone once a request came through it, every object reads back whole, and
     * the ring closes with the client.
     */
    @org.junit.jupiter.api.Test
    void putsOnTheMastersHostGoThroughARequestRingThatClosesWithTheClient() throws InterruptedException {
        assumeTrue(Futex.available(), "request rings need futexes");
        int size = (int) StoreClient.DEFAULT_INLINE_BYTES * 4;
        Set<String> before = ringThreads();
        try (CrescentClient overTcp = CrescentClient.connect(
                ClientOptions.master(address()).withNodeName("ring-tcp").withSharedMemory(false))) {
            overTcp.put("c/ring-tcp", bytes(4096, 89));
            Set<String> opened = ringThreads();
            opened.removeAll(before);
            assertEquals(Set.of(), opened, "a client that maps no shared memory calls over its socket");
        }
        Set<String> serving;
        try (CrescentClient writer = CrescentClient.connect(
                ClientOptions.master(address()).withNodeName("ring-writer").withSharedMemory(true))) {
            for (int i = 0; i < 6; i++) {
                writer.put("c/ring-" + i, bytes(size, 90 + i));
            }
            serving = ringThreads();
            serving.removeAll(before);
            assertEquals(1, serving.size(), "one ring serves this client: " + serving);
            String file = serving.iterator().next().substring("crescent-ring-".length());
            assertFalse(Files.exists(Path.of("/dev/shm", file)), "a request came through it");
            for (int i = 0; i < 6; i++) {
                assertArrayEquals(bytes(size, 90 + i), writer.get("c/ring-" + i), "c/ring-" + i);
            }
        }
        for (int i = 0; i < 100 && !java.util.Collections.disjoint(ringThreads(), serving); i++) {
            Thread.sleep(100);
        }
        assertTrue(java.util.Collections.disjoint(ringThreads(), serving), "the ring closed with its client");
    }

    /** The names of the master's threads serving request rings now. */
    private static Set<String> ringThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> name.startsWith("crescent-ring-"))
                .collect(Collectors.toCollection(HashSet::new));
    }

    /**
     * Batched puts of KV-cache-like blocks over shared memory: a batch's answer grants space per key, and the next batch
     * of those sizes copies each object into its space and is over in its one call, as single puts are.
     */
    @org.junit.jupiter.api.Test
    void batchedPutsOverSharedMemoryAreMadeInSpaceGrantedAhead() {
        int size = (int) StoreClient.DEFAULT_INLINE_BYTES * 2; // over the inline limit: a usual batch ends itself
        int keys = 6;
        CrescentClient writer = connect("shm");
        try (CrescentClient reader =
                CrescentClient.connect(ClientOptions.master(address()).withSharedMemory(false))) {
            double ends = answered("batch_put_end");
            assertAllOk(writer.batchPutFrom(batchKeys("c/batch-", 0, keys), values(size, 0, keys)));
            assertEquals(ends + 1, answered("batch_put_end"), "the first batch asks for space and goes the usual way");
            assertAllOk(writer.batchPutFrom(batchKeys("c/batch-", keys, keys), values(size, keys, keys)));
            assertEquals(ends + 1, answered("batch_put_end"), "each key of the next batch was made in its space");

            // One key refused (it exists), one new, one of a size held no space for: only the last is written apart.
            List<KeyResult<Void>> mixed = writer.batchPutFrom(
                    List.of("c/batch-1", "c/batch-new", "c/batch-odd"),
                    List.of(segment(size, 100), segment(size, 101), segment(size + 8, 102)));
            assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS, mixed.get(0).code());
            assertTrue(mixed.get(1).ok() && mixed.get(2).ok(), mixed.toString());
            assertEquals(ends + 2, answered("batch_put_end"), "only the size held no space for was ended");
            // The refused key's space was given back: a full batch of the size still finds a space per key.
            assertAllOk(writer.batchUpsertFrom(batchKeys("c/batch-", 0, keys), values(size, 200, keys)));
            assertEquals(ends + 2, answered("batch_put_end"), "upserts in space, the refused key's space among them");

            for (int i = 0; i < 2 * keys; i++) {
                byte[] expected = bytes(size, i < keys ? 200 + i : i);
                assertArrayEquals(expected, reader.get("c/batch-" + i), "c/batch-" + i);
            }
            assertArrayEquals(bytes(size, 101), reader.get("c/batch-new"));
            assertArrayEquals(bytes(size + 8, 102), reader.get("c/batch-odd"));
        }
    }

    private static List<String> batchKeys(String prefix, int from, int count) {
        return java.util.stream.IntStream.range(from, from + count)
                .mapToObj(i -> prefix + i)
                .toList();
    }

    /** Values of {@code size} bytes seeded {@code from}, {@code from + 1}, ... */
    private static List<MemorySegment> values(int size, int from, int count) {
        return java.util.stream.IntStream.range(from, from + count)
                .mapToObj(seed -> segment(size, seed))
                .toList();
    }

    private static MemorySegment segment(int size, long seed) {
        return MemorySegment.ofArray(bytes(size, seed));
    }

    private static void assertAllOk(List<KeyResult<Void>> results) {
        for (KeyResult<Void> result : results) {
            assertTrue(result.ok(), result.key() + ": " + result.error());
        }
    }

    @org.junit.jupiter.api.Test
    void clientsThatMoveNoBytesInlineShareObjectsWithThoseThatDo() {
        try (CrescentClient inline = CrescentClient.connect(address());
                CrescentClient direct =
                        CrescentClient.connect(ClientOptions.master(address()).withInlineValues(0))) {
            double ends = answered("put_end");
            byte[] one = bytes(3000, 31);
            byte[] two = bytes(3000, 32);
            direct.put("c/direct", one);
            assertEquals(ends + 1, answered("put_end"), "a client without inline values ends its puts itself");
            inline.put("c/inline", two);
            assertArrayEquals(one, inline.get("c/direct"));
            assertArrayEquals(two, direct.get("c/inline"));
            List<MemorySegment> targets = List.of(inline.allocate(3000), inline.allocate(3000), inline.allocate(10));
            List<KeyResult<Long>> read = inline.batchGetInto(List.of("c/direct", "c/inline", "c/inline"), targets);
            assertEquals(3000L, read.get(0).value());
            assertArrayEquals(one, targets.get(0).toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(two, targets.get(1).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(ErrorCode.INVALID_PARAMS, read.get(2).code(), "a target too small is refused as before");
        }
    }

    private static List<String> segments() {
        return given().get("/v1/segments")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getList("name");
    }

    private static ErrorCode code(Runnable call) {
        return assertThrows(StoreException.class, call::run).code();
    }

    static byte[] bytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
