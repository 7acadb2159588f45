package dev.crescent.boot;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The service under the {@code dev} profile (what {@code ./mvnw quarkus:dev} runs): a standalone node whose gateway
 * moves bytes over the TCP transport to its own transfer server, as a cluster's separate worker would be reached,
 * never by an in-memory copy or a shared-memory mapping. Counted by the transfer metrics, per transport.
 */
@QuarkusTest
@TestProfile(DevModeTransportTest.DevProfile.class)
class DevModeTransportTest {
    public static class DevProfile implements QuarkusTestProfile {
        @Override
        public String getConfigProfile() {
            return "dev";
        }
    }

    @Test
    void theGatewaysTransfersGoOverTcp() {
        byte[] value = new byte[256 << 10];
        Arrays.fill(value, (byte) 0x5a);
        double tcpBefore = transfers("tcp");
        given().contentType("application/octet-stream")
                .body(value)
                .put("/v1/objects/dev/tcp")
                .then()
                .statusCode(201);
        byte[] back = given().get("/v1/objects/dev/tcp")
                .then()
                .statusCode(200)
                .extract()
                .asByteArray();
        assertArrayEquals(value, back);
        assertTrue(transfers("tcp") >= tcpBefore + 2, "the put and the get each moved their bytes over tcp");
        assertEquals(0, transfers("local"), "no in-memory copy");
        assertEquals(0, transfers("shm"), "no shared-memory mapping");
    }

    /** Completed transfers of the gateway's engine over {@code transport}, reads and writes. */
    private static double transfers(String transport) {
        return given().get("/q/metrics")
                .asString()
                .lines()
                .filter(line -> line.startsWith("crescent_transfer_requests_total{")
                        && line.contains("transport=\"" + transport + "\"")
                        && line.contains("status=\"COMPLETED\""))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }
}
