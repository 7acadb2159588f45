package dev.crescent.client;

import dev.crescent.protocol.KeyResult;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /** Bytes that go beside the message on the wire are merged into it for gRPC. */
    @Test
    void smallPutsCarryTheirBytesOverGrpcToo() {
        byte[] one = CrescentClientTest.bytes(3000, 1);
        byte[] two = CrescentClientTest.bytes(500, 2);
        try (CrescentClient client = CrescentClient.connect(service.getHost() + ":" + service.getPort())) {
            client.put("off/inline", one);
            List<KeyResult<Void>> put = client.batchPutFrom(
                    List.of("off/b1", "off/b2"), List.of(MemorySegment.ofArray(one), MemorySegment.ofArray(two)));
            assertTrue(put.stream().allMatch(KeyResult::ok), put.toString());
            assertArrayEquals(one, client.get("off/inline"));
            assertArrayEquals(one, client.get("off/b1"));
            assertArrayEquals(two, client.get("off/b2"));
        }
    }
}
