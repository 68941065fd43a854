package dev.qache.node.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A value under the size limit that still cannot fit in the node's whole memory gets 507. */
@QuarkusTest
@TestProfile(InsufficientStorageResourceTest.TinyMemory.class)
class InsufficientStorageResourceTest {

    public static class TinyMemory implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("qache.node.memory-limit", "2K", "qache.node.max-value-size", "4K");
        }
    }

    @Test
    void post_valueLargerThanMemoryLimit_is507AndEvictsNothing() {
        given().contentType("application/json")
                .body("{\"value\":\"small\"}")
                .post("/kept")
                .then()
                .statusCode(204);
        String big = "\"" + "x".repeat(3_000) + "\"";

        given().contentType("application/json")
                .body("{\"value\":" + big + "}")
                .post("/big")
                .then()
                .statusCode(507)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:qache:problem:insufficient-storage"));

        given().get("/kept").then().statusCode(200).body("value", equalTo("small"));
        given().get("/big").then().statusCode(404);
    }
}
