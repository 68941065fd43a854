package dev.qache.node.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node's replication history across leaving and rejoining the map. Out of the map a node drops
 * its slots outside the stream, so what it holds is no longer the state of its history: it must
 * not continue that history as a primary later (a node that had been its replica and became the
 * primary of the same history meanwhile would hand replicas streams that do not fit), nor offer it
 * as a replica (a partial sync would leave it without the dropped keys).
 */
@QuarkusTest
@TestProfile(HistoryAcrossMembershipResourceTest.OwnNode.class)
class HistoryAcrossMembershipResourceTest {

    /** A node of its own: its map epochs start from nothing. */
    public static class OwnNode extends ClusterMapResourceTest.WithClusterToken {
        @Override
        public java.util.Map<String, String> getConfigOverrides() {
            return java.util.Map.of(
                    "qache.cluster.token", "test-cluster-token", "qache.node.sweeper.interval", "103ms");
        }
    }

    private static final String SELF = "a:1";

    private static void push(long epoch, String primaryOfS1, List<String> replicasOfS1) throws Exception {
        MapDocument map = new MapDocument(
                epoch,
                List.of(
                        new MapDocument.ShardEntry("s1", primaryOfS1, replicasOfS1),
                        new MapDocument.ShardEntry("s2", "b:2", List.of())),
                List.of(
                        new MapDocument.SlotRange(0, Slots.COUNT / 2 - 1, "s1"),
                        new MapDocument.SlotRange(Slots.COUNT / 2, Slots.COUNT - 1, "s2")));
        given().header("Authorization", "Bearer test-cluster-token")
                .contentType("application/json")
                .body(new ObjectMapper().writeValueAsString(map))
                .put("/_internal/cluster-map?self=" + SELF)
                .then()
                .statusCode(204);
    }

    private static JsonPath status() {
        return given().header("Authorization", "Bearer test-cluster-token")
                .get("/_internal/status")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
    }

    @Test
    void aNodeThatLeftTheMap_continuesNoHistoryItHadBefore() throws Exception {
        push(1, SELF, List.of("r:1"));
        String asPrimary = status().getString("replicationId");

        push(2, "r:1", List.of());
        JsonPath out = status();
        assertThat(out.getString("role")).isEqualTo("none");
        assertThat(out.getString("replicationId")).as("out of the map").isNotEqualTo(asPrimary);
        assertThat(out.getString("previousId")).isNotEqualTo(asPrimary);

        push(3, SELF, List.of("r:1"));
        JsonPath again = status();
        assertThat(again.getString("role")).isEqualTo("primary");
        assertThat(again.getString("replicationId"))
                .as("primary again: a history of its own")
                .isNotIn(asPrimary, out.getString("replicationId"));
        assertThat(again.getString("previousId"))
                .as("nobody can continue the history it had before it left")
                .isNotEqualTo(asPrimary);
    }
}
