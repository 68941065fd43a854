package dev.qache.router.admin;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.qache.router.proxy.FakeNodes;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.Test;

/** Adding a node that does not answer is refused with 422, and the map does not change. */
@QuarkusTest
@QuarkusTestResource(FakeNodes.class)
@TestProfile(NewNodeCheckTest.OwnRouter.class)
class NewNodeCheckTest {

    public static class OwnRouter implements QuarkusTestProfile {}

    private static RequestSpecification admin() {
        return given().header("Authorization", "Bearer test-admin-token");
    }

    @Test
    void aShardOrReplicaWhoseNodeDoesNotAnswer_isRefused_andTheMapStays() {
        int epoch = admin().get("/admin/cluster").then().extract().path("epoch");

        admin().contentType("application/json")
                .body("{\"primary\":\"127.0.0.1:9\"}")
                .post("/admin/shards")
                .then()
                .statusCode(422)
                .contentType("application/problem+json")
                .body("detail", containsString("node 127.0.0.1:9 does not answer"));
        admin().contentType("application/json")
                .body("{\"address\":\"127.0.0.1:9\"}")
                .post("/admin/shards/a/replicas")
                .then()
                .statusCode(422)
                .body("detail", containsString("127.0.0.1:9"));

        admin().get("/admin/cluster").then().body("epoch", equalTo(epoch)).body("shards.size()", equalTo(2));
    }
}
