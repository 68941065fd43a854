package dev.qache.node.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.qache.node.cluster.SlotOwnershipTest;
import dev.qache.protocol.testing.PathSpelling;
import dev.qache.protocol.testing.RawHttp;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 13: no spelling of an internal path reaches an internal endpoint without a cluster token.
 * Every endpoint is tried under every {@link PathSpelling}, without a token, with a wrong one, and
 * with each of the two configured tokens (rotation).
 */
@QuarkusTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestProfile(InternalAuthorizationResourceTest.TwoClusterTokens.class)
class InternalAuthorizationResourceTest {

    public static class TwoClusterTokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("qache.cluster.token", "c-new, c-old");
        }
    }

    /** The map a rightful push installs; an unauthorised one would install epoch 1000. */
    private static final long RIGHT_EPOCH = 5;

    private static final String OTHER_EPOCH_MAP;

    static {
        try {
            OTHER_EPOCH_MAP = map(1000);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    record Endpoint(String method, String path, String body, int success) {
        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private static String map(long epoch) throws Exception {
        return new ObjectMapper().writeValueAsString(SlotOwnershipTest.halves(epoch));
    }

    static List<Endpoint> endpoints() throws Exception {
        return List.of(
                new Endpoint("GET", "/_internal/status", null, 200),
                new Endpoint("PUT", "/_internal/cluster-map?self=a:1", map(RIGHT_EPOCH), 204),
                // After the PUT above: the map the node holds.
                new Endpoint("GET", "/_internal/cluster-map", null, 200),
                // No WebSocket upgrade asked for: the replication endpoint refuses the plain GET.
                new Endpoint("GET", "/_internal/replication", null, 400),
                new Endpoint("GET", "/_internal/slots/5", null, 200),
                // A node without a map imports nothing: the import is refused once authorized.
                new Endpoint("POST", "/_internal/slots/5/import?from=127.0.0.1:1", null, 409));
    }

    static Stream<Arguments> table() throws Exception {
        return endpoints().stream()
                .flatMap(e -> Stream.of(PathSpelling.values()).map(s -> Arguments.of(e, s)));
    }

    @Order(1)
    @ParameterizedTest(name = "{0} spelled {1}")
    @MethodSource("table")
    void everySpelling_withoutAValidClusterToken_isDenied(Endpoint endpoint, PathSpelling spelling) throws IOException {
        String path = spelling.of(endpoint.path());
        String unauthorisedBody = endpoint.method().equals("PUT") ? OTHER_EPOCH_MAP : endpoint.body();
        int port = RestAssured.port;

        RawHttp.Response none = RawHttp.send(port, endpoint.method(), path, null, unauthorisedBody);
        RawHttp.Response wrong = RawHttp.send(port, endpoint.method(), path, "Bearer c-older", unauthorisedBody);
        RawHttp.Response scheme = RawHttp.send(port, endpoint.method(), path, "Basic c-new", unauthorisedBody);
        RawHttp.Response first = RawHttp.send(port, endpoint.method(), path, "Bearer c-new", endpoint.body());
        RawHttp.Response second = RawHttp.send(port, endpoint.method(), path, "Bearer c-old", endpoint.body());

        if (PathSpelling.SAME_PATH.contains(spelling)) {
            for (RawHttp.Response denied : List.of(none, wrong, scheme)) {
                assertDenied(path, denied);
            }
            assertThat(first.status()).as(path + " with the first token").isEqualTo(endpoint.success());
            assertThat(second.status()).as(path + " with the second token").isEqualTo(endpoint.success());
        } else {
            // Another path, or the same route with a parameter it refuses: either the route's
            // guard denies it, or no internal endpoint answers and the token changes nothing.
            for (RawHttp.Response denied : List.of(none, wrong, scheme)) {
                if (denied.status() == 401) {
                    assertDenied(path, denied);
                    assertThat(first.status())
                            .as(path + " with the first token")
                            .isNotEqualTo(401);
                } else {
                    assertThat(denied.status()).as(path).isIn(400, 404, 405);
                    assertThat(List.of(first.status(), second.status()))
                            .as(path)
                            .containsOnly(denied.status());
                }
            }
        }
    }

    private static void assertDenied(String path, RawHttp.Response denied) {
        assertThat(denied.status()).as(path).isEqualTo(401);
        assertThat(denied.header("content-type")).isEqualTo("application/problem+json");
        assertThat(denied.header("www-authenticate")).startsWith("Bearer");
        assertThat(denied.body()).contains("urn:qache:problem:unauthorized").doesNotContain("c-new");
    }

    @Order(2)
    @Test
    void afterTheTable_noUnauthorisedMapWasInstalled() throws Exception {
        RawHttp.Response status = RawHttp.send(RestAssured.port, "GET", "/_internal/status", "Bearer c-old", null);

        assertThat(status.status()).isEqualTo(200);
        assertThat(new ObjectMapper().readTree(status.body()).get("epoch").asLong())
                .isEqualTo(RIGHT_EPOCH);
    }
}
