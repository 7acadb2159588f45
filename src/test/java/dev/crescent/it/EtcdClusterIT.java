package dev.crescent.it;

import dev.crescent.meta.EtcdProcess;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.crescent.it.Await.await;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Master and worker processes sharing a real etcd: lease-bound records that vanish with a killed worker. */
class EtcdClusterIT {

    @Test
    void workersPublishLeaseBoundRecordsInEtcdThatVanishWhenTheyDie() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
                EtcdMetadataStore view = new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(5))) {
            String metadata = "crescent.metadata.etcd.endpoints=" + etcd.endpoint();
            try (CrescentProcess master =
                    CrescentProcess.start("etcd-master", "quarkus.profile=master", metadata, "crescent.cluster=it")) {
                try (CrescentProcess worker = CrescentProcess.start(
                        "etcd-worker",
                        "quarkus.profile=worker",
                        metadata,
                        "crescent.cluster=it",
                        "crescent.worker.master-address=localhost:" + master.port(),
                        "crescent.worker.segment-size=16M",
                        "crescent.worker.lease-ttl=2s")) {
                    await(() -> view.getPrefix("/crescent/it/segments/").size() == 1, 30);
                    List<KeyValue> workers = view.getPrefix("/crescent/it/workers/");
                    assertEquals(1, workers.size());
                    assertTrue(new String(workers.getFirst().value()).contains("\"node\":\"etcd-worker\""));
                    assertEquals(
                            workers.getFirst().leaseId(),
                            view.getPrefix("/crescent/it/segments/").getFirst().leaseId(),
                            "one lease for both");

                    byte[] value = new byte[1 << 20];
                    new Random(9).nextBytes(value);
                    await(
                            () -> given().baseUri(worker.baseUrl())
                                            .get("/q/health/ready")
                                            .statusCode()
                                    == 200,
                            30);
                    given().baseUri(master.baseUrl())
                            .contentType("application/octet-stream")
                            .body(value)
                            .put("/v1/objects/etcd/k")
                            .then()
                            .statusCode(201);
                    assertArrayEquals(
                            value,
                            given().baseUri(master.baseUrl())
                                    .get("/v1/objects/etcd/k")
                                    .then()
                                    .statusCode(200)
                                    .extract()
                                    .asByteArray());

                    worker.kill();
                    long killed = System.nanoTime();
                    await(
                            () -> view.getPrefix("/crescent/it/").stream()
                                    .noneMatch(kv -> kv.key().contains("/segments/")
                                            || kv.key().contains("/workers/")),
                            15);
                    assertTrue(
                            System.nanoTime() - killed < TimeUnit.SECONDS.toNanos(10),
                            "gone with the lease, not much after its 2 s TTL");
                }
                assertEquals(0, master.terminate(10));
            }
        }
    }
}
