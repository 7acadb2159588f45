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
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HA across a real partition ({@link NetworkLab}): etcd, two masters and a worker on hosts of their own, writers on
 * this JVM's host. The leader is cut from etcd while it still reaches the worker and the clients, the one situation
 * where two masters could both believe they lead. The standby must lead within seconds with every acknowledged
 * object; the cut leader must stop (its lease is gone) rather than serve beside it; writers following etcd see only a
 * delay. Skipped where the machine does not allow network namespaces.
 */
class PartitionHaIT {
    private static final Set<ErrorCode> DELAYS =
            Set.of(ErrorCode.RPC_FAIL, ErrorCode.RPC_TIMEOUT, ErrorCode.NOT_LEADER);

    @Test
    void aLeaderCutFromEtcdStepsDownAndTheStandbyLeadsWithEveryAcknowledgedObject() throws Exception {
        assumeTrue(NetworkLab.available(), "network namespaces need root with CAP_NET_ADMIN and iproute2");
        try (NetworkLab lab = NetworkLab.create("etcd", "m1", "m2", "w1");
                EtcdProcess etcd = EtcdProcess.startOn(
                        lab.host("etcd").launcher(), lab.host("etcd").address())) {
            CrescentProcess m1 = startMaster(lab.host("m1"), etcd);
            CrescentProcess m2 = startMaster(lab.host("m2"), etcd);
            try (m1;
                    m2;
                    CrescentProcess worker = CrescentProcess.startOn(
                            lab.host("w1"),
                            "ha-lab-worker",
                            "quarkus.profile=worker",
                            "crescent.cluster=ha",
                            "crescent.metadata.etcd.endpoints=" + etcd.endpoint(),
                            "crescent.worker.segment-size=32M",
                            "crescent.worker.heartbeat-interval=300ms",
                            "crescent.client.call-timeout=1s")) {
                await("one master leads with the worker's segment", () -> leads(m1) || leads(m2), 30);
                CrescentProcess leader = leads(m1) ? m1 : m2;
                CrescentProcess standby = leader == m1 ? m2 : m1;
                NetworkLab.Host leaderHost = lab.host(leader == m1 ? "m1" : "m2");
                await(() -> leader.segmentCount() == 1, 30);

                Map<String, byte[]> acknowledged = new ConcurrentHashMap<>();
                Map<String, Long> ackedAt = new ConcurrentHashMap<>();
                long[] cutAt = new long[1];
                List<Throwable> unexpected = new CopyOnWriteArrayList<>();
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> writers = new ArrayList<>();
                try (CrescentClient client = CrescentClient.connect(ClientOptions.etcd(List.of(etcd.endpoint()), "ha")
                        .withNodeName("ha-lab-client")
                        .withSharedMemory(false)
                        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(20)))) {
                    for (int t = 0; t < 2; t++) {
                        int writer = t;
                        writers.add(Thread.ofPlatform().start(() -> {
                            for (int i = 0; !stop.get(); i++) {
                                String key = "ha-lab/" + writer + "/" + i;
                                byte[] value = new byte[4096 + i % 7 * 1000];
                                new Random(writer * 1_000_000L + i).nextBytes(value);
                                try {
                                    client.upsert(key, value);
                                    acknowledged.put(key, value);
                                    ackedAt.put(key, System.nanoTime());
                                } catch (StoreException e) {
                                    if (!DELAYS.contains(e.code())) {
                                        unexpected.add(e);
                                    }
                                } catch (RuntimeException e) {
                                    unexpected.add(e);
                                }
                            }
                        }));
                    }
                    try {
                        await(() -> acknowledged.size() >= 50, 30);
                        lab.partition(leaderHost, lab.host("etcd"));
                        long cut = System.nanoTime();
                        cutAt[0] = cut;
                        await("the standby leads", () -> leads(standby), 20);
                        long failoverMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cut);
                        // The cut leader suspended itself before its lease could end: from the moment the standby
                        // leads, the old one refuses master work (it still reaches the worker and the clients).
                        int atFailover = acknowledged.size();
                        while (acknowledged.size() < atFailover + 50) {
                            assertFalse(leads(leader), "two masters served at once");
                            await(() -> acknowledged.size() >= atFailover + 50 || !unexpected.isEmpty(), 30);
                        }
                        String someKey = acknowledged.keySet().iterator().next();
                        given().baseUri(leader.baseUrl())
                                .get("/v1/objects/" + someKey)
                                .then()
                                .statusCode(503)
                                .body("code", equalTo(-1010));
                        System.out.println("partition failover: the standby led " + failoverMillis
                                + " ms after the leader was cut from etcd; " + acknowledged.size()
                                + " acknowledged objects");
                        assertTrue(failoverMillis < 10_000, failoverMillis + " ms");
                    } finally {
                        stop.set(true);
                        for (Thread writer : writers) {
                            writer.join(30_000);
                        }
                        lab.heal(leaderHost, lab.host("etcd"));
                    }
                    // Reconnected, it finds the leader key another's and steps down for good.
                    assertEquals(3, leader.awaitExit(20), "a leader that lost its lease exits (status 3)");
                    assertEquals(List.of(), unexpected, "writers saw only delays across the partition");
                    try {
                        for (var entry : acknowledged.entrySet()) {
                            assertArrayEquals(entry.getValue(), client.get(entry.getKey()), entry.getKey());
                        }
                    } catch (RuntimeException | AssertionError e) {
                        List<String> missing = new ArrayList<>();
                        for (String key : acknowledged.keySet()) {
                            try {
                                client.get(key);
                            } catch (StoreException gone) {
                                missing.add(key + " acked " + (ackedAt.get(key) - cutAt[0]) / 1_000_000
                                        + " ms after the cut");
                            }
                        }
                        System.out.println("=== missing " + missing);
                        throw e;
                    }
                }
                assertEquals(1, standby.segmentCount(), "the worker follows the new leader");
            }
        }
    }

    /** A master of cluster "ha" on a lab host, advertising the address other hosts reach it at. */
    private static CrescentProcess startMaster(NetworkLab.Host host, EtcdProcess etcd) throws IOException {
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

    /** Whether this master answers master work (a standby answers 503 NOT_LEADER, a dead one not at all). */
    private static boolean leads(CrescentProcess master) {
        try {
            return given().baseUri(master.baseUrl()).get("/v1/cluster").statusCode() == 200;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
