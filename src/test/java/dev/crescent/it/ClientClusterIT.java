package dev.crescent.it;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.ReplicaConfig;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static dev.crescent.it.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java client against a cluster of separate JVMs, one master and two workers: objects with two replicas stay
 * readable through the client when one worker is killed (reads fall back to the other replica before the master
 * has even noticed), and new puts land on the surviving worker once the master has dropped the dead one.
 */
class ClientClusterIT {

    @Test
    void readsFallBackToTheOtherReplicaWhenAWorkerDies() throws Exception {
        try (CrescentProcess master =
                CrescentProcess.start("cc-master", "quarkus.profile=master", "crescent.master.client-ttl=3s")) {
            String[] worker = {
                "quarkus.profile=worker",
                "crescent.worker.master-address=localhost:" + master.port(),
                "crescent.worker.segment-size=32M",
                "crescent.worker.heartbeat-interval=300ms"
            };
            try (CrescentProcess first = CrescentProcess.start("cc-worker-1", worker);
                    CrescentProcess second = CrescentProcess.start("cc-worker-2", worker);
                    // Shared memory off: a dead worker's /dev/shm file would still answer; test the network path.
                    CrescentClient client = CrescentClient.connect(ClientOptions.master("localhost:" + master.port())
                            .withNodeName("cc-client")
                            .withSharedMemory(false)
                            .withReplicas(ReplicaConfig.replicas(2)))) {
                await(() -> master.segmentCount() == 2, 30);
                List<String> keys =
                        IntStream.range(0, 40).mapToObj(i -> "cc/" + i).toList();
                List<KeyResult<Void>> put = client.batchPutFrom(
                        keys,
                        keys.stream().map(k -> MemorySegment.ofArray(bytes(k))).toList());
                put.forEach(r -> assertEquals(ErrorCode.OK, r.code(), r.key()));

                first.kill();
                for (String key : keys) {
                    assertArrayEquals(bytes(key), client.get(key), key);
                }
                List<MemorySegment> targets =
                        keys.stream().map(k -> client.allocate(70_000)).toList();
                List<KeyResult<Long>> got = client.batchGetInto(keys, targets);
                for (int i = 0; i < keys.size(); i++) {
                    assertEquals(bytes(keys.get(i)).length, got.get(i).value(), keys.get(i));
                    assertArrayEquals(
                            bytes(keys.get(i)),
                            targets.get(i).asSlice(0, got.get(i).value()).toArray(ValueLayout.JAVA_BYTE),
                            keys.get(i));
                }

                await(() -> master.segmentCount() == 1, 30);
                client.put("cc/after", bytes("cc/after"));
                assertArrayEquals(bytes("cc/after"), client.get("cc/after"));

                // A master whose puts land in other processes' memory streams none: the client writes them.
                String announced = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create("http://localhost:" + master.port() + MasterWire.PATH))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body();
                assertTrue(announced.contains("direct-port"), announced);
                assertFalse(announced.contains("streamed-put-bytes"), announced);
                byte[] large = new byte[1 << 20];
                new Random(5).nextBytes(large);
                client.put("cc/large", large);
                assertArrayEquals(large, client.get("cc/large"));
                assertEquals(0, second.terminate(10));
            }
        }
    }

    /**
     * A client that holds space granted ahead gives it back as it closes, in one try: when its master is gone, it
     * closes at once instead of retrying through the failover window.
     */
    @Test
    void aClientHoldingSpaceClosesAtOnceWhenItsMasterIsGone() throws Exception {
        try (CrescentProcess node = CrescentProcess.start("cc-node", "crescent.worker.segment-size=32M")) {
            CrescentClient client = CrescentClient.connect(ClientOptions.master("localhost:" + node.port())
                    .withNodeName("cc-closing")
                    .withSharedMemory(true));
            byte[] value = new byte[1 << 20];
            client.put("cc/spaced-0", value); // over shared memory: granted space for its next put of this size
            client.put("cc/spaced-1", value);
            node.kill();
            long started = System.nanoTime();
            client.close();
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(millis < 3_000, "closed in " + millis + " ms");
        }
    }

    private static byte[] bytes(String key) {
        Random random = new Random(key.hashCode());
        byte[] bytes = new byte[10_000 + random.nextInt(60_000)];
        random.nextBytes(bytes);
        return bytes;
    }
}
