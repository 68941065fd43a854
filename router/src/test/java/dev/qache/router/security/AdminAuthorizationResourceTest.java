package dev.qache.router.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.qache.protocol.testing.PathSpelling;
import dev.qache.protocol.testing.RawHttp;
import dev.qache.router.proxy.FakeNodes;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 13: a request to the admin API whose path was spelled {@code //admin/cluster} or
 * {@code /%61dmin/cluster} was answered without a token, because the check looked at the raw path
 * and the REST layer matched the normalised one. Every admin endpoint is tried here under every
 * {@link PathSpelling}: without a token, with a wrong one, with a token of another kind, and with
 * each of the two admin tokens (rotation).
 */
@QuarkusTest
@QuarkusTestResource(FakeNodes.class)
@TestProfile(AdminAuthorizationResourceTest.TwoAdminTokens.class)
class AdminAuthorizationResourceTest {

    public static class TwoAdminTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "qache.admin.token", "a-new,a-old",
                    "qache.data.tokens", "d-1",
                    "qache.admin.check-new-nodes", "false");
        }
    }

    /**
     * Each call answered by the resource itself when authorised. Writes go to a shard that does
     * not exist or carry a body the resource refuses, so the table changes nothing either way.
     */
    record Endpoint(String method, String path, String body, int authorised) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    /** Which of the unauthorised calls below carries a data token. */
    private static final int DATA_TOKEN = 2;

    static List<Endpoint> endpoints() {
        return List.of(
                new Endpoint("GET", "/admin/cluster", null, 200),
                new Endpoint("GET", "/admin/migrations", null, 200),
                new Endpoint("POST", "/admin/shards", "{\"primary\":\"not an address\"}", 400),
                new Endpoint("POST", "/admin/shards/zz/replicas", "{\"address\":\"127.0.0.1:9\"}", 404),
                new Endpoint("POST", "/admin/shards/zz/promote", null, 404),
                new Endpoint("DELETE", "/admin/shards/zz/replicas/127.0.0.1:9", null, 404),
                new Endpoint("DELETE", "/admin/shards/zz", null, 404));
    }

    static Stream<Arguments> table() {
        return endpoints().stream()
                .flatMap(e -> Stream.of(PathSpelling.values()).map(s -> Arguments.of(e, s)));
    }

    @ParameterizedTest(name = "{0} spelled {1}")
    @MethodSource("table")
    void everySpelling_withoutAnAdminToken_isDenied(Endpoint endpoint, PathSpelling spelling) throws IOException {
        int port = RestAssured.port;
        String path = spelling.of(endpoint.path());
        RawHttp.Response canonical =
                RawHttp.send(port, endpoint.method(), endpoint.path(), "Bearer a-new", endpoint.body());
        assertThat(canonical.status()).as("canonical").isEqualTo(endpoint.authorised());

        List<RawHttp.Response> unauthorised = List.of(
                RawHttp.send(port, endpoint.method(), path, null, endpoint.body()),
                RawHttp.send(port, endpoint.method(), path, "Bearer a-older", endpoint.body()),
                RawHttp.send(port, endpoint.method(), path, "Bearer d-1", endpoint.body()), // a data token
                RawHttp.send(port, endpoint.method(), path, "Bearer test-cluster-token", endpoint.body()),
                RawHttp.send(port, endpoint.method(), path, "Basic a-new", endpoint.body()));
        RawHttp.Response first = RawHttp.send(port, endpoint.method(), path, "Bearer a-new", endpoint.body());
        RawHttp.Response second = RawHttp.send(port, endpoint.method(), path, "Bearer a-old", endpoint.body());

        if (PathSpelling.SAME_PATH.contains(spelling)) {
            unauthorised.forEach(denied -> assertDenied(path, denied));
            assertThat(first.status()).as(path + " with the first token").isEqualTo(endpoint.authorised());
            assertThat(second.status()).as(path + " with the second token").isEqualTo(endpoint.authorised());
            return;
        }
        // Another path: either denied, or not the admin resource at all (a data key, a 404), and
        // then certainly not the answer the resource gave the authorised canonical call.
        for (int i = 0; i < unauthorised.size(); i++) {
            RawHttp.Response response = unauthorised.get(i);
            if (response.status() == 401 && "application/problem+json".equals(response.header("content-type"))) {
                assertDenied(path, response);
                continue;
            }
            if (i != DATA_TOKEN) { // a data token may make a call to a data key (/admin%2Fcluster)
                assertThat(response.status()).as(path).isNotIn(200, 201, 202, 204);
            }
            assertThat(response.status() + response.body())
                    .as(path + " answered as the resource would")
                    .isNotEqualTo(canonical.status() + canonical.body());
        }
    }

    /**
     * A primary told to stop asks for its step-down with the cluster token it has (nodes hold no
     * admin token); every other admin call refuses that token (the table above). 409: the address
     * is no shard's primary.
     */
    @Test
    void stepDown_takesAClusterToken_asWellAsAnAdminToken() throws IOException {
        int port = RestAssured.port;
        String path = "/admin/nodes/127.0.0.1:9/step-down";
        for (String token : List.of("Bearer test-cluster-token", "Bearer a-new", "Bearer a-old")) {
            RawHttp.Response answer = RawHttp.send(port, "POST", path, token, null);
            assertThat(answer.status()).as(token).isEqualTo(409);
            assertThat(answer.body()).as(token).contains("not-a-primary");
        }
        for (String token : java.util.Arrays.asList(null, "Bearer d-1", "Bearer a-older")) {
            assertDenied(path, RawHttp.send(port, "POST", path, token, null));
        }
        RawHttp.Response bad = RawHttp.send(
                port, "POST", "/admin/nodes/not%20an%20address/step-down", "Bearer test-cluster-token", null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.header("content-type")).isEqualTo("application/problem+json");
    }

    private static void assertDenied(String path, RawHttp.Response denied) {
        assertThat(denied.status()).as(path).isEqualTo(401);
        assertThat(denied.header("content-type")).as(path).isEqualTo("application/problem+json");
        assertThat(denied.header("www-authenticate")).as(path).startsWith("Bearer");
        assertThat(denied.body()).contains("urn:qache:problem:unauthorized").doesNotContain("a-new");
    }
}
