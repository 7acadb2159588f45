package dev.crescent.it;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.EtcdProcess;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.crescent.it.Await.await;
import static dev.crescent.it.Await.signal;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HA faults on real links ({@link NetworkLab}): etcd, two masters and a worker on hosts of their own, writers on this
 * JVM's host following the leader through etcd. Cutting the leader from etcd while it still reaches the worker and
 * the clients is the one situation where two masters could both believe they lead; freezing etcd (SIGSTOP) stops
 * every renewal at once. Either way the writers must see only delays and refusals with a code, no acknowledged
 * object may be lost, and afterwards exactly one master leads. Skipped where network namespaces are not allowed.
 */
class PartitionHaIT {
    @Test
    void aLeaderCutFromEtcdStepsDownAndTheStandbyLeadsWithEveryAcknowledgedObject() throws Exception {
        assumeTrue(NetworkLab.available(), "network namespaces need root with CAP_NET_ADMIN and iproute2");
        try (Cluster cluster = Cluster.start()) {
            CrescentProcess leader = cluster.leader();
            CrescentProcess standby = cluster.other(leader);
            NetworkLab.Host leaderHost = cluster.hostOf(leader);
            try (Writers writers =
                    new Writers(cluster, Set.of(ErrorCode.RPC_FAIL, ErrorCode.RPC_TIMEOUT, ErrorCode.NOT_LEADER))) {
                writers.awaitMore(50);
                cluster.lab.partition(leaderHost, cluster.lab.host("etcd"));
                long cut = System.nanoTime();
                try {
                    await("the standby leads", () -> leads(standby), 20);
                    long failoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cut);
                    // The cut leader suspended itself before its lease could end: from the moment the standby
                    // leads, the old one refuses master work (it still reaches the worker and the clients).
                    int atFailover = writers.acknowledged.size();
                    while (writers.acknowledged.size() < atFailover + 50) {
                        assertFalse(leads(leader), "two masters served at once");
                        writers.awaitMore(1);
                    }
                    given().baseUri(leader.baseUrl())
                            .get("/v1/objects/"
                                    + writers.acknowledged.keySet().iterator().next())
                            .then()
                            .statusCode(503)
                            .body("code", equalTo(-1010));
                    System.out.println("partition failover: the standby led " + failoverMillis
                            + " ms after the leader was cut from etcd");
                    assertTrue(failoverMillis < 10_000, failoverMillis + " ms");
                } finally {
                    writers.stop();
                    cluster.lab.heal(leaderHost, cluster.lab.host("etcd"));
                }
                // Reconnected, it finds the leader key another's and steps down for good.
                assertEquals(3, leader.awaitExit(20), "a leader that lost its lease exits (status 3)");
                writers.assertOnlyExpectedFailuresAndEveryObjectReadable();
            }
            assertEquals(1, standby.segmentCount(), "the worker follows the new leader");
        }
    }

    @Test
    void aFrozenEtcdPausesWritesLosesNothingAndOneMasterLeadsAfterIt() throws Exception {
        assumeTrue(NetworkLab.available(), "network namespaces need root with CAP_NET_ADMIN and iproute2");
        try (Cluster cluster = Cluster.start()) {
            // While etcd is frozen nothing can be made durable: puts are refused (METADATA_ERROR) or wait.
            try (Writers writers = new Writers(
                    cluster,
                    Set.of(
                            ErrorCode.RPC_FAIL,
                            ErrorCode.RPC_TIMEOUT,
                            ErrorCode.NOT_LEADER,
                            ErrorCode.METADATA_ERROR))) {
                writers.awaitMore(50);
                signal("STOP", cluster.etcd.pid());
                try {
                    Thread.sleep(6_000); // three leader TTLs
                    assertFalse(
                            leads(cluster.masters.get(0)) && leads(cluster.masters.get(1)),
                            "two masters served at once");
                } finally {
                    signal("CONT", cluster.etcd.pid());
                }
                await("a master leads again", () -> cluster.masters.stream().anyMatch(PartitionHaIT::leads), 30);
                writers.awaitMore(50);
                writers.stop();
                long leading =
                        cluster.masters.stream().filter(PartitionHaIT::leads).count();
                assertEquals(1, leading, "exactly one master leads after the freeze");
                writers.assertOnlyExpectedFailuresAndEveryObjectReadable();
            }
        }
    }

    /** etcd, two masters of cluster "ha" and a worker, each on a lab host of its own. */
    private static final class Cluster implements AutoCloseable {
        final NetworkLab lab;
        final EtcdProcess etcd;
        final List<CrescentProcess> masters = new ArrayList<>();
        final List<NetworkLab.Host> masterHosts = new ArrayList<>();
        private CrescentProcess worker;

        private Cluster(NetworkLab lab, EtcdProcess etcd) {
            this.lab = lab;
            this.etcd = etcd;
        }

        static Cluster start() throws Exception {
            NetworkLab lab = NetworkLab.create("etcd", "m1", "m2", "w1");
            Cluster cluster = null;
            try {
                cluster = new Cluster(
                        lab,
                        EtcdProcess.startOn(
                                lab.host("etcd").launcher(), lab.host("etcd").address()));
                for (String name : List.of("m1", "m2")) {
                    cluster.masterHosts.add(lab.host(name));
                    cluster.masters.add(cluster.startMaster(lab.host(name)));
                }
                cluster.worker = CrescentProcess.startOn(
                        lab.host("w1"),
                        "ha-lab-worker",
                        "quarkus.profile=worker",
                        "crescent.cluster=ha",
                        "crescent.metadata.etcd.endpoints=" + cluster.etcd.endpoint(),
                        "crescent.worker.segment-size=64M",
                        "crescent.worker.heartbeat-interval=300ms",
                        "crescent.client.call-timeout=1s");
                Cluster started = cluster;
                await("one master leads", () -> started.masters.stream().anyMatch(PartitionHaIT::leads), 30);
                await("with the worker's segment", () -> started.leader().segmentCount() == 1, 30);
                return cluster;
            } catch (Exception | AssertionError e) {
                if (cluster != null) {
                    cluster.close();
                } else {
                    lab.close();
                }
                throw e;
            }
        }

        CrescentProcess leader() {
            return masters.stream().filter(PartitionHaIT::leads).findFirst().orElseThrow();
        }

        CrescentProcess other(CrescentProcess master) {
            return masters.get(0) == master ? masters.get(1) : masters.get(0);
        }

        NetworkLab.Host hostOf(CrescentProcess master) {
            return masterHosts.get(masters.indexOf(master));
        }

        CrescentClient client() {
            return CrescentClient.connect(ClientOptions.etcd(List.of(etcd.endpoint()), "ha")
                    .withNodeName("ha-lab-client")
                    .withSharedMemory(false)
                    .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(20)));
        }

        /** A master on a lab host, advertising the address other hosts reach it at. */
        private CrescentProcess startMaster(NetworkLab.Host host) throws IOException {
            int port = freePort(); // the host's network is its own: a port free here is free there
            return CrescentProcess.startOn(
                    host,
                    "ha-lab-" + host.name(),
                    "quarkus.profile=master",
                    "quarkus.http.port=" + port,
                    "crescent.master.advertise-address=" + host.address() + ":" + port,
                    "crescent.cluster=ha",
                    "crescent.metadata.etcd.endpoints=" + etcd.endpoint(),
                    "crescent.master.leader-ttl=2s",
                    "crescent.master.client-ttl=3s");
        }

        @Override
        public void close() throws Exception {
            if (worker != null) {
                worker.close();
            }
            masters.forEach(CrescentProcess::close);
            etcd.close();
            lab.close();
        }
    }

    /** Two threads putting distinct keys through a client that follows etcd, recording what was acknowledged. */
    private static final class Writers implements AutoCloseable {
        final Map<String, byte[]> acknowledged = new ConcurrentHashMap<>();
        private final List<Throwable> unexpected = new CopyOnWriteArrayList<>();
        private final AtomicBoolean stopped = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final CrescentClient client;

        Writers(Cluster cluster, Set<ErrorCode> expected) {
            client = cluster.client();
            for (int t = 0; t < 2; t++) {
                int writer = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; !stopped.get(); i++) {
                        String key = "ha-lab/" + writer + "/" + i;
                        byte[] value = new byte[4096 + i % 7 * 1000];
                        new Random(writer * 1_000_000L + i).nextBytes(value);
                        try {
                            client.upsert(key, value);
                            acknowledged.put(key, value);
                        } catch (StoreException e) {
                            if (!expected.contains(e.code())) {
                                unexpected.add(e);
                            }
                        } catch (RuntimeException e) {
                            unexpected.add(e);
                        }
                    }
                }));
            }
        }

        void awaitMore(int count) throws InterruptedException {
            int now = acknowledged.size();
            await(
                    count + " more acknowledged puts",
                    () -> acknowledged.size() >= now + count || !unexpected.isEmpty(),
                    30);
        }

        void stop() throws InterruptedException {
            stopped.set(true);
            for (Thread thread : threads) {
                thread.join(30_000);
            }
        }

        void assertOnlyExpectedFailuresAndEveryObjectReadable() {
            assertEquals(List.of(), unexpected, "writers saw only delays and expected refusals");
            List<String> missing = new ArrayList<>();
            for (var entry : acknowledged.entrySet()) {
                try {
                    assertArrayEquals(entry.getValue(), client.get(entry.getKey()), entry.getKey());
                } catch (StoreException gone) {
                    missing.add(entry.getKey() + ": " + gone.code());
                }
            }
            assertEquals(List.of(), missing, "acknowledged objects lost (of " + acknowledged.size() + ")");
        }

        @Override
        public void close() throws InterruptedException {
            stop();
            client.close();
        }
    }

    /** Whether this master answers master work (a standby answers 503 NOT_LEADER, a dead one not at all). */
    private static boolean leads(CrescentProcess master) {
        try {
            return given().baseUri(master.baseUrl()).get("/v1/cluster").statusCode() == 200;
        } catch (Exception e) { // RestAssured rethrows a refused connection as the checked ConnectException
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
