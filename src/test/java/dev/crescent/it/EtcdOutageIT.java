package dev.crescent.it;

import dev.crescent.meta.EtcdProcess;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.crescent.it.Await.await;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * etcd goes away under a leading master: reads go on from memory while its leadership is still certain, writes
 * that cannot be made durable are refused with METADATA_ERROR, then the master suspends itself (NOT_LEADER); when
 * etcd is back, the same master resumes by itself and accepts writes again.
 */
class EtcdOutageIT {

    @Test
    void theLeaderRefusesWritesDuringAnOutageAndRecoversByItself() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start()) {
            String metadata = "crescent.metadata.etcd.endpoints=" + etcd.endpoint();
            // client-ttl shorter than the outage: the worker's heartbeats are refused while the leader is suspended,
            // and that silence must not cost the worker its segment (nor the master the objects on it).
            try (CrescentProcess master = CrescentProcess.start(
                    "outage-master",
                    "quarkus.profile=master",
                    metadata,
                    "crescent.metadata.etcd.timeout=1s",
                    "crescent.master.leader-ttl=6s",
                    "crescent.master.client-ttl=3s")) {
                try (CrescentProcess worker = CrescentProcess.start(
                        "outage-worker",
                        "quarkus.profile=worker",
                        metadata,
                        "crescent.metadata.etcd.timeout=1s",
                        "crescent.worker.segment-size=16M")) {
                    String m = master.baseUrl();
                    await(() -> master.segmentCount() == 1, 30);
                    byte[] value = new byte[100_000];
                    new Random(5).nextBytes(value);
                    given().baseUri(m)
                            .contentType("application/octet-stream")
                            .body(value)
                            .put("/v1/objects/o/kept")
                            .then()
                            .statusCode(201);

                    etcd.stop();
                    assertArrayEquals(
                            value,
                            given().baseUri(m)
                                    .get("/v1/objects/o/kept")
                                    .then()
                                    .statusCode(200)
                                    .extract()
                                    .asByteArray(),
                            "reads go on from memory");
                    given().baseUri(m)
                            .contentType("application/octet-stream")
                            .body(value)
                            .put("/v1/objects/o/during")
                            .then()
                            .statusCode(503)
                            .body("code", equalTo(-1000));
                    await(() -> given().baseUri(m).get("/v1/objects/o/kept").statusCode() == 503, 15);
                    given().baseUri(m).get("/v1/objects/o/kept").then().body("code", equalTo(-1010));

                    etcd.startAgain();
                    // The master resumes once its lease is confirmed; the worker kept its segment through the outage,
                    // so the object written before it is still there.
                    try {
                        await(
                                "master serving again after etcd returned",
                                () -> given().baseUri(m)
                                                .get("/v1/objects/o/kept")
                                                .statusCode()
                                        == 200,
                                90);
                    } catch (AssertionError e) {
                        throw new AssertionError(e.getMessage() + "\nmaster log:\n" + master.log(), e);
                    }
                    await(
                            () -> given().baseUri(m)
                                            .contentType("application/octet-stream")
                                            .body(value)
                                            .put("/v1/objects/o/after")
                                            .statusCode()
                                    == 201,
                            30);
                    assertArrayEquals(
                            value,
                            given().baseUri(m)
                                    .get("/v1/objects/o/after")
                                    .then()
                                    .statusCode(200)
                                    .extract()
                                    .asByteArray());
                    assertEquals(0, worker.terminate(10));
                }
                assertEquals(0, master.terminate(10), "the same master process recovered; it never exited");
            }
        }
    }
}
