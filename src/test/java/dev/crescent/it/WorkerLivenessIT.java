package dev.crescent.it;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.crescent.it.Await.await;
import static dev.crescent.it.Await.signal;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Worker liveness between real processes: a frozen worker (SIGSTOP) is declared dead after client-ttl and its
 * segment unmounted; thawed (SIGCONT), it is told NEED_REMOUNT and mounts again; a killed one just disappears.
 */
class WorkerLivenessIT {

    @Test
    void aSilentWorkerIsUnmountedAndRemountsWhenItComesBack() throws Exception {
        try (CrescentProcess master =
                CrescentProcess.start("live-master", "quarkus.profile=master", "crescent.master.client-ttl=2s")) {
            try (CrescentProcess worker = CrescentProcess.start(
                    "live-worker",
                    "quarkus.profile=worker",
                    "crescent.worker.master-address=localhost:" + master.port(),
                    "crescent.worker.segment-size=16M",
                    "crescent.worker.heartbeat-interval=300ms")) {
                String m = master.baseUrl();
                await("worker mounted", () -> master.segmentCount() == 1, 30);
                byte[] value = new byte[100_000];
                new Random(7).nextBytes(value);
                given().baseUri(m)
                        .contentType("application/octet-stream")
                        .body(value)
                        .put("/v1/objects/live/k")
                        .then()
                        .statusCode(201);

                signal("STOP", worker.pid());
                long frozen = System.nanoTime();
                await("frozen worker declared dead", () -> master.segmentCount() == 0, 15);
                long declaredMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozen);
                assertTrue(declaredMillis >= 1500, "not before client-ttl: " + declaredMillis + " ms");
                given().baseUri(m).get("/v1/workers").then().body("size()", equalTo(0));
                given().baseUri(m)
                        .get("/v1/objects/live/k")
                        .then()
                        .statusCode(404)
                        .body("code", equalTo(-704));

                signal("CONT", worker.pid());
                await("thawed worker remounted", () -> master.segmentCount() == 1, 15);
                assertTrue(worker.log().contains("master asked to remount"), worker.log());
                given().baseUri(m)
                        .contentType("application/octet-stream")
                        .body(value)
                        .put("/v1/objects/live/k2")
                        .then()
                        .statusCode(201);
                assertArrayEquals(
                        value,
                        given().baseUri(m)
                                .get("/v1/objects/live/k2")
                                .then()
                                .statusCode(200)
                                .extract()
                                .asByteArray());

                worker.kill();
                await("killed worker unmounted", () -> master.segmentCount() == 0, 15);
                given().baseUri(m)
                        .contentType("application/octet-stream")
                        .body(value)
                        .put("/v1/objects/live/k3")
                        .then()
                        .statusCode(507)
                        .body("code", equalTo(-200));
            }
            assertEquals(0, master.terminate(10));
        }
    }
}
