package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReplicaDescriptor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MasterTest {
    private static final String A = "client-a";
    private static final String B = "client-b";
    private final ManualClock clock = new ManualClock();
    private Master master;

    @BeforeEach
    void setUp() {
        master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        master.mountSegment("worker-1", "seg-1", 1 << 20, "");
        master.mountSegment("worker-2", "seg-2", 1 << 20, "");
    }

    @Test
    void twoPhasePutMakesTheObjectReadableOnlyAfterPutEnd() {
        List<ReplicaDescriptor> replicas = master.putStart(A, "k", 1000, 0, false);
        assertEquals(1, replicas.size());
        assertEquals(1000, replicas.getFirst().length());
        assertFalse(master.exist("k"), "processing objects do not exist yet");
        assertCode(ErrorCode.REPLICA_IS_NOT_READY, () -> master.getReplicaList("k"));
        master.putEnd(A, "k");
        assertTrue(master.exist("k"));
        ObjectLocation location = master.getReplicaList("k");
        assertEquals(1000, location.size());
        assertEquals(replicas, location.replicas());
        assertEquals(1, master.stats().objectCount());
    }

    @Test
    void onlyThePutStartCallerMayEndOrRevoke() {
        master.putStart(A, "k", 100, 0, false);
        assertCode(ErrorCode.ILLEGAL_CLIENT, () -> master.putEnd(B, "k"));
        assertCode(ErrorCode.ILLEGAL_CLIENT, () -> master.putRevoke(B, "k"));
        master.putRevoke(A, "k");
        assertCode(ErrorCode.OBJECT_NOT_FOUND, () -> master.putEnd(A, "k"));
        assertEquals(0, master.stats().usedBytes(), "revoked ranges are freed");
    }

    @Test
    void anUpsertMeetingAnUnfinishedPutIsToldToRetryNotThatTheObjectExists() {
        // D22 of the hardening issue: it answered OBJECT_ALREADY_EXISTS, which an upsert never means.
        master.putStart(A, "k", 100, 0, true);
        assertCode(ErrorCode.REPLICA_IS_NOT_READY, () -> master.putStart(B, "k", 100, 0, true));
        assertCode(ErrorCode.OBJECT_ALREADY_EXISTS, () -> master.putStart(B, "k", 100, 0, false));
        master.putEnd(A, "k");
        master.putStart(B, "k", 100, 0, true); // once it has ended, the upsert goes through
    }

    @Test
    void firstWriterWins() {
        master.putStart(A, "k", 100, 0, false);
        assertCode(ErrorCode.OBJECT_ALREADY_EXISTS, () -> master.putStart(B, "k", 100, 0, false));
        master.putEnd(A, "k");
        assertCode(ErrorCode.OBJECT_ALREADY_EXISTS, () -> master.putStart(B, "k", 100, 0, false));
    }

    @Test
    void upsertWithTheSameSizeReusesTheRangesInPlace() {
        List<ReplicaDescriptor> first = master.putStart(A, "k", 4096, 0, false);
        master.putEnd(A, "k");
        List<ReplicaDescriptor> second = master.putStart(B, "k", 4096, 0, true);
        assertEquals(first, second);
        assertFalse(master.exist("k"), "being rewritten");
        master.putEnd(B, "k");
        assertEquals(1, master.stats().objectCount());
    }

    @Test
    void upsertWithAnotherSizeMovesAndFreesTheOldRanges() {
        master.putStart(A, "k", 4096, 0, false);
        master.putEnd(A, "k");
        master.putStart(B, "k", 8192, 0, true);
        master.putEnd(B, "k");
        assertEquals(8192, master.getReplicaList("k").size());
        assertEquals(8192, master.stats().usedBytes());
    }

    @Test
    void staleUnfinishedPutIsPreemptedAfterTheDiscardTimeout() {
        master.putStart(A, "k", 100, 0, false);
        clock.advance(Duration.ofSeconds(29));
        assertCode(ErrorCode.OBJECT_ALREADY_EXISTS, () -> master.putStart(B, "k", 100, 0, false));
        clock.advance(Duration.ofSeconds(2));
        master.putStart(B, "k", 100, 0, false);
        assertCode(ErrorCode.ILLEGAL_CLIENT, () -> master.putEnd(A, "k"));
        master.putEnd(B, "k");
        assertEquals(128, master.stats().usedBytes(), "the pre-empted ranges were freed");
    }

    @Test
    void abandonedPutIsReclaimedAfterTheReleaseTimeout() {
        master.putStart(A, "k", 100, 0, false);
        clock.advance(Duration.ofSeconds(599));
        master.sweep();
        assertEquals(1, master.stats().processingCount());
        clock.advance(Duration.ofSeconds(2));
        master.sweep();
        assertEquals(0, master.stats().processingCount());
        assertEquals(0, master.stats().usedBytes());
        assertCode(ErrorCode.OBJECT_NOT_FOUND, () -> master.putEnd(A, "k"));
    }

    @Test
    void leasedObjectsRefusePlainRemoveAndKeepTheirMemoryUntilTheLeaseEnds() {
        master.putStart(A, "k", 100, 0, false);
        master.putEnd(A, "k");
        master.getReplicaList("k");
        assertCode(ErrorCode.OBJECT_HAS_LEASE, () -> master.remove("k", false));
        master.remove("k", true);
        assertFalse(master.exist("k"), "a forced remove hides the key at once");
        assertEquals(128, master.stats().usedBytes(), "memory is kept while the lease runs");
        clock.advance(Duration.ofSeconds(11));
        master.sweep();
        assertEquals(0, master.stats().usedBytes());
    }

    @Test
    void removeAfterTheLeaseEndsFreesAtOnce() {
        master.putStart(A, "k", 100, 0, false);
        master.putEnd(A, "k");
        assertTrue(master.exist("k"));
        clock.advance(Duration.ofSeconds(11));
        master.remove("k", false);
        assertEquals(0, master.stats().usedBytes());
        assertCode(ErrorCode.OBJECT_NOT_FOUND, () -> master.remove("k", false));
    }

    @Test
    void replicasGoToDistinctSegmentsBestEffort() {
        List<ReplicaDescriptor> replicas = master.putStart(A, "k", 100, 3, false);
        assertEquals(2, replicas.size(), "only two segments exist");
        assertEquals(
                2, replicas.stream().map(ReplicaDescriptor::segment).distinct().count());
    }

    @Test
    void noSpaceIsBackPressureAndLeavesTheStoreUsable() {
        assertCode(ErrorCode.NO_AVAILABLE_HANDLE, () -> master.putStart(A, "huge", 2 << 20, 0, false));
        assertFalse(master.exist("huge"));
        master.putStart(A, "small", 100, 0, false);
        master.putEnd(A, "small");
        assertTrue(master.exist("small"));
    }

    @Test
    void unmountDropsReplicasAndKeepsObjectsWithAnotherCopy() {
        master.putStart(A, "both", 100, 2, false);
        master.putEnd(A, "both");
        master.unmountSegment("worker-1", "seg-1");
        ObjectLocation location = master.getReplicaList("both");
        assertEquals(
                List.of("seg-2"),
                location.replicas().stream().map(ReplicaDescriptor::segment).toList());
        master.unmountSegment("worker-2", "seg-2");
        assertFalse(master.exist("both"));
        assertEquals(0, master.stats().objectCount());
    }

    @Test
    void mountAndUnmountAreIdempotentForTheOwnerAndExclusiveByName() {
        master.putStart(A, "kept", 100, 0, false);
        master.putEnd(A, "kept");
        master.mountSegment("worker-1", "seg-1", 1 << 20, "");
        assertTrue(master.exist("kept"), "mounting again changes nothing");
        assertCode(ErrorCode.SEGMENT_ALREADY_EXISTS, () -> master.mountSegment("worker-9", "seg-1", 1 << 20, ""));
        assertCode(ErrorCode.ILLEGAL_CLIENT, () -> master.unmountSegment("worker-9", "seg-1"));
        master.unmountSegment("worker-1", "nope");
        master.unmountSegment("worker-1", "seg-1");
        master.unmountSegment("worker-1", "seg-1");
        assertEquals(1, master.stats().segmentCount());
    }

    @Test
    void badInputIsRefusedWithItsCode() {
        assertCode(ErrorCode.INVALID_KEY, () -> master.putStart(A, "", 1, 0, false));
        assertCode(ErrorCode.INVALID_KEY, () -> master.putStart(A, "x".repeat(1025), 1, 0, false));
        assertCode(ErrorCode.INVALID_KEY, () -> master.exist("a\nb"));
        assertCode(ErrorCode.INVALID_PARAMS, () -> master.putStart(A, "k", 0, 0, false));
        assertCode(ErrorCode.INVALID_PARAMS, () -> master.putStart("", "k", 1, 0, false));
        assertCode(ErrorCode.OBJECT_NOT_FOUND, () -> master.getReplicaList("missing"));
        assertFalse(master.exist("missing"));
    }

    @Test
    void concurrentWritersOfTheSameKeysNeverLoseOrDoubleFreeRanges() throws Exception {
        int threads = 8;
        int keys = 50;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        Set<String> ended = ConcurrentHashMap.newKeySet();
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String client = "c" + t;
            futures.add(pool.submit(() -> {
                start.await();
                for (int round = 0; round < 200; round++) {
                    String key = "k" + (round % keys);
                    try {
                        master.putStart(client, key, 64 + round, 0, round % 3 == 0);
                        if (round % 4 == 0) {
                            master.putRevoke(client, key);
                        } else {
                            master.putEnd(client, key);
                            ended.add(key);
                        }
                    } catch (StoreException e) {
                        // A put meeting another's unfinished put: ALREADY_EXISTS; an upsert: NOT_READY (retry).
                        assertTrue(
                                Set.of(
                                                ErrorCode.OBJECT_ALREADY_EXISTS,
                                                ErrorCode.OBJECT_HAS_LEASE,
                                                ErrorCode.REPLICA_IS_NOT_READY)
                                        .contains(e.code()),
                                e.code() + ": " + e.getMessage());
                    }
                    if (round % 5 == 0) {
                        try {
                            master.remove(key, true);
                        } catch (StoreException e) {
                            assertTrue(
                                    Set.of(ErrorCode.OBJECT_NOT_FOUND, ErrorCode.REPLICA_IS_NOT_READY)
                                            .contains(e.code()),
                                    e.code() + ": " + e.getMessage());
                        }
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get();
        }
        pool.shutdown();
        long expectedUsed = 0;
        for (int k = 0; k < keys; k++) {
            if (master.exist("k" + k)) {
                long size = master.getReplicaList("k" + k).size();
                expectedUsed += (size + 63) / 64 * 64;
            }
        }
        for (MountedSegment segment : master.segments().mounted()) {
            segment.allocator().checkInvariants();
        }
        assertEquals(expectedUsed, master.stats().usedBytes(), "every allocated byte belongs to a live object");
        assertEquals(
                master.stats().objectCount(),
                ended.stream().filter(master::exist).collect(Collectors.toSet()).size());
    }

    private static void assertCode(ErrorCode expected, Executable call) {
        StoreException e = assertThrows(StoreException.class, call);
        assertEquals(expected, e.code(), e.getMessage());
    }

    @Test
    void aRecordedChecksumIsAnsweredWithTheReplicasAndSurvivesAFailover() {
        master.putStart("c", "crc/a", 100, 1, false);
        master.putEnd("c", "crc/a", 0xCAFEF00DL);
        master.putStart("c", "crc/none", 100, 1, false);
        master.putEnd("c", "crc/none");
        assertEquals(0xCAFEF00DL, master.getReplicaList("crc/a").crc32c());
        assertEquals(null, master.getReplicaList("crc/none").crc32c());

        // What a standby replays from the op-log: the COMMIT carries the checksum to the new leader.
        ReplicatedIndex replicated = new ReplicatedIndex();
        OpLog opLog = new OpLog() {
            @Override
            public java.util.concurrent.CompletableFuture<Void> record(OpLogEntry op) {
                replicated.apply(op);
                return java.util.concurrent.CompletableFuture.completedFuture(null);
            }

            @Override
            public boolean accepting() {
                return true;
            }
        };
        Master leader = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        leader.attachOpLog(opLog);
        leader.mountSegment("worker-1", "seg-1", 1 << 20, "");
        leader.putStart("c", "crc/b", 100, 1, false);
        leader.putEnd("c", "crc/b", 42L);
        Master successor = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        successor.restore(replicated);
        assertEquals(42L, successor.getReplicaList("crc/b").crc32c());
    }

    @Test
    void aPutEndRepeatedAfterATimeoutWaitsForTheSameCommitToBeDurable() {
        // An op-log that cannot confirm yet (etcd cut off): the first PutEnd times out at the client, which repeats
        // it. Found by PartitionHaIT: the repeat used to be acknowledged at once, and the object was lost at the
        // failover that followed.
        java.util.concurrent.CompletableFuture<Void> confirmation = new java.util.concurrent.CompletableFuture<>();
        confirmCommitsWith(confirmation);
        master.putStart(A, "durable/k", 100, 1, false);
        var first = master.putEndAsync(A, "durable/k", null);
        var repeated = master.putEndAsync(A, "durable/k", null);
        assertFalse(first.isDone(), "not acknowledged before the op-log confirms");
        assertFalse(repeated.isDone(), "a repeated PutEnd is not acknowledged either");
        confirmation.complete(null);
        first.join();
        repeated.join();
        assertTrue(master.putEndAsync(A, "durable/k", null).isDone(), "once durable, a repeat answers at once");
    }

    @Test
    void aPutEndTheOpLogNeverConfirmsFailsWithMetadataErrorAtTheSweepPastItsDeadline() {
        confirmCommitsWith(new java.util.concurrent.CompletableFuture<>()); // etcd cut off: never confirmed
        master.putStart(A, "stuck/k", 100, 1, false);
        var answer = master.putEndAsync(A, "stuck/k", null);
        master.sweep();
        assertFalse(answer.isDone(), "in time: still waiting for the op-log");
        clock.advance(Duration.ofMillis(Durability.TIMEOUT_MILLIS));
        master.sweep();
        var e = assertThrows(java.util.concurrent.CompletionException.class, answer::join);
        assertEquals(ErrorCode.METADATA_ERROR, ((StoreException) e.getCause()).code());
    }

    /** An op-log (etcd cut off) whose COMMITs are durable once {@code confirmation} completes; other entries at once. */
    private void confirmCommitsWith(java.util.concurrent.CompletableFuture<Void> confirmation) {
        master.attachOpLog(new OpLog() {
            @Override
            public java.util.concurrent.CompletableFuture<Void> record(OpLogEntry op) {
                return op instanceof OpLogEntry.Commit
                        ? confirmation
                        : java.util.concurrent.CompletableFuture.completedFuture(null);
            }

            @Override
            public boolean accepting() {
                return true;
            }
        });
    }
}
