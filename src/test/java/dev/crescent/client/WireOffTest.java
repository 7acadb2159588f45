package dev.crescent.client;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.time.Duration;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A master that does not offer the wire protocol (as an older one would not): clients fall back to gRPC. */
@QuarkusTest
@TestProfile(WireOffTest.WireOff.class)
class WireOffTest {
    @TestHTTPResource("/")
    URL service;

    public static class WireOff implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("crescent.master.wire", "false");
        }
    }

    @Test
    void clientsFallBackToGrpc() {
        given().get("/v1/master-wire").then().statusCode(404);
        String address = service.getHost() + ":" + service.getPort();
        try (RemoteMasterClient master =
                new RemoteMasterClient(() -> address, "n", Duration.ofSeconds(5), Duration.ofSeconds(5), true)) {
            master.putStart("w", "off/a", 10, 1, false);
            master.putEnd("w", "off/a");
            assertTrue(master.exist("off/a"));
            assertFalse(master.usesWire(), "no announced wire port: the client moved to gRPC");
        }
    }
}
