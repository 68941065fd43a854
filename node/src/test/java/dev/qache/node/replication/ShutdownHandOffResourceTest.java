package dev.qache.node.replication;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.qache.protocol.MapDocument;
import dev.qache.protocol.Slots;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A primary told to stop asks a router for its step-down, with its cluster token, and waits until
 * the map that demotes it arrives; a router that refuses (409: nothing to hand over) lets it go at
 * once, and so does being a replica. The router here is a stand-in: it answers 200, then pushes
 * the demoting map 300 ms later, so a node that took the answer as the end would stop a primary.
 */
@QuarkusTest
@TestProfile(ShutdownHandOffResourceTest.WithRouter.class)
class ShutdownHandOffResourceTest {

    /** The stand-in router, on a port of its own, named by qache.node.shutdown.routers. */
    static final HttpServer ROUTER = startRouter();

    /** What the stand-in router answers next: 200 (after pushing the demoting map) or 409. */
    static final AtomicInteger ANSWER = new AtomicInteger(200);

    /** Each step-down request the stand-in got: its path and Authorization header. */
    static final Queue<String> CALLS = new ConcurrentLinkedQueue<>();

    /** What went wrong with a push of the stand-in (none expected). */
    static final Queue<Exception> PUSH_FAILURES = new ConcurrentLinkedQueue<>();

    /** The epoch of the demoting map the stand-in pushes. */
    static final AtomicInteger NEXT_EPOCH = new AtomicInteger();

    public static class WithRouter implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "qache.cluster.token", "test-cluster-token",
                    "qache.node.shutdown.routers",
                            "http://127.0.0.1:" + ROUTER.getAddress().getPort() + "/",
                    "qache.node.shutdown.hand-off-timeout", "5s");
        }
    }

    private static final String SELF = "a:1";

    @Inject
    ShutdownHandOff handOff;

    @Inject
    Replication replication;

    private static HttpServer startRouter() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/", exchange -> {
                CALLS.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " "
                        + exchange.getRequestHeaders().getFirst("Authorization"));
                int status = ANSWER.get();
                byte[] body = "{}".getBytes();
                exchange.sendResponseHeaders(status, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
                if (status == 200) {
                    // The demoting map comes after the answer, as the real router's push may:
                    // the node must wait for it, not take the 200 as the end of the hand-off.
                    Thread.ofPlatform().start(() -> {
                        try {
                            Thread.sleep(300); // the push arriving late
                            push(NEXT_EPOCH.get(), "r:1", List.of(SELF)); // the replica promoted
                        } catch (Exception e) {
                            PUSH_FAILURES.add(e);
                        }
                    });
                }
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void push(long epoch, String primaryOfS1, List<String> replicasOfS1) throws Exception {
        MapDocument map = new MapDocument(
                epoch,
                List.of(
                        new MapDocument.ShardEntry("s1", primaryOfS1, replicasOfS1),
                        new MapDocument.ShardEntry("s2", "b:2", List.of())),
                List.of(
                        new MapDocument.SlotRange(0, Slots.COUNT / 2 - 1, "s1"),
                        new MapDocument.SlotRange(Slots.COUNT / 2, Slots.COUNT - 1, "s2")));
        given().port(RestAssured.port)
                .header("Authorization", "Bearer test-cluster-token")
                .contentType("application/json")
                .body(new ObjectMapper().writeValueAsString(map))
                .put("/_internal/cluster-map?self=" + SELF)
                .then()
                .statusCode(204);
    }

    @Test
    void aPrimary_asksForItsStepDown_andStopsOnceDemoted_aReplicaJustStops() throws Exception {
        // Epochs only grow on one node: the cases run in order, in one test.
        push(1, SELF, List.of("r:1"));
        assertThat(replication.primary()).isTrue();
        assertThat(replication.awaitNotPrimary(System.nanoTime() + 50_000_000L))
                .as("still a primary at the deadline")
                .isFalse();

        // The router refuses: nothing to wait for, the node stops still a primary.
        CALLS.clear();
        ANSWER.set(409);
        long start = System.nanoTime();
        handOff.onShutdown(new ShutdownDelayInitiatedEvent());
        assertThat(CALLS).containsExactly("POST /admin/nodes/a:1/step-down Bearer test-cluster-token");
        assertThat(replication.primary()).isTrue();
        assertThat(System.nanoTime() - start)
                .as("no wait for a refused hand-off")
                .isLessThan(4_000_000_000L);

        // The router hands the shard over: the node waits for the map that demotes it.
        CALLS.clear();
        ANSWER.set(200);
        NEXT_EPOCH.set(2);
        handOff.onShutdown(new ShutdownDelayInitiatedEvent());
        assertThat(CALLS).hasSize(1);
        assertThat(PUSH_FAILURES).isEmpty();
        assertThat(replication.primary()).as("demoted before it stops").isFalse();

        // A replica asks nobody.
        CALLS.clear();
        handOff.onShutdown(new ShutdownDelayInitiatedEvent());
        assertThat(CALLS).isEmpty();
    }
}
