package dev.qache.node.ops;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.matchesPattern;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** Health and Prometheus metrics, under the names DESIGN.md promises. */
@QuarkusTest
class OperationsResourceTest {

    @Test
    void liveness_isUp() {
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void readiness_isUpWithStoreFigures() {
        given().get("/q/health/ready")
                .then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.find { it.name == 'store' }.data.memoryLimitBytes", equalTo(1024 * 1024));
    }

    /** A histogram bucket line of timer %1$s: bound %2$s, a label %3$s, a count starting %4$s. */
    private static final String BUCKET = "(?s).*\\n%s_seconds_bucket\\{(?=[^ ]*le=\"%s\")(?=[^ ]*%s)[^ ]*} %s.*";

    @Test
    void metrics_exposeStoreCountersAndRequestTimersPerRoute() {
        given().contentType("application/json")
                .body("{\"value\":1}")
                .post("/metrics-probe")
                .then()
                .statusCode(204);
        given().get("/metrics-probe").then().statusCode(200);
        given().get("/metrics-absent").then().statusCode(404);

        given().get("/q/metrics")
                .then()
                .statusCode(200)
                .body(matchesPattern("(?s).*\\nqache_keys(\\{[^}]*})? [1-9].*"))
                .body(matchesPattern("(?s).*\\nqache_memory_used_bytes(\\{[^}]*})? [1-9].*"))
                .body(matchesPattern("(?s).*\\nqache_memory_limit_bytes(\\{[^}]*})? 1048576\\.0.*"))
                .body(matchesPattern("(?s).*\\nqache_hits_total(\\{[^}]*})? [1-9].*"))
                .body(matchesPattern("(?s).*\\nqache_misses_total(\\{[^}]*})? [1-9].*"))
                .body(containsString("qache_evictions_total"))
                .body(containsString("qache_expirations_total"))
                .body(containsString("http_server_requests_seconds_count{"))
                // Latency histograms: Micrometer's buckets plus the service levels (1 ms here).
                .body(matchesPattern(BUCKET.formatted("http_server_requests", "0\\.001", "uri=\"/\\{key}\"", "")))
                .body(matchesPattern(BUCKET.formatted("http_server_requests", "\\+Inf", "uri=\"/\\{key}\"", "[1-9]")))
                .body(containsString("uri=\"/{key}\""))
                .body(org.hamcrest.Matchers.not(containsString("uri=\"/metrics-probe\"")));
    }
}
