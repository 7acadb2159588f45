package dev.crescent.it;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.transfer.tcp.TcpSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.crescent.it.Await.await;
import static dev.crescent.it.Await.signal;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Multi-host faults in network namespaces ({@link NetworkLab}): a master and two workers, each on a host of its own,
 * and this JVM as the client host. Links between hosts are cut and healed, and workers are stopped (SIGSTOP) and
 * killed (kill -9) under load. Every scenario asserts the store's promises: no acknowledged object is lost (objects
 * have two replicas, one per worker), no read answers wrong bytes, a failing call fails with a code in bounded time
 * instead of hanging, and the cluster recovers when the fault ends.
 *
 * <p>Skipped where the machine does not allow network namespaces (not root, or no iproute2).
 */
class PartitionIT {
    /** Short enough that a cut worker is expired within a scenario; heartbeats every 300 ms keep healthy ones. */
    private static final String CLIENT_TTL = "3s";

    /** Bounds the load so every object fits both segments: an eviction would read as a lost object. */
    private static final int MAX_PUTS_PER_WRITER = 6000;
    /** The killed writer's values: over the master's inline limit, so its puts stay unfinished while it writes. */
    private static final int WRITER_VALUE_BYTES = 256 << 10;

    private static final Set<ErrorCode> FAILURES_OF_A_CUT_LINK =
            EnumSet.of(ErrorCode.TRANSFER_FAIL, ErrorCode.RPC_FAIL, ErrorCode.RPC_TIMEOUT, ErrorCode.LEASE_EXPIRED);

    private static NetworkLab lab;
    private static CrescentProcess master;
    private static CrescentProcess worker1;
    private static CrescentProcess worker2;

    @BeforeAll
    static void startCluster() throws Exception {
        assumeTrue(NetworkLab.available(), "network namespaces need root with CAP_NET_ADMIN and iproute2");
        lab = NetworkLab.create("master", "w1", "w2", "c2");
        master = CrescentProcess.startOn(
                lab.host("master"),
                "lab-master",
                "quarkus.profile=master",
                "crescent.master.client-ttl=" + CLIENT_TTL,
                // a killed writer's unfinished puts give their keys and ranges back within a scenario
                "crescent.master.put-start-discard-timeout=2s",
                "crescent.master.put-start-release-timeout=4s");
        worker1 = startWorker("w1");
        worker2 = startWorker("w2");
        await(() -> master.segmentCount() == 2, 30);
    }

    private static CrescentProcess startWorker(String host) throws Exception {
        return CrescentProcess.startOn(
                lab.host(host),
                "lab-" + host,
                "quarkus.profile=worker",
                "crescent.worker.master-address=" + master.address(),
                "crescent.worker.segment-size=128M", // room for every object of the scenarios: no eviction
                "crescent.worker.heartbeat-interval=300ms",
                "crescent.client.call-timeout=1s");
    }

    @AfterAll
    static void stopCluster() {
        for (CrescentProcess process : new CrescentProcess[] {worker1, worker2, master}) {
            if (process != null) {
                process.close();
            }
        }
        if (lab != null) {
            lab.close();
        }
    }

    /**
     * A client on this JVM's host, over TCP only (all hosts share one kernel, so shm would bypass the network), that
     * moves every object's bytes itself: the master would move small ones through the workers' shared-memory files,
     * which the lab's hosts share too, so a cut between client and worker would cut nothing.
     */
    private static CrescentClient client(String name) {
        return CrescentClient.connect(ClientOptions.master(master.address())
                .withNodeName(name)
                .withSharedMemory(false)
                .withInlineValues(0)
                .withReplicas(ReplicaConfig.replicas(2))
                .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(3))
                .withTcp(new TcpSettings(
                        2, 1 << 20, Duration.ofSeconds(1), 1, 3, Duration.ofSeconds(10), Duration.ofSeconds(2))));
    }

    @Test
    void aClientCutFromOneWorkerReadsEveryObjectFromTheOtherAndWritesAgainAfterTheHeal() throws Exception {
        try (CrescentClient client = client("lab-client-a")) {
            Map<String, byte[]> stored = putMany(client, "cut-worker/", 30);
            lab.partition(lab.local(), lab.host("w1"));
            try {
                for (var entry : stored.entrySet()) {
                    assertArrayEquals(entry.getValue(), client.get(entry.getKey()), entry.getKey());
                }
                // Every put needs both workers (two replicas): it fails with a code, in bounded time, or it is
                // stored whole.
                byte[] value = bytes(9, 20_000);
                long began = System.nanoTime();
                Outcome outcome = attemptPut(client, "cut-worker/during", value);
                assertTrue(System.nanoTime() - began < Duration.ofSeconds(15).toNanos(), "the put did not hang");
                assertFalse(outcome.stored(), "a put whose second replica is behind the cut is not acknowledged");
                assertEquals(null, outcome.unexpected(), "it failed with the code of a cut link");
            } finally {
                lab.heal(lab.local(), lab.host("w1"));
            }
            await(
                    () -> attemptPut(client, "cut-worker/after", bytes(10, 30_000))
                            .stored(),
                    20);
            stored.put("cut-worker/after", bytes(10, 30_000));
            assertAllReadable(client, stored);
        }
    }

    @Test
    void aWorkerCutFromTheMasterIsExpiredItsObjectsStayReadableAndItComesBack() throws Exception {
        try (CrescentClient client = client("lab-client-b")) {
            Map<String, byte[]> stored = putMany(client, "cut-master/", 30);
            lab.partition(lab.host("w1"), lab.host("master"));
            try {
                await(() -> master.segmentCount() == 1, 20); // the silent worker's segment is unmounted
                assertAllReadable(client, stored); // every object still has its replica on w2
                // New puts land on the worker the master still has (replicas are best effort on the count).
                Map<String, byte[]> during = putMany(client, "cut-master/during-", 10);
                stored.putAll(during);
            } finally {
                lab.heal(lab.host("w1"), lab.host("master"));
            }
            await(() -> master.segmentCount() == 2, 30); // it heard NEED_REMOUNT and mounted again
            stored.putAll(putMany(client, "cut-master/after-", 10));
            assertAllReadable(client, stored);
        }
    }

    @Test
    void aClientCutFromTheMasterFailsWithACodeInBoundedTimeAndWorksAfterTheHeal() throws Exception {
        try (CrescentClient client = client("lab-client-c")) {
            Map<String, byte[]> stored = putMany(client, "cut-client/", 5);
            lab.partition(lab.local(), lab.host("master"));
            try {
                long began = System.nanoTime();
                StoreException refused = null;
                try {
                    client.get("cut-client/0");
                } catch (StoreException e) {
                    refused = e;
                }
                long millis = Duration.ofNanos(System.nanoTime() - began).toMillis();
                assertNotNull(refused, "a call across a cut link fails");
                assertTrue(FAILURES_OF_A_CUT_LINK.contains(refused.code()), refused.code() + ": " + refused);
                assertTrue(millis < 15_000, "it failed within the failover window and a call timeout: " + millis);
            } finally {
                lab.heal(lab.local(), lab.host("master"));
            }
            await(() -> readable(client, "cut-client/0"), 20);
            assertAllReadable(client, stored);
        }
    }

    @Test
    void stoppingThenKillingAWorkerUnderLoadLosesNoAcknowledgedObjectAndServesNoWrongBytes() throws Exception {
        Map<String, byte[]> acknowledged = new ConcurrentHashMap<>();
        List<String> wrongBytes = new CopyOnWriteArrayList<>();
        List<Throwable> unexpected = new CopyOnWriteArrayList<>();
        AtomicInteger failedCalls = new AtomicInteger();
        AtomicInteger writersDone = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> load = new ArrayList<>();
        try (CrescentClient client = client("lab-client-d")) {
            acknowledged.putAll(putMany(client, "load/seed-", 20));
            for (int t = 0; t < 2; t++) {
                int writer = t;
                load.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; !stop.get() && i < MAX_PUTS_PER_WRITER; i++) {
                        String key = "load/w" + writer + "-" + i;
                        byte[] value = bytes(writer * 1_000_000 + i, 1024 + i % 5 * 700);
                        Outcome outcome = attemptPut(client, key, value);
                        if (outcome.stored()) {
                            acknowledged.put(key, value);
                        } else if (outcome.unexpected() != null) {
                            unexpected.add(outcome.unexpected());
                        } else {
                            failedCalls.incrementAndGet();
                        }
                    }
                    writersDone.incrementAndGet();
                }));
            }
            load.add(Thread.ofPlatform().start(() -> {
                Random pick = new Random(7);
                while (!stop.get()) {
                    List<String> keys = new ArrayList<>(acknowledged.keySet());
                    String key = keys.get(pick.nextInt(keys.size()));
                    try {
                        byte[] read = client.get(key);
                        if (!java.util.Arrays.equals(read, acknowledged.get(key))) {
                            wrongBytes.add(key);
                        }
                    } catch (StoreException e) {
                        if (!FAILURES_OF_A_CUT_LINK.contains(e.code())) {
                            unexpected.add(e);
                        }
                        failedCalls.incrementAndGet();
                    }
                }
            }));
            try {
                int before = acknowledged.size();
                await(() -> acknowledged.size() >= before + 20 || writersDone.get() == 2, 30);
                signal("STOP", worker1.pid()); // frozen: connections open, nothing answers
                Thread.sleep(5_000);
                signal("CONT", worker1.pid());
                int thawed = acknowledged.size();
                await(() -> acknowledged.size() >= thawed + 20 || writersDone.get() == 2, 30);
                worker1.kill(); // gone for good: the master expires it and puts land on w2 alone
                await(() -> master.segmentCount() == 1, 20);
                int killed = acknowledged.size();
                await(() -> acknowledged.size() >= killed + 20 || writersDone.get() == 2, 30);
            } finally {
                stop.set(true);
                for (Thread thread : load) {
                    thread.join(30_000);
                }
            }
            System.out.println("worker stop/kill under load: " + acknowledged.size() + " acknowledged objects, "
                    + failedCalls.get() + " calls failed with a code");
            assertEquals(List.of(), wrongBytes, "reads never answered another object's bytes");
            assertEquals(List.of(), unexpected, "every failure carried a code of a cut link");
            assertAllReadable(client, acknowledged);
        } finally {
            worker1 = startWorker("w1"); // later scenarios get their two workers back
            await(() -> master.segmentCount() == 2, 30);
        }
    }

    @Test
    void aClientKilledMidPutLeavesNoUnfinishedPutNorStuckKeyBehind() throws Exception {
        // A writer process of its own on another host (the store benchmark's put phase: 256 KiB values over 64 keys,
        // two threads), killed with -9 while its puts are in flight. The values are over the master's inline limit
        // (64 KiB), so the writer moves them itself between its put start and its PutEnd: a put the master writes
        // for it starts and commits in one step, and is never seen unfinished.
        List<String> command = new ArrayList<>(lab.host("c2").launcher());
        command.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.crescent.bench.StoreBenchMain",
                "tcp",
                master.address(),
                "put",
                String.valueOf(WRITER_VALUE_BYTES),
                "2",
                "30",
                "64",
                "64"));
        Process writer = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            await("the writer is putting", () -> clusterStat("processingCount") > 0, 60);
            writer.destroyForcibly().waitFor();
        } finally {
            writer.destroyForcibly();
        }
        await("its unfinished puts are reclaimed", () -> clusterStat("processingCount") == 0, 20);
        try (CrescentClient client = client("lab-client-e")) {
            Map<String, byte[]> taken = new ConcurrentHashMap<>();
            for (int i = 0; i < 64; i++) { // every key it was writing can be written again, whole
                String key = "bench/" + WRITER_VALUE_BYTES + "/" + i;
                byte[] value = bytes(i, WRITER_VALUE_BYTES);
                await(key + " writable", () -> attemptPut(client, key, value).stored(), 10);
                taken.put(key, value);
            }
            assertAllReadable(client, taken);
        }
    }

    private static long clusterStat(String name) {
        return master.cluster().getLong("stats." + name);
    }

    /** How one put ended: stored, refused with a code a fault explains, or something else (a defect). */
    private record Outcome(boolean stored, Throwable unexpected) {}

    private static Outcome attemptPut(CrescentClient client, String key, byte[] value) {
        try {
            client.upsert(key, value);
            return new Outcome(true, null);
        } catch (StoreException e) {
            boolean explained = FAILURES_OF_A_CUT_LINK.contains(e.code())
                    || e.code() == ErrorCode.NO_AVAILABLE_HANDLE
                    || e.code() == ErrorCode.REPLICA_IS_NOT_READY;
            return new Outcome(false, explained ? null : e);
        } catch (RuntimeException e) {
            return new Outcome(false, e);
        }
    }

    private static Map<String, byte[]> putMany(CrescentClient client, String prefix, int count) {
        Map<String, byte[]> stored = new ConcurrentHashMap<>();
        for (int i = 0; i < count; i++) {
            byte[] value = bytes(prefix.hashCode() + i, 5_000 + i * 733);
            client.upsert(prefix + i, value);
            stored.put(prefix + i, value);
        }
        return stored;
    }

    private static void assertAllReadable(CrescentClient client, Map<String, byte[]> stored) {
        for (var entry : stored.entrySet()) {
            assertArrayEquals(entry.getValue(), client.get(entry.getKey()), entry.getKey());
        }
        // The master's own view agrees: it answers every key over REST too.
        String any = stored.keySet().iterator().next();
        given().baseUri(master.baseUrl()).head("/v1/objects/" + any).then().statusCode(200);
    }

    private static boolean readable(CrescentClient client, String key) {
        try {
            client.get(key);
            return true;
        } catch (StoreException e) {
            return false;
        }
    }

    private static byte[] bytes(long seed, int size) {
        byte[] value = new byte[size];
        new Random(seed).nextBytes(value);
        return value;
    }
}
