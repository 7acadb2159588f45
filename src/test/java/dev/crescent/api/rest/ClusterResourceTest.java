package dev.crescent.api.rest;

import dev.crescent.master.Master;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.lessThan;

/** Admin views of the standalone master, and object options (pins, preferred segments) through REST. */
@QuarkusTest
class ClusterResourceTest {
    private static final String OCTETS = "application/octet-stream";

    /** The service's master: a test takes a read lease on it, as a reader with a transfer in flight holds one. */
    @Inject
    Master master;

    @Test
    void clusterSummaryShowsRoleFiguresAndChosenStrategies() {
        given().contentType(OCTETS)
                .body(new byte[1000])
                .put("/v1/objects/admin/summary")
                .then()
                .statusCode(201);
        given().get("/v1/cluster")
                .then()
                .statusCode(200)
                .body("role", equalTo("standalone"))
                .body("stats.objectCount", greaterThanOrEqualTo(1))
                .body("stats.segmentCount", greaterThanOrEqualTo(1))
                .body("stats.capacityBytes", greaterThanOrEqualTo(16 << 20))
                .body("stats.clientCount", greaterThanOrEqualTo(1))
                .body("placement", equalTo("random"))
                .body("eviction", equalTo("lru"))
                .body("accessControl", equalTo(false));
    }

    @Test
    void segmentsAndWorkersShowUsageAndHeartbeats() {
        given().contentType(OCTETS)
                .body(new byte[4096])
                .put("/v1/objects/admin/usage")
                .then()
                .statusCode(201);
        // The standalone worker's segment is the one with a real transfer endpoint (tests may mount others).
        String worker = "find { it.endpoint.contains('tcp=') }";
        String segment = given().get("/v1/segments")
                .then()
                .statusCode(200)
                .body(worker + ".capacityBytes", equalTo(16 << 20))
                .body(worker + ".usedBytes", greaterThanOrEqualTo(4096))
                .body(worker + ".largestFreeBytes", greaterThan(0))
                .body(worker + ".fragmentation", greaterThanOrEqualTo(0f))
                .extract()
                .path(worker + ".name");
        given().get("/v1/workers")
                .then()
                .statusCode(200)
                .body("find { it.segments.contains('" + segment + "') }.silentMillis", lessThan(5000));
    }

    @Test
    void keysAreListedByPrefixAndLookedUpWithoutALease() {
        for (String key : new String[] {"listing/b", "listing/a", "listing/c", "other/x"}) {
            given().contentType(OCTETS)
                    .body(new byte[10])
                    .put("/v1/objects/" + key)
                    .then()
                    .statusCode(201);
        }
        given().queryParam("prefix", "listing/")
                .get("/v1/keys")
                .then()
                .statusCode(200)
                .body("keys", equalTo(java.util.List.of("listing/a", "listing/b", "listing/c")))
                .body("truncated", equalTo(false));
        given().queryParam("prefix", "listing/")
                .queryParam("limit", 2)
                .get("/v1/keys")
                .then()
                .body("keys", hasSize(2))
                .body("truncated", equalTo(true));
        given().queryParam("limit", 0).get("/v1/keys").then().statusCode(400).body("code", equalTo(-600));
        given().get("/v1/keys/listing/a")
                .then()
                .statusCode(200)
                .body("size", equalTo(10))
                .body("state", equalTo("COMPLETE"))
                .body("replicas", hasSize(1))
                .body("leaseDeadlineMillis", equalTo(0))
                .body("hardPin", equalTo(false));
        given().get("/v1/keys/listing/none").then().statusCode(404).body("code", equalTo(-704));
    }

    @Test
    void pinsAndPreferredSegmentsAreTakenFromThePut() {
        String segment =
                given().get("/v1/segments").then().extract().path("find { it.endpoint.contains('tcp=') }.name");
        given().contentType(OCTETS)
                .body(new byte[64])
                .queryParam("pin", "hard")
                .queryParam("preferred", segment)
                .put("/v1/objects/admin/pinned")
                .then()
                .statusCode(201);
        given().get("/v1/keys/admin/pinned")
                .then()
                .body("hardPin", equalTo(true))
                .body("replicas[0].segment", equalTo(segment));
        given().contentType(OCTETS)
                .body(new byte[64])
                .queryParam("pin", "soft")
                .put("/v1/objects/admin/soft")
                .then()
                .statusCode(201);
        given().get("/v1/keys/admin/soft").then().body("softPinDeadlineMillis", greaterThan(0L));
        given().contentType(OCTETS)
                .body(new byte[64])
                .queryParam("pin", "forever")
                .put("/v1/objects/admin/bad")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
    }

    @Test
    void masterMetricsCountRequestsFailuresAndLeaseBlocks() {
        given().contentType(OCTETS)
                .body(new byte[10])
                .put("/v1/objects/admin/metric")
                .then()
                .statusCode(201);
        given().get("/v1/objects/admin/metric").then().statusCode(200);
        master.getReplicaList("admin/metric"); // a reader in the middle of its transfer
        given().queryParam("force", false)
                .delete("/v1/objects/admin/metric")
                .then()
                .statusCode(409);
        given().get("/q/metrics")
                .then()
                .statusCode(200)
                .body(containsString("crescent_master_requests_total{op=\"put_start\"}"))
                .body(containsString("crescent_master_failures_total{op=\"remove\"}"))
                .body(containsString("crescent_master_lease_blocks "))
                .body(containsString("crescent_master_clients "));
    }
}
