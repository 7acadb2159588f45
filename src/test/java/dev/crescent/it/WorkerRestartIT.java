package dev.crescent.it;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.EtcdProcess;
import dev.crescent.transfer.shm.ShmFiles;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.crescent.it.Await.await;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lossless worker restart between real processes (issue 21, item 2): a worker killed with -9 and started again on
 * the same host with the same segment name adopts its segment file; the master hands it the segment, and every
 * object in it reads back with equal bytes, over TCP and over shared memory, except one whose bytes were changed
 * in the file meanwhile, which the master's checksum check removes. A worker that comes back after the master
 * dropped its segment clears the memory and starts empty.
 */
class WorkerRestartIT {
    private static final Path SHM = Path.of("/dev/shm");
    private static final int[] SIZES = {4 << 10, 60 << 10, 300 << 10, 1 << 20};

    private static String[] worker(CrescentProcess master) {
        return new String[] {
            "quarkus.profile=worker",
            "crescent.worker.master-address=localhost:" + master.port(),
            "crescent.worker.segment-size=32M",
            "crescent.worker.heartbeat-interval=300ms"
        };
    }

    private static byte[] value(String key, int size) {
        byte[] bytes = new byte[size];
        new Random(key.hashCode()).nextBytes(bytes);
        return bytes;
    }

    private static ClientOptions client(CrescentProcess master, String name, boolean sharedMemory) {
        return ClientOptions.master("localhost:" + master.port())
                .withNodeName(name)
                .withSharedMemory(sharedMemory)
                .withChecksums(true);
    }

    @Test
    void aKilledWorkerStartedAgainServesItsObjectsAndTheMasterDropsOneChangedMeanwhile() throws Exception {
        // client-ttl well above a JVM's start: the master still holds the segment when the worker is back.
        try (CrescentProcess master =
                CrescentProcess.start("wr-master", "quarkus.profile=master", "crescent.master.client-ttl=60s")) {
            CrescentProcess first = CrescentProcess.start("wr-worker", worker(master));
            await("worker mounted", () -> master.segmentCount() == 1, 30);
            String firstOwner = segments(master).getString("[0].owner");
            List<String> keys = new ArrayList<>();
            try (CrescentClient writer = CrescentClient.connect(client(master, "wr-writer", false));
                    CrescentClient unchecked = CrescentClient.connect(
                            client(master, "wr-unchecked", false).withChecksums(false))) {
                for (int i = 0; i < 16; i++) {
                    String key = "wr/" + i;
                    writer.put(key, value(key, SIZES[i % SIZES.length]));
                    keys.add(key);
                }
                unchecked.put("wr/unchecked", value("wr/unchecked", 100_000));
            }
            String damaged = "wr/2"; // 300 KiB: written by the client itself, not inline
            first.kill();
            Path left = ShmFiles.file(SHM, "wr-worker", first.pid());
            assertTrue(Files.exists(left), "kill -9 leaves the segment file");
            changeOneByte(left, value(damaged, SIZES[2]));

            try (CrescentProcess second = CrescentProcess.start("wr-worker", worker(master))) {
                await("segment taken over", () -> master.log().contains("segment wr-worker taken over by"), 30);
                await(
                        "objects checked",
                        () -> master.log()
                                .contains("segment wr-worker taken over: " + keys.size() + " objects checked"),
                        30);
                assertTrue(
                        second.log().contains("adopts " + ShmFiles.file(SHM, "wr-worker", second.pid())), second.log());
                assertFalse(Files.exists(left), "renamed to the new process's name");
                assertTrue(
                        master.log().contains(keys.size() + " objects checked against their checksums, 1 removed"),
                        master.log());
                JsonPath segments = segments(master);
                assertEquals(1, segments.getList("name").size());
                assertNotEquals(firstOwner, segments.getString("[0].owner"), "the new process owns it");
                assertTrue(segments.getLong("[0].usedBytes") > 0, "with the objects' ranges");

                try (CrescentClient tcp = CrescentClient.connect(client(master, "wr-tcp", false));
                        CrescentClient shm = CrescentClient.connect(client(master, "wr-shm", true))) {
                    for (String key : keys) {
                        if (key.equals(damaged)) {
                            continue;
                        }
                        byte[] expected = value(key, SIZES[keys.indexOf(key) % SIZES.length]);
                        assertArrayEquals(expected, tcp.get(key), key + " over tcp");
                        assertArrayEquals(expected, shm.get(key), key + " over shared memory");
                    }
                    assertArrayEquals(value("wr/unchecked", 100_000), tcp.get("wr/unchecked"));
                    StoreException gone = assertThrows(StoreException.class, () -> tcp.get(damaged));
                    assertEquals(ErrorCode.OBJECT_NOT_FOUND, gone.code(), "never served with other bytes");

                    tcp.remove("wr/0");
                    tcp.put("wr/after", value("wr/after", 500_000));
                    assertArrayEquals(value("wr/after", 500_000), shm.get("wr/after"));
                }
            }
        }
    }

    @Test
    void aWorkerStoppedForARestartHandsItsObjectsToTheNextStart() throws Exception {
        try (CrescentProcess master =
                CrescentProcess.start("wr3-master", "quarkus.profile=master", "crescent.master.client-ttl=60s")) {
            String[] restartable = Arrays.copyOf(worker(master), worker(master).length + 1);
            restartable[restartable.length - 1] = "crescent.worker.stop-keeps-objects=true";
            CrescentProcess first = CrescentProcess.start("wr3-worker", restartable);
            await("worker mounted", () -> master.segmentCount() == 1, 30);
            byte[] kept = value("wr3/kept", 700_000);
            try (CrescentClient client = CrescentClient.connect(client(master, "wr3-client", false))) {
                client.put("wr3/kept", kept);
            }
            assertEquals(0, first.terminate(30), "a clean stop");
            assertTrue(first.log().contains("kept for the next start"), first.log());
            assertTrue(Files.exists(ShmFiles.file(SHM, "wr3-worker", first.pid())));
            assertEquals(1, master.segmentCount(), "not unmounted");

            try (CrescentProcess second = CrescentProcess.start("wr3-worker", restartable);
                    CrescentClient client = CrescentClient.connect(client(master, "wr3-client", false))) {
                await("segment taken over", () -> master.log().contains("segment wr3-worker taken over by"), 30);
                assertArrayEquals(kept, client.get("wr3/kept"));
            }
        }
    }

    @Test
    void aWorkerRestartedAcrossAFailoverIsHandedItsObjectsByTheNewLeader() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start()) {
            String[] masterArgs = {
                "quarkus.profile=master",
                "crescent.cluster=wr4",
                "crescent.metadata.etcd.endpoints=" + etcd.endpoint(),
                "crescent.master.leader-ttl=2s",
                "crescent.master.client-ttl=30s"
            };
            String[] workerArgs = {
                "quarkus.profile=worker",
                "crescent.cluster=wr4",
                "crescent.metadata.etcd.endpoints=" + etcd.endpoint(),
                "crescent.worker.segment-size=32M",
                "crescent.worker.heartbeat-interval=300ms"
            };
            try (CrescentProcess leader = CrescentProcess.start("wr4-master-1", masterArgs);
                    CrescentProcess worker = CrescentProcess.start("wr4-worker", workerArgs)) {
                await("worker mounted at the leader", () -> leader.segmentCount() == 1, 30);
                try (CrescentProcess standby = CrescentProcess.start("wr4-master-2", masterArgs)) {
                    List<String> keys = new ArrayList<>();
                    try (CrescentClient client = CrescentClient.connect(
                            client(leader, "wr4-client", false).withEtcd(List.of(etcd.endpoint()), "wr4"))) {
                        for (int i = 0; i < 8; i++) {
                            keys.add("wr4/" + i);
                            client.put("wr4/" + i, value("wr4/" + i, SIZES[i % SIZES.length]));
                        }
                    }
                    // The worker and the leader die together; the worker comes back while the standby takes over.
                    worker.kill();
                    leader.kill();
                    try (CrescentProcess restarted = CrescentProcess.start("wr4-worker", workerArgs)) {
                        await(
                                "the new leader hands the segment to the restarted worker",
                                () -> standby.log().contains("segment wr4-worker taken over by"),
                                60,
                                standby,
                                restarted);
                        assertTrue(restarted.log().contains("adopts"), restarted.log());
                        try (CrescentClient client = CrescentClient.connect(
                                client(standby, "wr4-reader", false).withEtcd(List.of(etcd.endpoint()), "wr4"))) {
                            for (int i = 0; i < keys.size(); i++) {
                                assertArrayEquals(
                                        value(keys.get(i), SIZES[i % SIZES.length]),
                                        client.get(keys.get(i)),
                                        keys.get(i));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void aStandaloneNodeWithAnOpLogFileKilledAndStartedAgainKeepsItsObjects(@TempDir Path dir) throws Exception {
        Path oplog = dir.resolve("master.oplog");
        String[] node = {"crescent.master.oplog-file=" + oplog, "crescent.worker.segment-size=32M"};
        byte[] kept = value("wr5/kept", 200_000);
        byte[] small = value("wr5/small", 3_000);
        byte[] streamed = value("wr5/streamed", 2 << 20);
        try (CrescentProcess first = CrescentProcess.start("wr5-node", node)) {
            first.put("wr5/kept", kept);
            first.put("wr5/small", small);
            first.put("wr5/removed", value("wr5/removed", 10_000));
            // Streamed into place and committed in its one call: acknowledged means in the op-log file.
            try (CrescentClient client = CrescentClient.connect(ClientOptions.master("localhost:" + first.port())
                    .withNodeName("wr5-client")
                    .withSharedMemory(false))) {
                assertFalse(client.exists("wr5/streamed")); // its first call: the master's announcement is read
                client.put("wr5/streamed", streamed);
            }
            given().baseUri(first.baseUrl())
                    .delete("/v1/objects/wr5/removed")
                    .then()
                    .statusCode(204);
            first.kill();
        }
        try (CrescentProcess second = CrescentProcess.start("wr5-node", node)) {
            assertTrue(second.log().contains("restored 3 objects on 1 segments from the op-log file"), second.log());
            await("its own worker takes the segment over", () -> second.log().contains("taken over by"), 30);
            assertArrayEquals(kept, second.get("wr5/kept"));
            assertArrayEquals(small, second.get("wr5/small"));
            assertArrayEquals(streamed, second.get("wr5/streamed"));
            given().baseUri(second.baseUrl())
                    .get("/v1/objects/wr5/removed")
                    .then()
                    .statusCode(404)
                    .body("code", equalTo(-704));
            second.put("wr5/after", kept);
            assertArrayEquals(kept, second.get("wr5/after"));
        }
    }

    @Test
    void aWorkerBackAfterTheMasterDroppedItsSegmentClearsItAndStartsEmpty() throws Exception {
        try (CrescentProcess master =
                CrescentProcess.start("wr2-master", "quarkus.profile=master", "crescent.master.client-ttl=2s")) {
            CrescentProcess first = CrescentProcess.start("wr2-worker", worker(master));
            await("worker mounted", () -> master.segmentCount() == 1, 30);
            byte[] old = value("wr2/old", 300_000);
            try (CrescentClient client = CrescentClient.connect(client(master, "wr2-client", false))) {
                client.put("wr2/old", old);
            }
            first.kill();
            await("dead worker's segment dropped", () -> master.segmentCount() == 0, 30);

            try (CrescentProcess second = CrescentProcess.start("wr2-worker", worker(master));
                    CrescentClient client = CrescentClient.connect(client(master, "wr2-client", false))) {
                await("mounted again", () -> master.segmentCount() == 1, 30);
                assertTrue(second.log().contains("adopts"), second.log());
                assertTrue(second.log().contains("clearing it to mount it empty"), second.log());
                assertFalse(client.exists("wr2/old"));
                assertEquals(-1, find(ShmFiles.file(SHM, "wr2-worker", second.pid()), old), "no earlier bytes left");
                client.put("wr2/new", value("wr2/new", 200_000));
                assertArrayEquals(value("wr2/new", 200_000), client.get("wr2/new"));
            }
        }
    }

    @Test
    void aWorkerBackAfterClientTtlButWithinTheRestartGraceKeepsItsObjects() throws Exception {
        try (CrescentProcess master = CrescentProcess.start(
                "wr6-master",
                "quarkus.profile=master",
                "crescent.master.client-ttl=2s",
                "crescent.master.restart-grace=2m")) {
            CrescentProcess first = CrescentProcess.start("wr6-worker", worker(master));
            await("worker mounted", () -> master.segmentCount() == 1, 30);
            byte[] old = value("wr6/old", 300_000);
            try (CrescentClient client = CrescentClient.connect(client(master, "wr6-client", false))) {
                client.put("wr6/old", old);
            }
            first.kill();
            await(
                    "the dead worker's segment waits for its restart",
                    () -> master.log().contains("waits PT2M for its owner"),
                    30,
                    master);
            given().baseUri(master.baseUrl()).get("/v1/objects/wr6/old").then().statusCode(404);

            try (CrescentProcess second = CrescentProcess.start("wr6-worker", worker(master));
                    CrescentClient client = CrescentClient.connect(client(master, "wr6-client", false))) {
                await("taken over", () -> master.log().contains("taken over by"), 30, master, second);
                assertFalse(second.log().contains("clearing it"), second.log());
                assertArrayEquals(old, client.get("wr6/old"), "the object outlived a restart slower than client-ttl");
                client.put("wr6/new", value("wr6/new", 200_000));
                assertArrayEquals(value("wr6/new", 200_000), client.get("wr6/new"));
            }
        }
    }

    private static JsonPath segments(CrescentProcess master) {
        return given().baseUri(master.baseUrl())
                .get("/v1/segments")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
    }

    /** Changes the last byte of {@code value} where it lies in the segment file (found by its first bytes). */
    private static void changeOneByte(Path file, byte[] value) throws IOException {
        long at = find(file, value);
        assertTrue(at >= 0, "the object's bytes are in the file");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size(), arena);
            long last = at + value.length - 1;
            mapped.set(ValueLayout.JAVA_BYTE, last, (byte) ~mapped.get(ValueLayout.JAVA_BYTE, last));
        }
    }

    /** Where the first 64 bytes of {@code value} lie in {@code file}, or -1. */
    private static long find(Path file, byte[] value) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
                Arena arena = Arena.ofConfined()) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            MemorySegment head = MemorySegment.ofArray(value).asSlice(0, 64);
            for (long at = 0; at + 64 <= mapped.byteSize(); at += 64) { // ranges are aligned far coarser than 64
                if (mapped.asSlice(at, 64).mismatch(head) == -1) {
                    return at;
                }
            }
            return -1;
        }
    }
}
