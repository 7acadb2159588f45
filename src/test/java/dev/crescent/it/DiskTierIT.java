package dev.crescent.it;

import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.crescent.it.Await.await;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The disk tier between real processes: a master, and a worker contributing 16 MiB of DRAM and a disk tier in a
 * directory on disk. Filling DRAM past its capacity moves the oldest objects to disk (nothing is dropped), reads
 * of them return equal bytes (over TCP from the worker's disk file) and bring them back to DRAM; a disk tier that
 * fills up drops its own oldest objects, and only then are objects lost.
 */
class DiskTierIT {
    private static final int OBJECT = 1 << 20;
    private static final long DRAM = 16 << 20;

    @Test
    void objectsPastDramMoveToDiskAreReadBackEqualAndComeBackToDram() throws Exception {
        Path disk = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "crescent-disk");
        try (CrescentProcess master = CrescentProcess.start("disk-master", "quarkus.profile=master");
                CrescentProcess worker = CrescentProcess.start(
                        "disk-worker",
                        "quarkus.profile=worker",
                        "crescent.worker.master-address=localhost:" + master.port(),
                        "crescent.worker.segment-size=16M",
                        "crescent.worker.disk.path=" + disk,
                        "crescent.worker.disk.capacity=24M")) {
            await("both tiers mounted", () -> master.segmentCount() == 2, 30, master, worker);
            JsonPath segments = given().baseUri(master.baseUrl())
                    .get("/v1/segments")
                    .then()
                    .statusCode(200)
                    .extract()
                    .jsonPath();
            assertEquals(List.of("dram", "disk"), sortedTiers(segments), segments.prettify());
            assertTrue(Files.list(disk).anyMatch(f -> f.getFileName().toString().startsWith("crescent-")));

            // 30 MiB into 16 MiB of DRAM.
            List<byte[]> values = new ArrayList<>();
            putPaced(master, values, 30);
            JsonPath stats = stats(master);
            assertEquals(0, stats.getLong("evictedObjects"), "nothing dropped while the disk tier had room");
            assertEquals(30, stats.getLong("objectCount"));
            assertTrue(stats.getLong("offloadedObjects") >= 14, stats.prettify());
            assertEquals("disk-worker-disk", segmentOf(master, "disk/k0"));
            for (int i = 0; i < 30; i++) {
                assertArrayEquals(values.get(i), master.get("disk/k" + i), "disk/k" + i);
            }

            // Read, the oldest came back to DRAM (the tier keeps room under the watermark for it).
            await("disk/k0 back in DRAM", () -> segmentOf(master, "disk/k0").equals("disk-worker"), 30);
            assertArrayEquals(values.getFirst(), master.get("disk/k0"));
            assertTrue(stats(master).getLong("promotedObjects") >= 1);

            // Past both tiers: the disk tier drops its least recently used objects to take new ones.
            putPaced(master, values, 50);
            stats = stats(master);
            assertTrue(stats.getLong("evictedObjects") > 0, stats.prettify());
            assertTrue(stats.getLong("diskUsedBytes") <= 24 << 20);
            for (int i = 40; i < 50; i++) {
                assertArrayEquals(values.get(i), master.get("disk/k" + i), "the newest are all there");
            }
            int kept = 0;
            for (int i = 0; i < 50; i++) {
                int status = given().baseUri(master.baseUrl())
                        .get("/v1/objects/disk/k" + i)
                        .then()
                        .extract()
                        .statusCode();
                if (status == 200) {
                    kept++;
                }
            }
            assertTrue(kept >= 36, "both tiers' worth kept (16 + 24 MiB, less headroom): " + kept);
        }
    }

    /**
     * Puts {@code disk/k<n>} for the next values up to {@code until}, each 1 MiB of random bytes, at the pace of a
     * writer that waits for DRAM to be back under its watermark after each put (the tier moves objects on a thread
     * of its own; a put that found DRAM full would drop one).
     */
    private static void putPaced(CrescentProcess master, List<byte[]> values, int until) throws InterruptedException {
        for (int i = values.size(); i < until; i++) {
            byte[] value = new byte[OBJECT];
            new Random(i).nextBytes(value);
            values.add(value);
            master.put("disk/k" + i, value);
            await("DRAM back under its watermark", () -> stats(master).getLong("usedBytes") <= DRAM * 0.9, 30);
        }
    }

    private static List<String> sortedTiers(JsonPath segments) {
        List<String> tiers = new ArrayList<>(segments.getList("tier", String.class));
        tiers.sort((a, b) -> a.equals("dram") ? -1 : b.equals("dram") ? 1 : a.compareTo(b));
        return tiers;
    }

    private static JsonPath stats(CrescentProcess master) {
        return master.cluster().setRootPath("stats");
    }

    private static String segmentOf(CrescentProcess master, String key) {
        return given().baseUri(master.baseUrl())
                .get("/v1/keys/" + key)
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getString("replicas[0].segment");
    }
}
