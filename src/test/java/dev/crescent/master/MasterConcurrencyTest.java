package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many threads on few keys and little memory: puts, upserts, revokes, reads (leases), removes, batches, eviction
 * and the sweeper all at once. Afterwards every allocated byte must belong to exactly one live replica: no range
 * lost, none handed out twice, allocator invariants intact.
 */
class MasterConcurrencyTest {
    private static final Set<ErrorCode> EXPECTED = Set.of(
            ErrorCode.OBJECT_ALREADY_EXISTS,
            ErrorCode.OBJECT_HAS_LEASE,
            ErrorCode.OBJECT_NOT_FOUND,
            ErrorCode.REPLICA_IS_NOT_READY,
            ErrorCode.NO_AVAILABLE_HANDLE);

    @Test
    void mixedLoadUnderMemoryPressureKeepsEveryRangeAccountedFor() throws Exception {
        ManualClock clock = new ManualClock();
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        master.mountSegment("w1", "s1", 64 << 10, "");
        master.mountSegment("w2", "s2", 64 << 10, "");
        master.mountSegment("w3", "s3", 32 << 10, "");
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String client = "c" + t;
            Random random = new Random(t);
            futures.add(pool.submit(() -> {
                start.await();
                for (int op = 0; op < 3000; op++) {
                    String key = "k" + random.nextInt(40);
                    try {
                        switch (random.nextInt(8)) {
                            case 0, 1, 2 -> {
                                ReplicaConfig config = new ReplicaConfig(
                                        1 + random.nextInt(2),
                                        List.of(),
                                        random.nextInt(4) == 0,
                                        random.nextInt(20) == 0);
                                master.putStart(client, key, 64 + random.nextInt(4096), config, random.nextBoolean());
                                if (random.nextInt(5) == 0) {
                                    master.putRevoke(client, key);
                                } else {
                                    master.putEnd(client, key);
                                }
                            }
                            case 3 -> master.getReplicaList(key);
                            case 4 -> master.exist(key);
                            case 5 -> master.remove(key, random.nextBoolean());
                            case 6 -> master.batchRemove(List.of(key, "k" + random.nextInt(40)), false);
                            default -> master.evict(4096);
                        }
                    } catch (StoreException e) {
                        assertTrue(EXPECTED.contains(e.code()), e.code() + ": " + e.getMessage());
                    }
                }
                return null;
            }));
        }
        Future<?> ticker = pool.submit(() -> {
            start.await();
            while (futures.stream().anyMatch(f -> !f.isDone())) {
                clock.advance(Duration.ofMillis(500)); // leases come and go while the load runs
                master.sweep();
                master.evictAboveWatermark();
                Thread.sleep(1);
            }
            return null;
        });
        start.countDown();
        for (Future<?> f : futures) {
            f.get();
        }
        ticker.get();
        pool.shutdown();

        clock.advance(Duration.ofHours(1));
        master.sweep(); // every lease is over: deferred ranges are free now
        assertEquals(0, master.stats().processingCount(), "every put was ended or revoked");

        Map<String, List<long[]>> rangesBySegment = new HashMap<>();
        long expectedUsed = 0;
        for (String key : master.listKeys("", Integer.MAX_VALUE)) {
            ObjectInfo info = master.describeObject(key);
            for (ReplicaDescriptor replica : info.replicas()) {
                long reserved = (replica.length() + 63) / 64 * 64;
                expectedUsed += reserved;
                rangesBySegment
                        .computeIfAbsent(replica.segment(), s -> new ArrayList<>())
                        .add(new long[] {replica.offset(), reserved});
            }
        }
        for (MountedSegment segment : master.segments().mounted()) {
            segment.allocator().checkInvariants();
        }
        rangesBySegment.forEach((segment, ranges) -> {
            ranges.sort(Comparator.comparingLong(r -> r[0]));
            for (int i = 1; i < ranges.size(); i++) {
                long[] previous = ranges.get(i - 1);
                assertTrue(previous[0] + previous[1] <= ranges.get(i)[0], "overlapping replicas on " + segment);
            }
        });
        assertEquals(expectedUsed, master.stats().usedBytes(), "allocated bytes == bytes of live replicas");
        assertTrue(master.stats().evictedObjects() > 0, "the load did run into eviction");
    }
}
