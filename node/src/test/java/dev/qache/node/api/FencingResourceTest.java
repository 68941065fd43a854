package dev.qache.node.api;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.node.cluster.SlotOwnershipTest;
import dev.qache.protocol.Slots;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.time.Duration;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Fencing on the data path (docs/ARCHITECTURE.md, "Fencing"): a primary applies a write only while
 * the write lease the router grants runs, and never under a map older than the request's epoch.
 * Protects against a paused primary that wakes up after it was replaced and acknowledges the
 * writes queued in its sockets, and a node restarted empty that takes writes before the router
 * has decided whether a replica should replace it.
 */
@QuarkusTest
@TestProfile(FencingResourceTest.FreshNode.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FencingResourceTest {

    /** A node of its own: no lease left over from another test's map. */
    public static class FreshNode extends ClusterMapResourceTest.WithClusterToken {
        @Override
        public java.util.Map<String, String> getConfigOverrides() {
            return java.util.Map.of(
                    "qache.cluster.token", "test-cluster-token", "qache.node.sweeper.interval", "101ms");
        }
    }

    private static final String TOKEN = "Bearer test-cluster-token";
    private static final String MINE = SlotOwnershipTest.keyInSlotRange(0, Slots.COUNT / 2 - 1);

    private static RequestSpecification internal() {
        return given().header("Authorization", TOKEN);
    }

    private static void push(long epoch, String... lease) throws Exception {
        RequestSpecification request = internal().contentType("application/json");
        if (lease.length == 3) {
            request = request.header("Qache-Lease-Nonce", nonce())
                    .header("Qache-Lease-Millis", lease[0])
                    .header("Qache-Lease-Epoch", lease[1])
                    .header("Qache-Lease-History", lease[2]);
        }
        request.body(new ObjectMapper().writeValueAsString(SlotOwnershipTest.halves(epoch)))
                .put("/_internal/cluster-map?self=a:1")
                .then()
                .statusCode(204);
    }

    /** The nonce of a fresh status answer, which a grant names. */
    private static String nonce() {
        return internal().get("/_internal/status").then().extract().jsonPath().getString("leaseNonce");
    }

    /** A probe, as the router sends it, granting a lease; returns the node's history. */
    private static String probe(String millis, String epoch, String history) {
        return internal()
                .header("Qache-Lease-Nonce", nonce())
                .header("Qache-Lease-Millis", millis)
                .header("Qache-Lease-Epoch", epoch)
                .header("Qache-Lease-History", history)
                .get("/_internal/status")
                .then()
                .statusCode(200)
                .extract()
                .path("replicationId");
    }

    private static String history() {
        return internal().get("/_internal/status").then().extract().path("replicationId");
    }

    private static int write(String epochHeader) {
        RequestSpecification request = given().contentType("application/json").body("{\"value\":1}");
        if (epochHeader != null) {
            request = request.header("Qache-Epoch", epochHeader);
        }
        return request.post("/" + MINE).then().extract().statusCode();
    }

    /**
     * The status answer is a {@link dev.qache.protocol.NodeStatus} as the router reads it: every
     * member of the record, no other (the nullable ones only when known), and it reads back.
     */
    @Test
    @Order(0)
    void theStatusAnswer_isANodeStatus() throws Exception {
        String body = internal()
                .get("/_internal/status")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        com.fasterxml.jackson.databind.JsonNode json = new ObjectMapper().readTree(body);
        java.util.Set<String> names = new java.util.TreeSet<>();
        json.fieldNames().forEachRemaining(names::add);
        java.util.Set<String> members = new java.util.TreeSet<>();
        for (java.lang.reflect.RecordComponent component : dev.qache.protocol.NodeStatus.class.getRecordComponents()) {
            members.add(component.getName());
        }
        java.util.Set<String> onlyWhenKnown = java.util.Set.of("self", "shard", "primary", "link");

        org.assertj.core.api.Assertions.assertThat(members).containsAll(names);
        org.assertj.core.api.Assertions.assertThat(names)
                .containsAll(members.stream()
                        .filter(member -> !onlyWhenKnown.contains(member))
                        .toList());
        org.assertj.core.api.Assertions.assertThat(new ObjectMapper()
                        .readValue(body, dev.qache.protocol.NodeStatus.class)
                        .role())
                .isEqualTo(json.get("role").asText());
    }

    @Test
    @Order(1)
    void primaryWithoutLease_refusesWritesAndReplicas_servesReads() throws Exception {
        push(20);
        given().contentType("application/json")
                .body("{\"value\":1}")
                .post("/" + MINE)
                .then()
                .statusCode(503)
                .contentType("application/problem+json")
                .header("Qache-Refused", "write-lease-lapsed")
                .header("Retry-After", "1")
                .body("type", equalTo("urn:qache:problem:write-lease-lapsed"));
        given().delete("/" + MINE).then().statusCode(503).header("Qache-Refused", "write-lease-lapsed");
        given().get("/" + MINE).then().statusCode(404);
        internal()
                .header("Qache-Replica", "r:1")
                .header("Qache-Replication-Version", "2")
                .header("Qache-Epoch", "20")
                .header("Qache-Replication-Id", "x")
                .header("Qache-Replication-Offset", "0")
                .get("/_internal/replication")
                .then()
                .statusCode(409)
                .body("type", equalTo("urn:qache:problem:unconfirmed-primary"));
    }

    @Test
    @Order(2)
    void leasesForAnotherEpochOrHistory_grantNothing() {
        String history = history();
        probe("60000", "19", history);
        probe("60000", "21", history);
        probe("60000", "20", "not-" + history);
        internal()
                .header("Qache-Lease-Nonce", "12345")
                .header("Qache-Lease-Millis", "60000")
                .header("Qache-Lease-Epoch", "20")
                .header("Qache-Lease-History", history)
                .get("/_internal/status");
        org.assertj.core.api.Assertions.assertThat(write(null)).isEqualTo(503);
        internal()
                .get("/_internal/status")
                .then()
                .body("leaseRemainingMillis", equalTo(0))
                .body("leaseGranted", equalTo(false));
    }

    @Test
    @Order(3)
    void leaseForThisEpochAndHistory_letsWritesThrough_unlessTheRequestsMapIsNewer() {
        probe("1500", "20", history());
        org.assertj.core.api.Assertions.assertThat(write(null)).isEqualTo(204);
        org.assertj.core.api.Assertions.assertThat(write("20")).isEqualTo(204);
        org.assertj.core.api.Assertions.assertThat(write("19")).isEqualTo(204);
        given().contentType("application/json")
                .header("Qache-Epoch", "21")
                .body("{\"value\":2}")
                .post("/" + MINE)
                .then()
                .statusCode(421)
                .header("Qache-Refused", "stale-map")
                .body("type", equalTo("urn:qache:problem:stale-map"));
        given().header("Qache-Epoch", "21").delete("/" + MINE).then().statusCode(421);
        given().get("/" + MINE).then().statusCode(200).body("value", equalTo(1));
    }

    @Test
    @Order(4)
    void aMapThatKeepsThisNodePrimary_carriesTheLeaseOver() throws Exception {
        push(21);
        org.assertj.core.api.Assertions.assertThat(write("21")).isEqualTo(204);
    }

    @Test
    @Order(5)
    void aLeaseThatIsNotRenewed_lapses() throws Exception {
        push(22);
        await().atMost(Duration.ofSeconds(5)).until(() -> write("22") == 503);
        // Granted at this epoch (carried over), and lapsed.
        internal()
                .get("/_internal/status")
                .then()
                .body("leaseRemainingMillis", equalTo(0))
                .body("leaseGranted", equalTo(true));
    }
}
