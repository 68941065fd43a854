package dev.qache.router.proxy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code qache.data.tokens} on the router: data calls need one; the refused ones never reach a node. */
@QuarkusTest
@QuarkusTestResource(FakeNodes.class)
@TestProfile(ProxyAuthorizationResourceTest.DataTokens.class)
class ProxyAuthorizationResourceTest {

    public static class DataTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("qache.data.tokens", "d-new,d-old");
        }
    }

    private static RequestSpecification as(String authorization) {
        RequestSpecification spec = given();
        return authorization == null ? spec : spec.header("Authorization", authorization);
    }

    @ParameterizedTest(name = "[{index}] Authorization: {0}")
    @NullSource
    @ValueSource(strings = {"Bearer d-older", "Bearer test-admin-token", "Basic d-new", "Bearer"})
    void dataCalls_withoutADataToken_are401_andReachNoNode(String authorization) {
        FakeNodes.SEEN.clear();

        as(authorization)
                .contentType("application/json")
                .body("{\"value\":1}")
                .post("/k")
                .then()
                .statusCode(401)
                .contentType("application/problem+json")
                .header("WWW-Authenticate", startsWith("Bearer"))
                .body("type", equalTo("urn:qache:problem:unauthorized"));
        as(authorization).get("/k").then().statusCode(401);
        as(authorization).delete("/k").then().statusCode(401);

        assertThat(FakeNodes.SEEN).isEmpty();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"Bearer d-new", "Bearer d-old"})
    void dataCalls_withEitherDataToken_areForwardedWithTheClusterToken(String authorization) {
        FakeNodes.SEEN.clear();

        as(authorization).get("/k").then().statusCode(200);
        as(authorization)
                .contentType("application/json")
                .body("{\"value\":1}")
                .post("/k")
                .then()
                .statusCode(204);

        assertThat(FakeNodes.SEEN)
                .hasSize(2)
                .extracting(FakeNodes.Seen::authorization)
                .containsOnly("Bearer test-cluster-token");
    }

    @Test
    void healthAndMetrics_stayOpen() {
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }
}
