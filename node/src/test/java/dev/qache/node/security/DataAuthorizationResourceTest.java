package dev.qache.node.security;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code qache.data.tokens} set: every data call needs one of them or a cluster token; health stays open. */
@QuarkusTest
@TestProfile(DataAuthorizationResourceTest.DataTokens.class)
class DataAuthorizationResourceTest {

    public static class DataTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("qache.data.tokens", "d-new,d-old", "qache.cluster.token", "c-1");
        }
    }

    private static RequestSpecification as(String authorization) {
        RequestSpecification spec = given();
        return authorization == null ? spec : spec.header("Authorization", authorization);
    }

    @ParameterizedTest(name = "[{index}] Authorization: {0}")
    @NullSource
    @ValueSource(strings = {"Bearer d-older", "Bearer D-NEW", "Basic d-new", "Bearer", "d-new"})
    void dataCalls_withoutAValidToken_are401_andChangeNothing(String authorization) {
        as("Bearer d-new")
                .contentType("application/json")
                .body("{\"value\":1}")
                .post("/kept")
                .then()
                .statusCode(204);

        as(authorization)
                .contentType("application/json")
                .body("{\"value\":2}")
                .post("/kept")
                .then()
                .statusCode(401)
                .contentType("application/problem+json")
                .header("WWW-Authenticate", startsWith("Bearer"))
                .body("type", equalTo("urn:qache:problem:unauthorized"));
        as(authorization).delete("/kept").then().statusCode(401);
        as(authorization).get("/kept").then().statusCode(401).contentType("application/problem+json");

        as("Bearer d-old").get("/kept").then().statusCode(200).body("value", equalTo(1));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"Bearer d-new", "Bearer d-old", "Bearer c-1", "bearer d-new"})
    void dataCalls_withADataOrClusterToken_work(String authorization) {
        String key = "k-" + authorization.hashCode();
        as(authorization)
                .contentType("application/json")
                .body("{\"value\":\"v\"}")
                .post("/" + key)
                .then()
                .statusCode(204);
        as(authorization).get("/" + key).then().statusCode(200).body("value", equalTo("v"));
        as(authorization).delete("/" + key).then().statusCode(204);
    }

    @Test
    void healthAndMetrics_stayOpen() {
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }
}
