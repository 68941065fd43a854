package dev.qache.node.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.node.cluster.SlotOwnershipTest;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A node learns its slots from a pushed map and answers 421, naming the owner, for the others. */
@QuarkusTest
@TestProfile(ClusterMapResourceTest.WithClusterToken.class)
class ClusterMapResourceTest {

    public static class WithClusterToken implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("qache.cluster.token", "test-cluster-token");
        }
    }

    private static String json(long epoch) throws Exception {
        return new ObjectMapper().writeValueAsString(SlotOwnershipTest.halves(epoch));
    }

    private static io.restassured.response.ValidatableResponse push(String body, String token) {
        return given().header("Authorization", "Bearer " + token)
                // The router hands a map with a write lease to a primary it has just made one.
                .header(
                        "Qache-Lease-Nonce",
                        given().header("Authorization", "Bearer test-cluster-token")
                                .get("/_internal/status")
                                .then()
                                .extract()
                                .jsonPath()
                                .getString("leaseNonce"))
                .header("Qache-Lease-Millis", "600000")
                .header("Qache-Lease-Epoch", "7")
                .header("Qache-Lease-History", "*")
                .contentType("application/json")
                .body(body)
                .put("/_internal/cluster-map?self=a:1")
                .then();
    }

    @Test
    void pushedMap_fencesStaleEpochs_andMisdirectedKeysGet421() throws Exception {
        String mine = SlotOwnershipTest.keyInSlotRange(0, Slots.COUNT / 2 - 1);
        String theirs = SlotOwnershipTest.keyInSlotRange(Slots.COUNT / 2, Slots.COUNT - 1);

        push(json(7), "wrong").statusCode(401).contentType("application/problem+json");
        given().contentType("application/json")
                .body(json(7))
                .put("/_internal/cluster-map?self=a:1")
                .then()
                .statusCode(401);
        push("{\"epoch\":1,\"shards\":[],\"slots\":[{\"from\":5,\"to\":9,\"shard\":\"x\"}]}", "test-cluster-token")
                .statusCode(400);

        push(json(7), "test-cluster-token").statusCode(204);
        push(json(6), "test-cluster-token").statusCode(409).body("type", equalTo("urn:qache:problem:stale-epoch"));

        given().contentType("application/json")
                .body("{\"value\":1}")
                .post("/" + mine)
                .then()
                .statusCode(204);
        given().get("/" + mine).then().statusCode(200);
        given().contentType("application/json")
                .body("{\"value\":1}")
                .post("/" + theirs)
                .then()
                .statusCode(421)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:qache:problem:misdirected"))
                .body("owner", equalTo("b:2"));
        given().get("/" + theirs).then().statusCode(421).body("owner", equalTo("b:2"));
        given().delete("/" + theirs).then().statusCode(421);

        // The same epoch again: accepted while it says the same, refused when it says otherwise.
        push(json(7), "test-cluster-token").statusCode(204);
        String other = json(7).replace("\"b:2\"", "\"c:3\"");
        push(other, "test-cluster-token")
                .statusCode(409)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:qache:problem:map-conflict"));
        given().get("/" + theirs).then().statusCode(421).body("owner", equalTo("b:2"));
        given().header("Authorization", "Bearer test-cluster-token")
                .get("/q/metrics")
                .then()
                .body(org.hamcrest.Matchers.containsString("qache_map_conflicts_total 1.0"));

        // Versions side by side: members this node does not know are ignored, a map without a
        // format (an older router's) is read as today's, and one of a newer format is refused,
        // changing nothing.
        String current = json(7);
        assertThat(current).contains("\"format\":" + MapDocument.FORMAT);
        push(current.replace("{\"format\":", "{\"addedLater\":{\"x\":[1]},\"format\":"), "test-cluster-token")
                .statusCode(204);
        push(current.replace("\"format\":" + MapDocument.FORMAT + ",", ""), "test-cluster-token")
                .statusCode(204);
        push(json(8).replace("\"format\":" + MapDocument.FORMAT, "\"format\":99"), "test-cluster-token")
                .statusCode(409)
                .contentType("application/problem+json")
                .body("type", equalTo("urn:qache:problem:map-format"));

        // What the node holds, for a router that lost its own map.
        given().get("/_internal/cluster-map").then().statusCode(401);
        given().header("Authorization", "Bearer test-cluster-token")
                .get("/_internal/cluster-map")
                .then()
                .statusCode(200)
                .body("epoch", equalTo(7))
                .body("shards[1].primary", equalTo("b:2"))
                .body("slots[1].from", equalTo(Slots.COUNT / 2));
    }
}
