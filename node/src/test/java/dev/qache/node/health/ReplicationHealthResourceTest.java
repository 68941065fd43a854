package dev.qache.node.health;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The replication health group is down while a replica has no complete copy streaming from its
 * primary; readiness stays up then (a deployment that replaces unready tasks must not kill a
 * replica in its full sync) and says the role and the link.
 */
@QuarkusTest
@TestProfile(ReplicationHealthResourceTest.OwnNode.class)
class ReplicationHealthResourceTest {

    /** A node of its own: the map pushed here makes it a replica. */
    public static class OwnNode implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("qache.cluster.token", "test-cluster-token");
        }
    }

    @Test
    void aReplicaWithoutItsPrimary_isDownInTheGroup_andStillReady() throws Exception {
        given().get("/q/health/group/replication")
                .then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.find { it.name == 'replication' }.data.role", equalTo("none"));

        // A replica of a primary nothing listens for: its link never gets past connecting.
        MapDocument map = new MapDocument(
                1,
                List.of(new MapDocument.ShardEntry("s1", "127.0.0.1:1", List.of("self:1"))),
                List.of(new MapDocument.SlotRange(0, Slots.COUNT - 1, "s1")));
        given().header("Authorization", "Bearer test-cluster-token")
                .contentType("application/json")
                .body(new ObjectMapper().writeValueAsString(map))
                .put("/_internal/cluster-map?self=self:1")
                .then()
                .statusCode(204);

        given().get("/q/health/group/replication")
                .then()
                .statusCode(503)
                .body("status", equalTo("DOWN"))
                .body("checks.find { it.name == 'replication' }.data.role", equalTo("replica"))
                .body("checks.find { it.name == 'replication' }.data.link", not(equalTo("streaming")));
        given().get("/q/health/ready")
                .then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.find { it.name == 'store' }.data.role", equalTo("replica"));
    }
}
