package dev.crescent.it;

import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.ObjectServiceGrpc;
import dev.crescent.protocol.proto.ServiceReadyResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.restassured.RestAssured;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packaged service as users run it: real processes, real sockets, real signals. Runs against the jar, and in the
 * native profile against the native executable.
 */
class PackagedJarIT {

    @Test
    void standaloneJarStoresAndServesObjectsOverHttp() throws Exception {
        try (CrescentProcess node = CrescentProcess.start("it-standalone")) {
            RestAssured.baseURI = node.baseUrl();
            byte[] value = new byte[2 << 20];
            new Random(1).nextBytes(value);
            given().contentType("application/octet-stream")
                    .body(value)
                    .put("/v1/objects/it/key")
                    .then()
                    .statusCode(201);
            assertArrayEquals(
                    value,
                    given().get("/v1/objects/it/key")
                            .then()
                            .statusCode(200)
                            .extract()
                            .asByteArray());
            given().get("/v1/objects/it/missing").then().statusCode(404).body("code", equalTo(-704));
            given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
            // gRPC on the same port: the object just stored over REST, read through the streaming gateway.
            ManagedChannel channel = ManagedChannelBuilder.forAddress("localhost", node.port())
                    .usePlaintext()
                    .maxInboundMessageSize(8 << 20)
                    .build();
            try {
                ServiceReadyResponse ready = MasterServiceGrpc.newBlockingStub(channel)
                        .serviceReady(dev.crescent.protocol.proto.Empty.getDefaultInstance());
                assertEquals("standalone", ready.getRole());
                ByteArrayOutputStream streamed = new ByteArrayOutputStream();
                ObjectServiceGrpc.newBlockingStub(channel)
                        .get(KeyRequest.newBuilder().setKey("it/key").build())
                        .forEachRemaining(
                                chunk -> streamed.writeBytes(chunk.getData().toByteArray()));
                assertArrayEquals(value, streamed.toByteArray());
            } finally {
                channel.shutdownNow();
            }
            assertEquals(0, node.terminate(10), "SIGTERM exits 0 within 10 s");
        }
    }

    @Test
    void sigtermLetsAnInFlightRequestFinishThenExitsZero() throws Exception {
        try (CrescentProcess node = CrescentProcess.start("it-drain")) {
            byte[] value = new byte[1 << 20];
            new Random(2).nextBytes(value);
            HttpURLConnection put = (HttpURLConnection)
                    URI.create(node.baseUrl() + "/v1/objects/in-flight").toURL().openConnection();
            put.setRequestMethod("PUT");
            put.setDoOutput(true);
            put.setFixedLengthStreamingMode(value.length);
            put.setRequestProperty("Content-Type", "application/octet-stream");
            OutputStream body = put.getOutputStream();
            body.write(value, 0, value.length / 2);
            body.flush();
            // Let the server take the request in (headers parsed, body streaming) before the signal.
            TimeUnit.MILLISECONDS.sleep(500);
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> {
                try {
                    return node.terminate(10);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            TimeUnit.MILLISECONDS.sleep(500);
            body.write(value, value.length / 2, value.length - value.length / 2);
            body.close();
            assertEquals(201, put.getResponseCode(), "the request that was in flight at SIGTERM completed");
            assertEquals(0, exit.get(15, TimeUnit.SECONDS));
            assertTrue(node.log().contains("SIGTERM received"), node.log());
        }
    }

    @Test
    void workerProcessMountsItsSegmentAtAMasterProcessAndUnmountsOnStop() throws Exception {
        try (CrescentProcess master = CrescentProcess.start("it-master", "quarkus.profile=master")) {
            try (CrescentProcess worker = CrescentProcess.start(
                    "it-worker",
                    "quarkus.profile=worker",
                    "crescent.worker.master-address=localhost:" + master.port(),
                    "crescent.worker.segment-size=32M")) {
                awaitReady(worker.baseUrl());
                given().baseUri(master.baseUrl())
                        .get("/q/metrics")
                        .then()
                        .body(containsString("crescent_master_segments 1.0"))
                        .body(containsString("crescent_master_capacity_bytes 3.3554432E7"));
                given().baseUri(worker.baseUrl())
                        .get("/q/health/ready")
                        .then()
                        .body("checks.find { it.name == 'crescent' }.data.role", equalTo("worker"));
                assertEquals(0, worker.terminate(10));
            }
            given().baseUri(master.baseUrl())
                    .get("/q/metrics")
                    .then()
                    .body(containsString("crescent_master_segments 0.0"));
            assertEquals(0, master.terminate(10));
        }
    }

    @Test
    void objectBytesMoveBetweenProcessesOverShmOnTheSameHostAndOverTcpOtherwise() throws Exception {
        for (String transport : new String[] {"shm", "tcp"}) {
            try (CrescentProcess master = CrescentProcess.start(
                    "it-master-" + transport,
                    "quarkus.profile=master",
                    "crescent.transfer.shm.enabled=" + transport.equals("shm"))) {
                try (CrescentProcess worker = CrescentProcess.start(
                        "it-worker-" + transport,
                        "quarkus.profile=worker",
                        "crescent.worker.master-address=localhost:" + master.port(),
                        "crescent.worker.segment-size=32M")) {
                    awaitReady(worker.baseUrl());
                    // The master holds no memory: its gateway writes into and reads from the worker process.
                    byte[] value = new byte[3 << 20];
                    new Random(3).nextBytes(value);
                    given().baseUri(master.baseUrl())
                            .contentType("application/octet-stream")
                            .body(value)
                            .put("/v1/objects/cross/" + transport)
                            .then()
                            .statusCode(201);
                    assertArrayEquals(
                            value,
                            given().baseUri(master.baseUrl())
                                    .get("/v1/objects/cross/" + transport)
                                    .then()
                                    .statusCode(200)
                                    .extract()
                                    .asByteArray());
                    given().baseUri(master.baseUrl())
                            .get("/q/metrics")
                            .then()
                            .body(containsString("crescent_transfer_bytes_total{op=\"write\",transport=\"" + transport
                                    + "\"} 3145728.0"))
                            .body(containsString("crescent_transfer_bytes_total{op=\"read\",transport=\"" + transport
                                    + "\"} 3145728.0"));
                    assertEquals(0, worker.terminate(10));
                }
                assertEquals(0, master.terminate(10));
            }
        }
    }

    private static void awaitReady(String baseUrl) throws InterruptedException {
        Await.await(
                baseUrl + " ready",
                () -> given().baseUri(baseUrl).get("/q/health/ready").statusCode() == 200,
                30);
    }
}
