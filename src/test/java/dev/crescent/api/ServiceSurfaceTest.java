package dev.crescent.api;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

/** Health, metrics and the API description of a standalone node. */
@QuarkusTest
class ServiceSurfaceTest {

    @Test
    void readyOnceTheStandaloneWorkerMountedItsSegment() {
        given().get("/q/health/ready")
                .then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItem("crescent"))
                .body("checks.find { it.name == 'crescent' }.data.role", equalTo("standalone"))
                .body("checks.find { it.name == 'crescent' }.data.segmentMounted", equalTo(true));
    }

    @Test
    void metricsExposeObjectsBytesAndOperationCounters() {
        given().contentType("application/octet-stream")
                .body(new byte[100])
                .put("/v1/objects/metrics-probe")
                .then()
                .statusCode(201);
        given().get("/v1/objects/metrics-probe-missing").then().statusCode(404);
        given().get("/q/metrics")
                .then()
                .statusCode(200)
                .body(containsString("crescent_master_objects "))
                .body(containsString("crescent_master_capacity_bytes 1.6777216E7"))
                .body(containsString("crescent_master_used_bytes"))
                .body(containsString("crescent_requests_total{api=\"rest\",op=\"put\",outcome=\"OK\"}"))
                .body(containsString("crescent_requests_total{api=\"rest\",op=\"get\",outcome=\"OBJECT_NOT_FOUND\"}"));
    }

    @Test
    void openApiDocumentDescribesTheObjectApi() {
        given().get("/openapi.yaml")
                .then()
                .statusCode(200)
                .body(containsString("openapi: 3.0.3"))
                .body(containsString("/v1/objects/{key}:"))
                .body(containsString("NO_AVAILABLE_HANDLE"));
    }
}
