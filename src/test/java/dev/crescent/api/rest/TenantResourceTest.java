package dev.crescent.api.rest;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tenant quotas through the admin API, enforced on REST puts, shown in /v1/cluster and the metrics. */
@QuarkusTest
class TenantResourceTest {
    private static final String OCTETS = "application/octet-stream";

    private static int putPinned(String key) {
        return given().contentType(OCTETS)
                .body(new byte[1000])
                .queryParam("pin", "hard")
                .put("/v1/objects/" + key)
                .then()
                .extract()
                .statusCode();
    }

    @Test
    void aQuotaSetAtRunTimeRefusesPutsPastItWithQuotaExceededUntilItIsLifted() throws Exception {
        given().contentType("application/json")
                .body(Map.of("prefix", "qt/", "quotaBytes", 3000))
                .put("/v1/tenants/qt")
                .then()
                .statusCode(204);
        for (int i = 0; i < 3; i++) {
            assertTrue(putPinned("qt/" + i) == 201);
        }
        given().contentType(OCTETS)
                .body(new byte[1000])
                .put("/v1/objects/qt/3")
                .then()
                .statusCode(507)
                .body("code", equalTo(-201))
                .body("error", equalTo("QUOTA_EXCEEDED"));
        given().get("/v1/tenants")
                .then()
                .statusCode(200)
                .body("find { it.name == 'qt' }.usedBytes", equalTo(3000))
                .body("find { it.name == 'qt' }.reservedBytes", equalTo(3000))
                .body("find { it.name == 'qt' }.refusedPuts", equalTo(1));
        given().get("/v1/cluster")
                .then()
                .body("tenants.find { it.name == 'qt' }.usedBytes", equalTo(3000))
                .body("tenants.find { it.name == 'qt' }.quotaBytes", equalTo(3000));
        long deadline = System.currentTimeMillis() + 5_000;
        String metrics = "";
        while (System.currentTimeMillis() < deadline
                && !metrics.contains("crescent_tenant_used_bytes{tenant=\"qt\"} 3000")) {
            Thread.sleep(200);
            metrics = given().get("/q/metrics").then().extract().asString();
        }
        assertTrue(metrics.contains("crescent_tenant_used_bytes{tenant=\"qt\"} 3000"), "per-tenant gauges");
        given().get("/q/metrics").then().body(containsString("crescent_tenant_quota_bytes{tenant=\"qt\"} 3000"));

        given().delete("/v1/tenants/qt").then().statusCode(204);
        assertTrue(putPinned("qt/3") == 201, "no tenant, no quota");
        given().delete("/v1/tenants/qt").then().statusCode(404).body("code", equalTo(-704));
        for (int i = 0; i < 4; i++) {
            given().delete("/v1/objects/qt/" + i).then().statusCode(204);
        }
    }

    @Test
    void badQuotasAreRefusedWithInvalidParams() {
        given().contentType("application/json")
                .body(Map.of("prefix", "x/"))
                .put("/v1/tenants/noquota")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().contentType("application/json")
                .body(Map.of("prefix", "x/", "quotaBytes", 10, "reservedBytes", 11))
                .put("/v1/tenants/toomuch")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().contentType("application/json")
                .body(Map.of("quotaBytes", 10))
                .put("/v1/tenants/noprefix")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().contentType("application/json")
                .body(Map.of("prefix", "x/", "quotaBytes", 10))
                .put("/v1/tenants/bad name!")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
    }
}
