package dev.qache.router.admin;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.hasSize;

import dev.qache.router.proxy.FakeNodes;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The admin API: token required, the map with node health, adding shards. Its own router instance. */
@QuarkusTest
@QuarkusTestResource(FakeNodes.class)
@TestProfile(AdminResourceTest.OwnRouter.class)
class AdminResourceTest {

    /** A separate application instance, so that adding shards here cannot reroute other tests. */
    public static class OwnRouter implements QuarkusTestProfile {
        @Override
        public java.util.Map<String, String> getConfigOverrides() {
            // Shards here are added at addresses nothing listens on, to see the migration abort.
            return java.util.Map.of("qache.admin.check-new-nodes", "false");
        }
    }

    private static RequestSpecification admin() {
        return given().header("Authorization", "Bearer test-admin-token");
    }

    @Test
    void adminCalls_withoutOrWithWrongToken_are401() {
        given().get("/admin/cluster")
                .then()
                .statusCode(401)
                .contentType("application/problem+json")
                .header("WWW-Authenticate", "Bearer realm=\"qache-admin\"");
        given().header("Authorization", "Bearer nope")
                .get("/admin/cluster")
                .then()
                .statusCode(401);
        given().contentType("application/json")
                .body("{\"primary\":\"127.0.0.1:9\"}")
                .post("/admin/shards")
                .then()
                .statusCode(401);
    }

    @Test
    void cluster_showsEpochShardsSlotsAndNodeHealth() {
        admin().get("/admin/cluster")
                .then()
                .statusCode(200)
                .body("shards.id", hasItems("a", "b"))
                .body("shards.find { it.id == 'a' }.nodes[0].role", equalTo("primary"))
                .body("shards.find { it.id == 'a' }.nodes[0].health", equalTo("up"))
                .body("shards.collect { it.slots }.sum()", equalTo(16384))
                .body("slots[0].from", equalTo(0));
    }

    @Test
    void addShard_validatesInput_refusesClashes_andRaisesTheEpoch() {
        int epoch = admin().get("/admin/cluster").then().extract().path("epoch");

        admin().contentType("application/json")
                .body("{\"primary\":\"not an address\"}")
                .post("/admin/shards")
                .then()
                .statusCode(400)
                .contentType("application/problem+json");
        admin().contentType("application/json")
                .body("{\"primary\":\"127.0.0.1:7001\",\"replicas\":[\"x\"]}")
                .post("/admin/shards")
                .then()
                .statusCode(400);
        admin().contentType("application/json")
                .body("{\"id\":\"a\",\"primary\":\"127.0.0.1:7999\"}")
                .post("/admin/shards")
                .then()
                .statusCode(409);
        admin().get("/admin/cluster").then().body("epoch", equalTo(epoch));

        java.util.List<java.util.Map<String, Object>> moving = admin().contentType("application/json")
                .body("{\"id\":\"c\",\"primary\":\"127.0.0.1:7998\",\"replicas\":[\"127.0.0.1:7997\"]}")
                .post("/admin/shards")
                .then()
                .statusCode(201)
                .body("epoch", equalTo(epoch + 1))
                .body("shards", hasSize(3))
                .extract()
                .path("moving");
        assertThat(moving.stream()
                        .mapToInt(range -> (Integer) range.get("to") - (Integer) range.get("from") + 1)
                        .sum())
                .isEqualTo(16384 / 3);
        // Nothing listens at c's address, so every copy fails: the migration is aborted,
        // the slots stay where they were and c leaves the map.
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> admin().get("/admin/migrations")
                        .then()
                        .body("migrations[0].state", equalTo("aborted"))
                        .body("migrations[0].slotsTotal", equalTo(16384 / 3))
                        .body("migrations[0].reason", org.hamcrest.Matchers.containsString("failed 5 times")));
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> admin().get("/admin/cluster")
                        .then()
                        .body("epoch", equalTo(epoch + 2))
                        .body("shards.id", org.hamcrest.Matchers.not(hasItems("c"))));
    }

    @Test
    void cluster_showsEachNodesReportedStatus() {
        admin().get("/admin/cluster")
                .then()
                .body("shards.find { it.id == 'a' }.nodes[0].reportedRole", equalTo("primary"))
                .body("shards.find { it.id == 'a' }.nodes[0].keys", equalTo(3))
                .body("shards.find { it.id == 'a' }.nodes[0].memoryLimitBytes", equalTo(1000));
    }

    @Test
    void promote_refusesUnknownShardsAndShardsWithoutReplicas() {
        admin().post("/admin/shards/nope/promote").then().statusCode(404).contentType("application/problem+json");
        admin().post("/admin/shards/a/promote")
                .then()
                .statusCode(409)
                .contentType("application/problem+json")
                .body("detail", equalTo("shard a has no replica to promote"));
        admin().contentType("application/json")
                .body("{\"replica\":\"bad\"}")
                .post("/admin/shards/a/promote")
                .then()
                .statusCode(400);
    }

    @Test
    void addReplica_validatesAndRefusesANodeAlreadyInTheCluster() {
        admin().contentType("application/json")
                .body("{\"address\":\"x\"}")
                .post("/admin/shards/a/replicas")
                .then()
                .statusCode(400);
        admin().contentType("application/json")
                .body("{\"address\":\"127.0.0.1:7990\"}")
                .post("/admin/shards/zz/replicas")
                .then()
                .statusCode(404);
        String primaryOfB =
                admin().get("/admin/cluster").then().extract().path("shards.find { it.id == 'b' }.nodes[0].address");
        admin().contentType("application/json")
                .body("{\"address\":\"" + primaryOfB + "\"}")
                .post("/admin/shards/a/replicas")
                .then()
                .statusCode(409);
    }

    @Test
    void removeReplica_takesAReplicaOutOfTheMap_andRefusesAPrimaryOrAStranger() {
        admin().contentType("application/json")
                .body("{\"address\":\"127.0.0.1:7991\"}")
                .post("/admin/shards/a/replicas")
                .then()
                .statusCode(201);
        int epoch = admin().get("/admin/cluster").then().extract().path("epoch");

        List<String> left = admin().delete("/admin/shards/a/replicas/127.0.0.1:7991")
                .then()
                .statusCode(200)
                .extract()
                .path("shards.find { it.id == 'a' }.replicas");
        assertThat(left).doesNotContain("127.0.0.1:7991");
        List<String> nodes = admin().get("/admin/cluster")
                .then()
                .body("epoch", greaterThan(epoch))
                .extract()
                .path("shards.find { it.id == 'a' }.nodes.address");
        assertThat(nodes).doesNotContain("127.0.0.1:7991");

        admin().delete("/admin/shards/a/replicas/127.0.0.1:7991")
                .then()
                .statusCode(409)
                .contentType("application/problem+json");
        String primaryOfA = nodes.get(0);
        admin().delete("/admin/shards/a/replicas/" + primaryOfA)
                .then()
                .statusCode(409)
                .body("detail", containsString("promote a replica first"));
        admin().delete("/admin/shards/zz/replicas/127.0.0.1:7991").then().statusCode(404);
        admin().delete("/admin/shards/a/replicas/not-an-address").then().statusCode(400);
    }
}
