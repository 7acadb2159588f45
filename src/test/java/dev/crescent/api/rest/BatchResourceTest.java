package dev.crescent.api.rest;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.util.Base64;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

/** The REST batch endpoints: one result per key, in order, and one bad key never fails the others. */
@QuarkusTest
class BatchResourceTest {
    private static final Base64.Encoder BASE64 = Base64.getEncoder();

    @Test
    void putExistsGetRemoveManyKeysInOneCall() {
        given().contentType("application/octet-stream")
                .body(new byte[] {9})
                .put("/v1/objects/rb/taken")
                .then()
                .statusCode(201);
        given().contentType("application/json")
                .body(Map.of(
                        "objects",
                        List.of(
                                Map.of("key", "rb/a", "value", BASE64.encodeToString("alpha".getBytes())),
                                Map.of("key", "rb/taken", "value", BASE64.encodeToString("beta".getBytes())),
                                Map.of("key", "rb/empty", "value", ""))))
                .post("/v1/batch/put")
                .then()
                .statusCode(200)
                .body("results.key", contains("rb/a", "rb/taken", "rb/empty"))
                .body("results.code", contains(0, -705, -600))
                .body("results[1].error", equalTo("OBJECT_ALREADY_EXISTS"));

        given().contentType("application/json")
                .body(Map.of("keys", List.of("rb/a", "rb/none", "rb/taken")))
                .post("/v1/batch/exists")
                .then()
                .statusCode(200)
                .body("results.exists", contains(true, false, true));

        given().contentType("application/json")
                .body(Map.of("keys", List.of("rb/taken", "rb/none", "rb/a")))
                .post("/v1/batch/get")
                .then()
                .statusCode(200)
                .body("results.code", contains(0, -704, 0))
                .body("results[0].value", equalTo(BASE64.encodeToString(new byte[] {9})))
                .body("results[1].value", nullValue())
                .body("results[2].value", equalTo(BASE64.encodeToString("alpha".getBytes())));

        given().contentType("application/json")
                .body(Map.of("keys", List.of("rb/a", "rb/none")))
                .post("/v1/batch/remove")
                .then()
                .statusCode(200)
                .body("results.code", contains(0, -704));
        given().head("/v1/objects/rb/a").then().statusCode(404);
    }

    @Test
    void aCallWithoutKeysOrWithAKeyTwiceIsRefusedAsAWhole() {
        given().contentType("application/json")
                .body(Map.of("keys", List.of()))
                .post("/v1/batch/exists")
                .then()
                .statusCode(400)
                .body("error", equalTo("INVALID_PARAMS"));
        given().contentType("application/json")
                .body(Map.of("keys", List.of("rb/x", "rb/x")))
                .post("/v1/batch/get")
                .then()
                .statusCode(400)
                .body("code", equalTo(-600));
    }

    @Test
    void aMalformedBatchIsRefusedWholeAndABadValueFailsOnlyItsKey() {
        // D20 of the hardening issue: a null object answered 500, and one bad base64 value failed the whole batch.
        given().contentType("application/json")
                .body("{\"objects\":[null]}")
                .post("/v1/batch/put")
                .then()
                .statusCode(400)
                .body("code", org.hamcrest.Matchers.equalTo(-600));
        given().contentType("application/json")
                .body("{\"objects\":[{\"key\":\"b64/good\",\"value\":\"AQID\"},"
                        + "{\"key\":\"b64/bad\",\"value\":\"not base64!\"}]}")
                .post("/v1/batch/put")
                .then()
                .statusCode(200)
                .body("results[0].code", org.hamcrest.Matchers.equalTo(0))
                .body("results[1].code", org.hamcrest.Matchers.equalTo(-600));
        given().get("/v1/objects/b64/good").then().statusCode(200);
        given().get("/v1/objects/b64/bad").then().statusCode(404);
    }
}
