package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.FifoEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tenant quotas on the master: enforced when space is reserved, each tenant's own eviction scope, exact accounts. */
class TenantQuotaTest {
    private static final int BLOCK = 1024;
    private final ManualClock clock = new ManualClock();
    private final Master master =
            new Master(MasterSettings.defaults(), new RandomPlacement(), new FifoEviction(), clock);

    TenantQuotaTest() {
        master.mountSegment("w", "seg", 10 * BLOCK, "");
    }

    private void put(String key, ReplicaConfig config) {
        master.putStart("c", key, BLOCK, config, false);
        master.putEnd("c", key);
        clock.advance(Duration.ofSeconds(1)); // FIFO order, and every read lease long over
    }

    private void put(String key) {
        put(key, ReplicaConfig.DEFAULT);
    }

    private long used(String tenant) {
        return master.tenants().stream()
                .filter(a -> a.quota().name().equals(tenant))
                .findFirst()
                .orElseThrow()
                .usedBytes();
    }

    private boolean exists(String key) {
        return master.exist(key);
    }

    @Test
    void aFullTenantEvictsItsOwnOldestObjectAndIsRefusedOnlyWhenNoneCanGo() {
        master.defineTenants(List.of(new TenantQuota("a", "a/", 3 * BLOCK, null)));
        put("other/x");
        put("a/1");
        put("a/2");
        put("a/3");
        assertEquals(3 * BLOCK, used("a"));
        put("a/4");
        assertTrue(!exists("a/1") && exists("a/2") && exists("other/x"), "its own oldest went, nobody else's");
        assertEquals(3 * BLOCK, used("a"));

        ReplicaConfig pinned = new ReplicaConfig(0, List.of(), false, true);
        master.remove("a/2", true);
        master.remove("a/3", true);
        master.remove("a/4", true);
        assertEquals(0, used("a"));
        put("a/p1", pinned);
        put("a/p2", pinned);
        put("a/p3", pinned);
        StoreException refused = assertThrows(StoreException.class, () -> put("a/p4"));
        assertEquals(ErrorCode.QUOTA_EXCEEDED, refused.code(), "distinct from NO_AVAILABLE_HANDLE: the pool has room");
        assertEquals(3 * BLOCK, used("a"), "a refused put leaves the account as it was");
        assertEquals(1, master.tenants().getFirst().refused());
        put("free/y"); // the pool still takes keys under no tenant
    }

    @Test
    void anotherTenantsWritesNeverEvictATenantWithinItsReservedShare() {
        master.defineTenants(List.of(
                new TenantQuota("kept", "kept/", 4 * BLOCK, null),
                new TenantQuota("loose", "loose/", 6 * BLOCK, (long) BLOCK)));
        for (int i = 0; i < 4; i++) {
            put("kept/" + i);
        }
        for (int i = 0; i < 6; i++) {
            put("loose/" + i);
        }
        // The pool is full. A put under no tenant may evict only what is above someone's reserved share: loose's.
        put("free/1");
        assertTrue(!exists("loose/0"), "loose holds more than its reserved block: its oldest goes");
        for (int i = 0; i < 4; i++) {
            assertTrue(exists("kept/" + i), "kept/" + i + " is within kept's reserved share");
        }
        master.evict(10 * BLOCK); // the sweeper too
        for (int i = 0; i < 4; i++) {
            assertTrue(exists("kept/" + i));
        }
        assertEquals(BLOCK, used("loose"), "evicted down to its reserved share, not below");
    }

    @Test
    void accountsFollowUpsertsRemovalsAndQuotaEditsExactly() {
        put("t/old"); // stored before the tenant exists
        master.defineTenants(List.of(new TenantQuota("t", "t/", 8 * BLOCK, null)));
        assertEquals(BLOCK, used("t"), "objects already stored count once their tenant is defined");
        master.putStart("c", "t/big", 2 * BLOCK, 2, false); // two replicas need two segments: only one is mounted
        master.putEnd("c", "t/big");
        assertEquals(3 * BLOCK, used("t"), "the replica actually placed counts, not the two asked for");
        master.putStart("c", "t/big", BLOCK, 1, true);
        master.putEnd("c", "t/big");
        assertEquals(2 * BLOCK, used("t"), "an upsert replaces the old charge");
        master.putStart("c", "t/unfinished", BLOCK, 1, false);
        assertEquals(3 * BLOCK, used("t"), "space is counted when reserved");
        master.putRevoke("c", "t/unfinished");
        master.remove("t/old", true);
        assertEquals(BLOCK, used("t"));
        master.defineTenants(
                List.of(new TenantQuota("t2", "t/b", 8 * BLOCK, null), new TenantQuota("t", "t/", 8 * BLOCK, null)));
        assertEquals(0, used("t"), "the longest prefix wins: t/big moved to t2");
        assertEquals(BLOCK, used("t2"));
    }

    @Test
    void concurrentPutsOfOneTenantNeverPassItsQuotaTogether() throws Exception {
        master.defineTenants(List.of(new TenantQuota("c", "c/", 3 * BLOCK, null)));
        ReplicaConfig pinned = new ReplicaConfig(0, List.of(), false, true);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Boolean>> puts = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String key = "c/" + i;
            puts.add(pool.submit(() -> {
                try {
                    master.putStart("w" + key, key, BLOCK, pinned, false);
                    return true;
                } catch (StoreException e) {
                    assertEquals(ErrorCode.QUOTA_EXCEEDED, e.code());
                    return false;
                }
            }));
        }
        int started = 0;
        for (Future<Boolean> put : puts) {
            started += put.get() ? 1 : 0;
        }
        pool.shutdown();
        assertEquals(3, started, "exactly the quota's worth of puts got space");
        assertEquals(3 * BLOCK, used("c"));
    }
}
