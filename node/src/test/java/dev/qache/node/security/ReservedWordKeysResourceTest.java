package dev.qache.node.security;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DESIGN.md: every single-segment path is a key. The first segments of the internal, batch, admin,
 * health and benchmark routes are keys like any other (issue 13: {@code POST /_internal} was 401).
 */
@QuarkusTest
class ReservedWordKeysResourceTest {

    @ParameterizedTest
    @ValueSource(strings = {"_internal", "_batch", "admin", "q", "_bench", "%5Finternal"})
    void firstSegmentOfAnotherRoute_isAKey(String key) {
        String value = "{\"value\":\"" + key + "\"}";
        given().contentType("application/json")
                .body(value)
                .post("/" + key)
                .then()
                .statusCode(204);
        given().get("/" + key).then().statusCode(200).body("value", equalTo(key));
        given().delete("/" + key).then().statusCode(204);
        given().get("/" + key).then().statusCode(404);
    }
}
