package dev.crescent.it;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.crescent.it.Await.await;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The transfer server when the process cannot start another thread (hardening D9): the server runs in a pids cgroup
 * whose limit is set just above what it uses, then more connections arrive than threads can be made for. Thread
 * starts fail; the accept loop must survive them, and once the connections close the server must serve again.
 * Before the fix the accept thread died for good while readiness stayed UP. Skipped where no pids cgroup (v1) can be
 * made (not root, or another cgroup layout).
 */
class ThreadExhaustionIT {
    private static final Path PIDS = Path.of("/sys/fs/cgroup/pids");
    private static final Pattern TCP = Pattern.compile("tcp=([^,]+):(\\d+)");

    @Test
    void theTransferServerSurvivesFailedThreadStartsAndServesAgain() throws Exception {
        Path group = PIDS.resolve("crescent-it-" + ProcessHandle.current().pid());
        assumeTrue(Files.isWritable(PIDS), "needs a writable pids cgroup (v1) at " + PIDS);
        try (CrescentProcess server = CrescentProcess.start(
                "exhausted", "crescent.worker.segment-size=64M", "crescent.transfer.tcp.max-connections=100000")) {
            await(() -> server.segmentCount() == 1, 30);
            Matcher tcp = TCP.matcher(given().baseUri(server.baseUrl())
                    .get("/v1/segments")
                    .then()
                    .statusCode(200)
                    .extract()
                    .jsonPath()
                    .getString("[0].endpoint"));
            assertTrue(tcp.find(), "the segment publishes a tcp endpoint");
            String host = tcp.group(1);
            int port = Integer.parseInt(tcp.group(2));
            List<Socket> flood = new ArrayList<>();
            Files.createDirectory(group);
            try {
                Files.writeString(group.resolve("cgroup.procs"), Long.toString(server.pid()));
                long current = Long.parseLong(
                        Files.readString(group.resolve("pids.current")).strip());
                Files.writeString(group.resolve("pids.max"), Long.toString(current + 8));
                for (int i = 0; i < 64; i++) { // far more connections than threads can be started for
                    flood.add(new Socket(host, port));
                }
                await("thread starts failed", () -> server.log().contains("transfer connection dropped"), 20);
            } finally {
                for (Socket socket : flood) {
                    socket.close();
                }
                Files.writeString(group.resolve("pids.max"), "max");
                Files.writeString(PIDS.resolve("cgroup.procs"), Long.toString(server.pid()));
                await("the test's cgroup removed", () -> removed(group), 20);
            }
            // Threads are available again: the same server serves a transfer from a new client.
            try (CrescentClient client = CrescentClient.connect(ClientOptions.master("localhost:" + server.port())
                    .withNodeName("after-exhaustion")
                    .withSharedMemory(false))) {
                byte[] value = new byte[200_000];
                new Random(9).nextBytes(value);
                await(() -> put(client, "exhausted/after", value), 20);
                assertArrayEquals(value, client.get("exhausted/after"));
            }
        }
    }

    /**
     * The kernel does not move a thread that is exiting, so threads ending as the flood closes can keep the group
     * busy for a moment after the process has moved back; they leave it when their exit completes.
     */
    private static boolean removed(Path group) {
        try {
            Files.delete(group);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean put(CrescentClient client, String key, byte[] value) {
        try {
            client.upsert(key, value);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
