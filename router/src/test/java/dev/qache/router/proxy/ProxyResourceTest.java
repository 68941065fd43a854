package dev.qache.router.proxy;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import dev.qache.router.cluster.ClusterState;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The router forwards each call to the primary that owns the key and relays the answer unchanged. */
@QuarkusTest
@QuarkusTestResource(FakeNodes.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProxyResourceTest {

    @Inject
    ClusterState cluster;

    private String ownerOf(String key) {
        return cluster.current()
                .shardFor(key.getBytes(StandardCharsets.UTF_8))
                .orElseThrow()
                .id();
    }

    /** A key owned by the given shard. */
    private String keyOn(String shard) {
        for (int i = 0; ; i++) {
            if (ownerOf("k" + i).equals(shard)) {
                return "k" + i;
            }
        }
    }

    /** DESIGN.md: every single-segment path is a key, the first segments of other routes too. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"_internal", "_batch", "admin", "q", "_bench"})
    @Order(0)
    void firstSegmentOfAnotherRoute_isAKey_andIsForwarded(String key) {
        FakeNodes.SEEN.clear();
        given().contentType("application/json")
                .body("{\"value\":1}")
                .post("/" + key)
                .then()
                .statusCode(204);
        given().get("/" + key).then().statusCode(200).body("node", equalTo(ownerOf(key)));
        given().delete("/" + key).then().statusCode(404).body("from", equalTo(ownerOf(key)));

        assertThat(FakeNodes.SEEN).extracting(FakeNodes.Seen::uri).containsOnly("/" + key);
        // Forwarded calls carry the router's cluster token, so nodes with data tokens take them.
        assertThat(FakeNodes.SEEN).extracting(FakeNodes.Seen::authorization).containsOnly("Bearer test-cluster-token");
    }

    @Test
    @Order(1)
    void get_goesToTheOwningPrimary_andRelaysItsAnswer() {
        for (int i = 0; i < 20; i++) {
            String key = "user:" + i;
            given().urlEncodingEnabled(false)
                    .get("/" + key)
                    .then()
                    .statusCode(200)
                    .contentType("application/json")
                    .body("node", equalTo(ownerOf(key)))
                    .body("uri", equalTo("/" + key));
        }
    }

    @Test
    @Order(1)
    void everyCall_carriesARequestId_toTheNodeAndBackToTheClient() {
        FakeNodes.SEEN.clear();
        String made = given().get("/rid-1").then().statusCode(200).extract().header("X-Request-Id");
        assertThat(made).as("an id the router made").isNotBlank();
        given().header("X-Request-Id", "client-7:a.b_c")
                .get("/rid-2")
                .then()
                .statusCode(200)
                .header("X-Request-Id", "client-7:a.b_c");
        String replaced = given().header("X-Request-Id", "has spaces, and commas")
                .get("/rid-3")
                .then()
                .extract()
                .header("X-Request-Id");
        assertThat(replaced).as("an unusable id is replaced").isNotEqualTo("has spaces, and commas");
        assertThat(FakeNodes.SEEN.stream().map(FakeNodes.Seen::requestId))
                .as("the node got the same ids")
                .contains(made, "client-7:a.b_c", replaced);
        assertThat(given().get("/rid-4").then().extract().header("X-Request-Id"))
                .as("each request its own")
                .isNotEqualTo(made);
    }

    @Test
    @Order(2)
    void post_forwardsBodyAndContentType_andRelays204() {
        FakeNodes.SEEN.clear();
        String key = keyOn("b");

        given().contentType("application/json")
                .body("{\"value\": [1, 2]}")
                .post("/" + key)
                .then()
                .statusCode(204);

        assertThat(FakeNodes.SEEN).singleElement().satisfies(seen -> {
            assertThat(seen.node()).isEqualTo("b");
            assertThat(seen.method()).isEqualTo("POST");
            assertThat(seen.contentType()).isEqualTo("application/json");
            assertThat(seen.body()).isEqualTo("{\"value\": [1, 2]}");
        });
    }

    @Test
    @Order(3)
    void errors_fromTheNode_passThroughUnchanged() {
        given().delete("/" + keyOn("a"))
                .then()
                .statusCode(404)
                .contentType("application/problem+json")
                .body("from", equalTo("a"));
    }

    @Test
    @Order(4)
    void percentEncodedKey_isForwardedAsSent_andRoutedByItsDecodedBytes() {
        given().urlEncodingEnabled(false)
                .get("/a%2Fb")
                .then()
                .statusCode(200)
                .body("uri", equalTo("/a%2Fb"))
                .body("node", equalTo(ownerOf("a/b")));
    }

    @Test
    @Order(5)
    void badKey_isRefusedByTheRouterItself() {
        FakeNodes.SEEN.clear();
        given().get("/" + "k".repeat(251)).then().statusCode(400).contentType("application/problem+json");
        assertThat(FakeNodes.SEEN).isEmpty();
    }

    @Test
    @Order(10)
    void deadPrimary_gets503WithRetryAfterQuickly_andOtherShardsKeepServing() throws Exception {
        FakeNodes.stop("a");

        long start = System.nanoTime();
        given().get("/" + keyOn("a"))
                .then()
                .statusCode(503)
                .header("Retry-After", "1")
                .contentType("application/problem+json")
                .body("type", equalTo("urn:qache:problem:shard-unavailable"));
        assertThat((System.nanoTime() - start) / 1_000_000)
                .as("ms, within the timeouts")
                .isLessThan(1_500);

        given().contentType("application/json")
                .body("{\"value\":1}")
                .post("/" + keyOn("a"))
                .then()
                .statusCode(503);
        given().get("/" + keyOn("b")).then().statusCode(200).body("node", equalTo("b"));
    }

    @Test
    @Order(11)
    void deadPrimary_afterRepeatedFailures_opensItsCircuit_andFailsFast() {
        // Node "a" is down since the previous test; ten failed calls fill the breaker's window.
        for (int i = 0; i < 10; i++) {
            given().get("/" + keyOn("a")).then().statusCode(503);
        }

        given().get("/" + keyOn("a"))
                .then()
                .statusCode(503)
                .header("Retry-After", "1")
                .body("detail", org.hamcrest.Matchers.containsString("circuit"));
        given().get("/" + keyOn("b")).then().statusCode(200);
        given().get("/q/metrics")
                .then()
                // Reads and writes of "a" have circuits of their own; both are open now (the
                // previous test's write was sent again, refused each time, until its timeout).
                .body(org.hamcrest.Matchers.containsString("qache_router_open_circuits 2.0"))
                .body(org.hamcrest.Matchers.containsString("outcome=\"circuit-open\""))
                // The forward timer's latency histogram, per shard and outcome.
                .body(
                        org.hamcrest.Matchers.matchesPattern(
                                "(?s).*\\nqache_router_forward_seconds_bucket\\{(?=[^}]*le=\"\\+Inf\")(?=[^}]*outcome=\"answered\")[^}]*} [1-9].*"))
                .body(org.hamcrest.Matchers.containsString("le=\"5.0E-4\""));
    }
}
