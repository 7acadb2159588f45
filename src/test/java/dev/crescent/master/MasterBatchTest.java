package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ReplicaConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch forms answer one result per key, in order, and one bad key never fails the others; RemoveAll. */
class MasterBatchTest {
    private static final String A = "client-a";
    private final ManualClock clock = new ManualClock();
    private Master master;

    @BeforeEach
    void setUp() {
        master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        master.mountSegment("w", "seg", 1 << 20, "");
    }

    @Test
    void batchPutStartAnswersEachKeyInOrder() {
        master.putStart(A, "taken", 10, 0, false);
        master.putEnd(A, "taken");
        var results = master.batchPutStart(
                A,
                List.of("a", "", "taken", "huge", "b"),
                List.of(100L, 100L, 100L, 4L << 20, 200L),
                ReplicaConfig.DEFAULT,
                false);
        assertEquals(
                List.of("a", "", "taken", "huge", "b"),
                results.stream().map(KeyResult::key).toList());
        assertEquals(
                List.of(
                        ErrorCode.OK,
                        ErrorCode.INVALID_KEY,
                        ErrorCode.OBJECT_ALREADY_EXISTS,
                        ErrorCode.NO_AVAILABLE_HANDLE,
                        ErrorCode.OK),
                results.stream().map(KeyResult::code).toList());
        assertEquals(200, results.get(4).value().getFirst().length());
        assertNull(results.get(1).value());
    }

    @Test
    void batchPutStartRefusesMismatchedSizesAsAWhole() {
        StoreException e = assertThrows(
                StoreException.class,
                () -> master.batchPutStart(A, List.of("a", "b"), List.of(1L), ReplicaConfig.DEFAULT, false));
        assertEquals(ErrorCode.INVALID_PARAMS, e.code());
        assertFalse(master.exist("a"), "nothing was started");
    }

    @Test
    void batchEndRevokeExistGetAndRemove() {
        master.batchPutStart(A, List.of("x", "y", "z"), List.of(10L, 20L, 30L), ReplicaConfig.DEFAULT, false);
        var ended = master.batchPutEnd(A, List.of("x", "y", "nope"));
        assertEquals(
                List.of(ErrorCode.OK, ErrorCode.OK, ErrorCode.OBJECT_NOT_FOUND),
                ended.stream().map(KeyResult::code).toList());
        assertEquals(
                List.of(ErrorCode.ILLEGAL_CLIENT),
                master.batchPutRevoke("intruder", List.of("z")).stream()
                        .map(KeyResult::code)
                        .toList());
        assertEquals(
                List.of(ErrorCode.OK, ErrorCode.INVALID_PARAMS),
                master.batchPutRevoke(A, List.of("z", "x")).stream()
                        .map(KeyResult::code)
                        .toList(),
                "an ended put cannot be revoked");

        var exist = master.batchExist(List.of("x", "z", "bad\nkey", "y"));
        assertEquals(
                List.of(true, false, false, true),
                exist.stream().map(r -> r.ok() && r.value()).toList());
        assertEquals(ErrorCode.INVALID_KEY, exist.get(2).code());

        var located = master.batchGetReplicaList(List.of("y", "z"));
        assertEquals(20, located.get(0).value().size());
        assertEquals(ErrorCode.OBJECT_NOT_FOUND, located.get(1).code());

        var removed = master.batchRemove(List.of("x", "y", "z"), false);
        assertEquals(
                List.of(ErrorCode.OK, ErrorCode.OBJECT_HAS_LEASE, ErrorCode.OBJECT_NOT_FOUND),
                removed.stream().map(KeyResult::code).toList(),
                "the get leased y; an exist hands out no replica, so it leases nothing");
        assertEquals(
                List.of(ErrorCode.OBJECT_NOT_FOUND, ErrorCode.OK),
                master.batchRemove(List.of("x", "y"), true).stream()
                        .map(KeyResult::code)
                        .toList());
        assertFalse(master.exist("y"));
    }

    @Test
    void removeAllKeepsLeasedObjectsUnlessForcedAndLeavesUnfinishedPuts() {
        for (String key : List.of("a", "b", "c")) {
            master.putStart(A, key, 100, 0, false);
            master.putEnd(A, key);
        }
        master.putStart(A, "writing", 100, 0, false);
        clock.advance(Duration.ofSeconds(11));
        master.getReplicaList("b");
        assertEquals(2, master.removeAll(false));
        assertTrue(master.exist("b"), "leased: kept");
        assertEquals(1, master.removeAll(true));
        assertFalse(master.exist("b"));
        master.putEnd(A, "writing");
        assertTrue(master.exist("writing"), "an unfinished put is its writer's business");
        assertEquals(1, master.stats().objectCount());
    }

    @Test
    void countersCountRequestsAndFailuresPerOperation() {
        master.putStart(A, "k", 10, 0, false);
        assertThrows(StoreException.class, () -> master.putStart(A, "k", 10, 0, false));
        master.batchExist(List.of("k", "j"));
        assertEquals(2, master.counters().requests(MasterOp.PUT_START));
        assertEquals(1, master.counters().failures(MasterOp.PUT_START));
        assertEquals(1, master.counters().requests(MasterOp.BATCH_EXIST));
        assertEquals(0, master.counters().failures(MasterOp.BATCH_EXIST));
    }

    @Test
    void aBatchPastTheLimitIsRefusedWhole() {
        // D24 of the hardening issue: a 1.5M-key batch held an event loop for 1.6 s.
        List<String> keys = java.util.stream.IntStream.range(0, Master.MAX_BATCH_KEYS + 1)
                .mapToObj(i -> "many/" + i)
                .toList();
        StoreException refused =
                org.junit.jupiter.api.Assertions.assertThrows(StoreException.class, () -> master.batchExist(keys));
        assertEquals(ErrorCode.INVALID_PARAMS, refused.code());
        assertEquals(
                Master.MAX_BATCH_KEYS,
                master.batchExist(keys.subList(0, Master.MAX_BATCH_KEYS)).size());
    }
}
