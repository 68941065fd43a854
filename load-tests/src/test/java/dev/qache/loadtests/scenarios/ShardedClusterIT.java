package dev.qache.loadtests.scenarios;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.protocol.Slots;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * A router and three nodes as real processes: keys spread over the shards land where the cluster
 * map says (and the other nodes, which got the map pushed, answer 421 naming the owner), a router
 * restart keeps the map, and a node killed with SIGKILL takes only its own shard down, quickly.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(180)
class ShardedClusterIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static LocalCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = new LocalCluster().start(3);
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static JsonNode clusterView() throws Exception {
        HttpResponse<String> response = cluster.admin("/admin/cluster");
        assertThat(response.statusCode()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    /** Slot owner by slot, from the router's own view of the map. */
    private static String[] owners(JsonNode view) {
        String[] owners = new String[Slots.COUNT];
        for (JsonNode range : view.get("slots")) {
            for (int s = range.get("from").asInt(); s <= range.get("to").asInt(); s++) {
                owners[s] = range.get("shard").asText();
            }
        }
        return owners;
    }

    private static String ownerOf(String[] owners, String key) {
        return owners[Slots.of(key.getBytes(StandardCharsets.UTF_8))];
    }

    @Test
    @Order(1)
    void keysSpreadOverShards_landOnTheNodeTheMapNames() throws Exception {
        String[] owners = owners(clusterView());
        // The router pushes the map to every node; until a node has it, it serves every key.
        String probe = "probe-key";
        for (Map.Entry<String, LocalCluster.Member> node : cluster.nodes().entrySet()) {
            if (!node.getKey().equals(ownerOf(owners, probe))) {
                org.awaitility.Awaitility.await()
                        .atMost(java.time.Duration.ofSeconds(10))
                        .until(() ->
                                cluster.get(node.getValue().url() + "/" + probe).statusCode() == 421);
            }
        }
        Map<String, Integer> perShard = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            String key = "spread-" + i;
            assertThat(cluster.post(cluster.router().url() + "/" + key, "{\"value\":" + i + "}")
                            .statusCode())
                    .isEqualTo(204);
            perShard.merge(ownerOf(owners, key), 1, Integer::sum);
        }
        assertThat(perShard).as("all three shards got keys").hasSize(3);

        for (int i = 0; i < 300; i++) {
            String key = "spread-" + i;
            String owner = ownerOf(owners, key);
            for (Map.Entry<String, LocalCluster.Member> node : cluster.nodes().entrySet()) {
                HttpResponse<String> direct = cluster.get(node.getValue().url() + "/" + key);
                if (node.getKey().equals(owner)) {
                    assertThat(direct.statusCode())
                            .as("%s on its owner %s", key, owner)
                            .isEqualTo(200);
                } else {
                    assertThat(direct.statusCode())
                            .as("%s on %s (owner %s)", key, node.getKey(), owner)
                            .isEqualTo(421);
                    assertThat(JSON.readTree(direct.body()).get("owner").asText())
                            .isEqualTo(cluster.nodes().get(owner).address());
                }
            }
            HttpResponse<String> viaRouter = cluster.get(cluster.router().url() + "/" + key);
            assertThat(viaRouter.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(viaRouter.body()).get("value").asInt()).isEqualTo(i);
        }
        JsonNode view = clusterView();
        long keys = 0;
        for (JsonNode shard : view.get("shards")) {
            keys += shard.get("nodes").get(0).get("keys").asLong();
        }
        assertThat(keys).as("keys reported by the nodes through the admin API").isEqualTo(300);
    }

    @Test
    @Order(2)
    void routerRestarted_keepsTheSameMapAndEpoch() throws Exception {
        JsonNode before = clusterView();
        cluster.kill(cluster.router());

        cluster.startRouter();

        JsonNode after = clusterView();
        assertThat(after.get("epoch")).isEqualTo(before.get("epoch"));
        assertThat(after.get("slots")).isEqualTo(before.get("slots"));
        assertThat(cluster.get(cluster.router().url() + "/spread-7").statusCode())
                .isEqualTo(200);
    }

    @Test
    @Order(3)
    void nodeKilled_onlyItsShardAnswers503_quickly() throws Exception {
        String[] owners = owners(clusterView());
        cluster.kill(cluster.nodes().get("s2"));

        for (int i = 0; i < 60; i++) {
            String key = "spread-" + i;
            long start = System.nanoTime();
            HttpResponse<String> response = cluster.get(cluster.router().url() + "/" + key);
            long millis = (System.nanoTime() - start) / 1_000_000;
            if (ownerOf(owners, key).equals("s2")) {
                assertThat(response.statusCode()).as(key).isEqualTo(503);
                assertThat(response.headers().firstValue("Retry-After")).contains("1");
                assertThat(millis)
                        .as("answered within the forward timeout and one retry")
                        .isLessThan(1_500);
            } else {
                assertThat(response.statusCode()).as(key).isEqualTo(200);
            }
        }
        // The failure detector calls it down after three failed probes (about 300 ms).
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(clusterView().get("shards").findValuesAsText("health"))
                        .as("the admin API shows the dead node")
                        .contains("down"));
    }
}
