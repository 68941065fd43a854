package dev.qache.router.proxy;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Two stand-in nodes, "a" and "b", on free loopback ports: each answers GET with which node it
 * is and what it was asked, POST with 204, DELETE with a 404 problem, and records every request.
 * The router under test is bootstrapped with them as its two shards.
 */
public class FakeNodes implements QuarkusTestResourceLifecycleManager {

    record Seen(
            String node,
            String method,
            String uri,
            String contentType,
            String body,
            String authorization,
            String requestId) {}

    static final List<Seen> SEEN = new CopyOnWriteArrayList<>();
    static final Map<String, HttpServer> SERVERS = new java.util.concurrent.ConcurrentHashMap<>();
    private Vertx vertx;

    @Override
    public Map<String, String> start() {
        vertx = Vertx.vertx();
        try {
            int a = startNode("a");
            int b = startNode("b");
            Path dir = Files.createTempDirectory("qache-router-test");
            int raftPort;
            try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
                raftPort = socket.getLocalPort();
            }
            return Map.of(
                    "qache.router.shards",
                    "a=127.0.0.1:" + a + ",b=127.0.0.1:" + b,
                    "qache.router.map-file",
                    dir.resolve("cluster-map.json").toString(),
                    "qache.router.data-dir",
                    dir.resolve("router").toString(),
                    "qache.router.raft-port",
                    Integer.toString(raftPort),
                    "qache.router.forward-timeout",
                    "500ms");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private int startNode(String name) throws Exception {
        HttpServer server = vertx.createHttpServer()
                .requestHandler(request -> request.body().onSuccess(body -> {
                    if (request.path().equals("/_internal/status")) {
                        request.response()
                                .putHeader("Content-Type", "application/json")
                                .end("{\"role\":\"primary\",\"offset\":0,\"keys\":3,\"memoryUsedBytes\":300,"
                                        + "\"memoryLimitBytes\":1000,\"replicas\":[]}");
                        return;
                    }
                    if (request.path().startsWith("/_internal/")) {
                        // The router's periodic map pushes: accepted, not part of what tests inspect.
                        request.response().setStatusCode(204).end();
                        return;
                    }
                    SEEN.add(new Seen(
                            name,
                            request.method().name(),
                            request.uri(),
                            request.getHeader("Content-Type"),
                            body.toString(),
                            request.getHeader("Authorization"),
                            request.getHeader("X-Request-Id")));
                    switch (request.method().name()) {
                        case "GET" ->
                            request.response()
                                    .putHeader("Content-Type", "application/json")
                                    .end("{\"node\":\"" + name + "\",\"uri\":\"" + request.uri() + "\"}");
                        case "POST" -> request.response().setStatusCode(204).end();
                        default ->
                            request.response()
                                    .setStatusCode(404)
                                    .putHeader("Content-Type", "application/problem+json")
                                    .end("{\"status\":404,\"from\":\"" + name + "\"}");
                    }
                }))
                .listen(0, "127.0.0.1")
                .toCompletionStage()
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        SERVERS.put(name, server);
        return server.actualPort();
    }

    static void stop(String name) throws Exception {
        SERVERS.get(name).close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Override
    public void stop() {
        if (vertx != null) {
            vertx.close();
        }
    }
}
