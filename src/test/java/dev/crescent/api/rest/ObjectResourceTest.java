package dev.crescent.api.rest;

import dev.crescent.master.Master;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every REST object path and every error it can answer, against the running standalone service. */
@QuarkusTest
class ObjectResourceTest {
    private static final String OCTETS = "application/octet-stream";

    /** The service's master: a test takes a read lease on it, as a reader with a transfer in flight holds one. */
    @Inject
    Master master;

    @TestHTTPResource("/")
    URL service;

    @Test
    void putThenGetReturnsTheSameBytes() {
        byte[] value = randomBytes(300_000, 1);
        given().contentType(OCTETS)
                .body(value)
                .put("/v1/objects/model/layer-0/block-17")
                .then()
                .statusCode(201);
        byte[] read = given().get("/v1/objects/model/layer-0/block-17")
                .then()
                .statusCode(200)
                .contentType(OCTETS)
                .extract()
                .asByteArray();
        assertArrayEquals(value, read);
    }

    @Test
    void keysWithCharactersAUriMayNotHoldAreStoredAndAnsweredWith201() {
        // D17 of the hardening issue: these were stored, then answered 500 while building the Location header.
        for (String key : new String[] {"odd/a b", "odd/100%", "odd/quote\"", "odd/{brace}", "odd/pipe|x"}) {
            String path = "/v1/objects/"
                    + java.net.URLEncoder.encode(key, java.nio.charset.StandardCharsets.UTF_8)
                            .replace("+", "%20")
                            .replace("%2F", "/");
            byte[] value = randomBytes(100, key.length());
            given().urlEncodingEnabled(false)
                    .contentType(OCTETS)
                    .body(value)
                    .put(path)
                    .then()
                    .statusCode(201);
            assertArrayEquals(
                    value,
                    given().urlEncodingEnabled(false)
                            .get(path)
                            .then()
                            .statusCode(200)
                            .extract()
                            .asByteArray(),
                    key);
        }
    }

    @Test
    void aPutAnnouncingMoreThanAGatewayTakesIsRefusedBeforeItsBodyIsSent() throws Exception {
        // D13 of the hardening issue: bodies were buffered whole before any check (test limit: 64 MiB).
        try (Socket socket = new Socket(service.getHost(), service.getPort())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream()
                    .write(putHeaders("big/announced", 128L << 20).getBytes(StandardCharsets.US_ASCII));
            String answer = readAnswer(socket);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("\"code\":-600") && answer.contains("max-object-size"), answer);
        }
    }

    @Test
    void stalledBodiesHoldNoThreadThatOtherCallsNeed() throws Exception {
        // D12 of the hardening issue: each stalled body held a worker thread until none was left for anyone.
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 250; i++) {
                Socket socket = new Socket(service.getHost(), service.getPort());
                socket.getOutputStream()
                        .write((putHeaders("stalled/" + i, 1000) + "only-part").getBytes(StandardCharsets.US_ASCII));
                stalled.add(socket);
            }
            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(3))
                    .build();
            HttpResponse<String> answer = http.send(
                    HttpRequest.newBuilder(service.toURI().resolve("/v1/objects/stalled/absent"))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(404, answer.statusCode(), answer.body());
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    @Test
    void keysThatWouldAliasAnotherKeyAreRefused() throws Exception {
        // D18, D19 of the hardening issue: bytes that are not UTF-8 decoded to U+FFFD, and dot segments were
        // normalised away, so distinct request paths stored one key.
        for (String rawPath : new String[] {
            "/v1/objects/alias/%FF", "/v1/objects/alias/x/../y", "/v1/objects/alias/%2e%2e/y", "/v1/objects/alias/./y"
        }) {
            try (Socket socket = new Socket(service.getHost(), service.getPort())) {
                socket.setSoTimeout(5_000);
                socket.getOutputStream()
                        .write(("PUT " + rawPath + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                                        + "application/octet-stream\r\nContent-Length: 3\r\n\r\nabc")
                                .getBytes(StandardCharsets.US_ASCII));
                String answer = readAnswer(socket);
                assertTrue(
                        answer.startsWith("HTTP/1.1 400") && answer.contains("\"code\":-400"), rawPath + ": " + answer);
            }
        }
        given().get("/v1/objects/alias/y").then().statusCode(404);
        given().get("/v1/objects/y").then().statusCode(404);
    }

    @Test
    void queryParametersThatAreNotWhatTheyTakeAreRefusedByName() {
        // D20 of the hardening issue: ?replicas=abc answered 404 and ?upsert=maybe read as false.
        for (String query : new String[] {"replicas=abc", "upsert=maybe"}) {
            given().contentType(OCTETS)
                    .body(new byte[] {1})
                    .put("/v1/objects/params/x?" + query)
                    .then()
                    .statusCode(400)
                    .body("code", equalTo(-600))
                    .body("message", containsString(query.substring(0, query.indexOf('='))));
        }
        given().delete("/v1/objects/params/x?force=sometimes")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
        given().get("/v1/objects/params/x").then().statusCode(404);
    }

    /** Status line, headers and body of one HTTP/1.1 answer with a Content-Length. */
    private static String readAnswer(Socket socket) throws Exception {
        var in = new java.io.DataInputStream(socket.getInputStream());
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            head.append((char) in.readUnsignedByte());
        }
        var length =
                java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        byte[] body = new byte[length.find() ? Integer.parseInt(length.group(1)) : 0];
        in.readFully(body);
        return head + new String(body, StandardCharsets.UTF_8);
    }

    private static String putHeaders(String key, long contentLength) {
        return "PUT /v1/objects/" + key + " HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/octet-stream\r\nContent-Length: " + contentLength + "\r\n\r\n";
    }

    @Test
    void headAnswersTheSizeAndDeleteRemoves() {
        given().contentType(OCTETS)
                .body(randomBytes(1234, 2))
                .put("/v1/objects/head-me")
                .then()
                .statusCode(201);
        given().head("/v1/objects/head-me").then().statusCode(200).header("Content-Length", "1234");
        given().delete("/v1/objects/head-me").then().statusCode(204);
        given().head("/v1/objects/head-me").then().statusCode(404);
        given().get("/v1/objects/head-me").then().statusCode(404).body("code", equalTo(-704));
    }

    @Test
    void secondPutOfAKeyConflictsAndKeepsTheFirstValue() {
        byte[] first = randomBytes(100, 3);
        given().contentType(OCTETS)
                .body(first)
                .put("/v1/objects/first-wins")
                .then()
                .statusCode(201);
        given().contentType(OCTETS)
                .body(randomBytes(100, 4))
                .put("/v1/objects/first-wins")
                .then()
                .statusCode(409)
                .body("code", equalTo(-705))
                .body("error", equalTo("OBJECT_ALREADY_EXISTS"));
        assertArrayEquals(
                first, given().get("/v1/objects/first-wins").then().extract().asByteArray());
    }

    @Test
    void upsertOverwritesInPlaceAndWithANewSize() {
        given().contentType(OCTETS)
                .body(randomBytes(500, 5))
                .put("/v1/objects/up")
                .then()
                .statusCode(201);
        byte[] same = randomBytes(500, 6);
        given().contentType(OCTETS)
                .body(same)
                .queryParam("upsert", true)
                .put("/v1/objects/up")
                .then()
                .statusCode(201);
        assertArrayEquals(same, given().get("/v1/objects/up").then().extract().asByteArray());
        byte[] bigger = randomBytes(5000, 7);
        given().contentType(OCTETS)
                .body(bigger)
                .queryParam("upsert", true)
                .put("/v1/objects/up")
                .then()
                .statusCode(201);
        assertArrayEquals(bigger, given().get("/v1/objects/up").then().extract().asByteArray());
    }

    @Test
    void missingObjectsAnswer404WithTheStableCode() {
        given().get("/v1/objects/never-stored")
                .then()
                .statusCode(404)
                .contentType("application/json")
                .body("code", equalTo(-704))
                .body("error", equalTo("OBJECT_NOT_FOUND"))
                .body("message", containsString("never-stored"));
        given().head("/v1/objects/never-stored").then().statusCode(404);
        given().delete("/v1/objects/never-stored").then().statusCode(404).body("code", equalTo(-704));
    }

    @Test
    void invalidKeysAnswer400WithInvalidKey() {
        String tooLong = "k".repeat(1025);
        given().contentType(OCTETS)
                .body(new byte[] {1})
                .put("/v1/objects/" + tooLong)
                .then()
                .statusCode(400)
                .body("code", equalTo(-400))
                .body("error", equalTo("INVALID_KEY"));
        given().contentType(OCTETS)
                .body(new byte[] {1})
                .urlEncodingEnabled(false)
                .put("/v1/objects/bad%01key")
                .then()
                .statusCode(400)
                .body("code", equalTo(-400));
        given().urlEncodingEnabled(false)
                .get("/v1/objects/tab%09key")
                .then()
                .statusCode(400)
                .body("code", equalTo(-400));
        given().contentType(OCTETS)
                .body(new byte[] {1})
                .put("/v1/objects/")
                .then()
                .statusCode(400)
                .body("code", equalTo(-400));
        given().get("/v1/objects/").then().statusCode(400).body("code", equalTo(-400));
        given().delete("/v1/objects/").then().statusCode(400).body("code", equalTo(-400));
        given().head("/v1/objects/").then().statusCode(400);
        given().head("/v1/objects/" + tooLong).then().statusCode(400);
        given().delete("/v1/objects/" + tooLong).then().statusCode(400).body("code", equalTo(-400));
        given().get("/v1/objects/" + tooLong).then().statusCode(400).body("code", equalTo(-400));
    }

    @Test
    void emptyBodyIsInvalidParams() {
        given().contentType(OCTETS)
                .body(new byte[0])
                .put("/v1/objects/empty-body")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600))
                .body("error", equalTo("INVALID_PARAMS"));
        given().get("/v1/objects/empty-body").then().statusCode(404);
    }

    @Test
    void putLargerThanFreeSpaceIs507AndTheStoreStaysUsable() {
        byte[] kept = randomBytes(4096, 8);
        given().contentType(OCTETS)
                .body(kept)
                .put("/v1/objects/kept-through-507")
                .then()
                .statusCode(201);
        // The test profile's segment is 16 MiB.
        given().contentType(OCTETS)
                .body(new byte[17 << 20])
                .put("/v1/objects/too-big")
                .then()
                .statusCode(507)
                .body("code", equalTo(-200))
                .body("error", equalTo("NO_AVAILABLE_HANDLE"));
        given().get("/v1/objects/too-big").then().statusCode(404);
        assertArrayEquals(
                kept,
                given().get("/v1/objects/kept-through-507")
                        .then()
                        .statusCode(200)
                        .extract()
                        .asByteArray());
        given().contentType(OCTETS)
                .body(randomBytes(1 << 20, 9))
                .put("/v1/objects/after-507")
                .then()
                .statusCode(201);
    }

    @Test
    void deleteWithoutForceRefusesALeasedObject() {
        given().contentType(OCTETS)
                .body(randomBytes(64, 10))
                .put("/v1/objects/leased")
                .then()
                .statusCode(201);
        given().get("/v1/objects/leased").then().statusCode(200);
        given().queryParam("force", false)
                .delete("/v1/objects/leased")
                .then()
                .statusCode(204); // the GET was over: it handed its lease back
        given().contentType(OCTETS)
                .body(randomBytes(64, 10))
                .put("/v1/objects/leased")
                .then()
                .statusCode(201);
        master.getReplicaList("leased"); // a reader in the middle of its transfer
        given().queryParam("force", false)
                .delete("/v1/objects/leased")
                .then()
                .statusCode(409)
                .body("code", equalTo(-706))
                .body("error", equalTo("OBJECT_HAS_LEASE"));
        given().get("/v1/objects/leased").then().statusCode(200);
        given().delete("/v1/objects/leased").then().statusCode(204);
    }

    @Test
    void unknownRoutesStillAnswerJson() {
        given().get("/v1/nothing-here")
                .then()
                .statusCode(404)
                .contentType("application/json")
                .body("error", equalTo("INVALID_PARAMS"));
    }

    static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
